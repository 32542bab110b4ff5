"""Counts identical outputs of in-process `generate()` and the exported SavedModel.

Loads a translation preset, translates a Multi30k split (default: all 1,000
sentences of `test_2016_flickr`) with `Seq2SeqLM.generate` under the current
backend, exports the model with `keras_s2s.export.export_saved_model` with
the same search settings, translates the same sentences with the loaded
SavedModel's `serving_default` signature (same batches), and prints how many
outputs are identical, the differing ones, the export time and the
SavedModel size. Exits with status 1 if any output differs.

The search defaults to the preset's evaluation search and length
(`metadata.json`: `evaluation_search`, `evaluation_max_length`), else
greedy; `--sampler` overrides it (a name or a JSON config).

    KERAS_S2S_DATA_DIR=/work/shared/data KERAS_BACKEND=jax \\
        python tools/export_parity.py multi30k_en_de_gru_bahdanau
    python tools/export_parity.py path/to/preset --split val --limit 200 \\
        --sampler '{"class_name": "BeamSampler", "config": {"num_beams": 5}}'
"""

import argparse
import json
import os
import sys
import tempfile
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", help="a preset name or directory")
    parser.add_argument("--split", default="test_2016_flickr",
                        help="Multi30k split: train, val or test_2016_flickr")
    parser.add_argument("--source-language", help="default: the preset's")
    parser.add_argument("--target-language", help="default: the preset's")
    parser.add_argument("--sampler", help="a sampler name or JSON config "
                        "(default: the preset's evaluation search, else greedy)")
    parser.add_argument("--max-length", type=int, help="default: the preset's "
                        "evaluation length, else the preprocessor's")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, help="first N sentences only")
    parser.add_argument("--export-dir", help="keep the SavedModel here "
                        "(default: a temporary directory)")
    parser.add_argument("--show", type=int, default=10,
                        help="differing outputs to print")
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args(argv)


def directory_size(path):
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def common_prefix_words(a, b):
    """How many leading words two outputs share."""
    count = 0
    for x, y in zip(a.split(), b.split()):
        if x != y:
            break
        count += 1
    return count


def batches(sources, batch_size):
    """Fixed-size batches (the last padded with its first source) and sizes."""
    for start in range(0, len(sources), batch_size):
        batch = sources[start:start + batch_size]
        size = len(batch)
        if len(sources) > batch_size and size < batch_size:
            batch = batch + [batch[0]] * (batch_size - size)
        yield batch, size


def main(argv=None):
    args = parse_args(argv)
    import keras
    import tensorflow as tf

    from keras_s2s import samplers
    from keras_s2s.datasets import load_multi30k
    from keras_s2s.export import export_saved_model
    from keras_s2s.models import Seq2SeqLM
    from keras_s2s.presets import read_metadata
    from keras_s2s.presets import resolve_preset
    from keras_s2s.training import translate

    preset_dir = resolve_preset(args.preset)
    info = read_metadata(preset_dir).get("keras_s2s", {})
    source_language = args.source_language or info.get("source_language", "en")
    target_language = args.target_language or info.get("target_language", "de")
    if args.sampler:
        text = args.sampler.strip()
        sampler = samplers.get(json.loads(text) if text.startswith("{") else text)
    else:
        sampler = samplers.get(info.get("evaluation_search") or "greedy")
    max_length = args.max_length or info.get("evaluation_max_length")

    sources, _ = load_multi30k(args.split, source_language, target_language)
    if args.limit:
        sources = sources[:args.limit]
    model = Seq2SeqLM.from_preset(args.preset)
    # Compiled with the sampler, generate() traces its function once.
    model.compile(sampler=sampler)
    print(f"{len(sources)} sentences of {args.split} ({source_language}->"
          f"{target_language}), {type(sampler).__name__} "
          f"{json.dumps(samplers.serialize(sampler)['config'])}, max_length="
          f"{max_length or model.preprocessor.decoder_sequence_length}, backend "
          f"{keras.config.backend()}", flush=True)

    start = time.perf_counter()
    expected = translate(model, sources, batch_size=args.batch_size,
                         max_length=max_length)
    generate_seconds = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as temporary:
        path = args.export_dir or os.path.join(temporary, "saved_model")
        start = time.perf_counter()
        export_saved_model(model, path, sampler=sampler, max_length=max_length,
                           overwrite=bool(args.export_dir))
        export_seconds = time.perf_counter() - start
        size = directory_size(path)
        start = time.perf_counter()
        signature = tf.saved_model.load(path).signatures["serving_default"]
        load_seconds = time.perf_counter() - start
        start = time.perf_counter()
        exported = []
        for batch, count in batches(sources, args.batch_size):
            out = signature(inputs=tf.constant(batch))["outputs"].numpy()
            exported.extend(text.decode("utf-8") for text in out[:count])
        saved_model_seconds = time.perf_counter() - start

    differing = [i for i, (a, b) in enumerate(zip(expected, exported)) if a != b]
    identical = len(sources) - len(differing)
    for i in differing[:args.show]:
        print(f"[{i}] source:      {sources[i]}\n     generate:    {expected[i]}\n"
              f"     saved model: {exported[i]}\n     identical for the first "
              f"{common_prefix_words(expected[i], exported[i])} words")
    results = {
        "preset": args.preset,
        "split": args.split,
        "backend": keras.config.backend(),
        "sampler": samplers.serialize(sampler),
        "max_length": max_length,
        "sentences": len(sources),
        "identical": identical,
        "differences": [
            {
                "index": i,
                "source": sources[i],
                "generate": expected[i],
                "saved_model": exported[i],
                "common_prefix_words": common_prefix_words(expected[i], exported[i]),
            }
            for i in differing
        ],
        "export_seconds": round(export_seconds, 2),
        "saved_model_bytes": size,
        "load_seconds": round(load_seconds, 2),
        "generate_seconds": round(generate_seconds, 2),
        "saved_model_seconds": round(saved_model_seconds, 2),
    }
    print(f"identical outputs: {identical} / {len(sources)}")
    print(f"export: {export_seconds:.1f} s, SavedModel {size / 2**20:.2f} MiB, "
          f"load {load_seconds:.1f} s")
    print(f"translation time: generate {generate_seconds:.1f} s, SavedModel "
          f"{saved_model_seconds:.1f} s (batch size {args.batch_size})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)
            file.write("\n")
    return 0 if not differing else 1


if __name__ == "__main__":
    sys.exit(main())
