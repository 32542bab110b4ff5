"""Scores every shipped preset on its validation and test splits, in one table.

Each preset is scored on the data set it was trained on, with the search its
scores are recorded with (its metadata), on every split of that data set
that is available locally: Multi30k val and test2016; the dev splits of E2E,
CMUdict and sentence compression (their test splits are not distributed with
the data directory). `--recorded` prints the scores recorded in the presets'
metadata instead of measuring them again.

Usage:

    KERAS_BACKEND=jax KERAS_S2S_DATA_DIR=../shared/data python tools/evaluate_presets.py
    python tools/evaluate_presets.py --recorded --markdown
    python tools/evaluate_presets.py --preset cmudict_g2p_lstm_luong --max-examples 200
"""

import argparse
import json
import os
import sys
import time

SPLITS = {
    "multi30k": ("val", "test_2016_flickr"),
    "e2e": ("dev",),
    "cmudict": ("dev",),
    "sentence_compression": ("dev",),
}


def _format(metric, value):
    from keras_s2s.training.evaluation import score_digits

    return f"{value:.{score_digits(metric)}f}"


def recorded_rows(name, info):
    return [
        (name, score["split"], score["metric"], score["value"], "recorded")
        for score in info.get("scores", [])
    ]


def measured_rows(name, path, info, data_dir, max_examples):
    from keras_s2s.models import Seq2SeqLM
    from keras_s2s.training.evaluation import score_translations
    from keras_s2s.training.evaluation import translate
    from keras_s2s.training.recipe import Recipe

    recipe = Recipe.from_dict(info["recipe"])
    task_data = recipe.task_data
    model = Seq2SeqLM.from_preset(path)
    model.compile(sampler=info.get("evaluation_search") or "greedy")
    rows = []
    for split in SPLITS[recipe.data["dataset"]]:
        sources, references = task_data.scored_set(split, data_dir=data_dir)
        if max_examples:
            sources, references = sources[:max_examples], references[:max_examples]
        start = time.perf_counter()
        outputs = translate(
            model,
            sources,
            batch_size=recipe.evaluation["batch_size"],
            max_length=info.get("evaluation_max_length"),
        )
        seconds = time.perf_counter() - start
        tokenized = None
        if recipe.data["dataset"] == "multi30k":
            from keras_s2s.datasets import load_multi30k_references

            tokenized = load_multi30k_references(
                split, recipe.target_language, data_dir=data_dir
            )[: len(sources)]
        for metric in task_data.metrics:
            result = score_translations(
                outputs,
                references,
                metric,
                language=recipe.target_language,
                split=split,
                tokenized_references=tokenized,
                sources=sources,
            )
            rows.append(
                (name, split, metric, result.score, f"{len(sources)} inputs, {seconds:.0f} s")
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", action="append", default=None,
                        help="score only this preset (repeatable; default: all shipped)")
    parser.add_argument("--recorded", action="store_true",
                        help="print the scores recorded in the metadata, measure nothing")
    parser.add_argument("--max-examples", type=int, default=None,
                        help="score the first N inputs of each split only")
    parser.add_argument("--data-dir", default=None,
                        help="data root (default: $KERAS_S2S_DATA_DIR)")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="also write the rows as JSON to PATH")
    args = parser.parse_args(argv)

    from keras_s2s.presets import list_presets

    presets = list_presets()
    if args.preset:
        known = {p["name"] for p in presets}
        unknown = [name for name in args.preset if name not in known]
        if unknown:
            parser.error(f"unknown preset {unknown[0]!r}; shipped: {sorted(known)}")
        presets = [p for p in presets if p["name"] in args.preset]
    rows = []
    for preset in presets:
        with open(os.path.join(preset["path"], "metadata.json"), encoding="utf-8") as file:
            info = json.load(file).get("keras_s2s", {})
        if args.recorded:
            rows += recorded_rows(preset["name"], info)
        else:
            print(f"scoring {preset['name']} ...", file=sys.stderr, flush=True)
            rows += measured_rows(
                preset["name"], preset["path"], info, args.data_dir, args.max_examples
            )
    header = ("preset", "split", "metric", "score", "note")
    table = [header] + [(n, s, m, _format(m, v), note) for n, s, m, v, note in rows]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("| --- | --- | --- | ---: | --- |")
        for row in table[1:]:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(
                [dict(zip(("preset", "split", "metric", "value", "note"), r)) for r in rows],
                file,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
