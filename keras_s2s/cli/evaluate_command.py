"""`keras-s2s evaluate`: a preset's scores on a data set split."""

import json

from keras_s2s.cli import cli_utils
from keras_s2s.cli.cli_error import CLIError

from keras_s2s.training.evaluation import METRICS
from keras_s2s.training.task_data import DATASETS

INPUT_NOUNS = {"e2e": "meaning representations", "cmudict": "words"}

DESCRIPTION = """\
Generate outputs for a data set split with a preset and score them.

Each score is printed with its protocol (how hypotheses and references were
prepared) and its sacreBLEU signature, so that it can be compared with
published numbers. multi30k_bleu is the Multi30k literature's BLEU (lowercased,
Moses-tokenized, against the official tokenized references); sacrebleu and chrf
score detokenized, cased text. A slice (--max-examples) is scored against the
same slice of the references: its scores are not those of the full split.

The data come from --dataset under --data-dir (default: the data set the
preset was trained on; multi30k, e2e, cmudict or sentence_compression) or from
a pair of line-aligned files (--source-file, --reference-file). E2E is scored
with one output per distinct meaning representation against all its
references, CMUdict with one pronunciation per distinct word (right if it
matches any of the word's pronunciations)."""

EXAMPLES = """\
examples:
  keras-s2s evaluate --split test_2016_flickr
  keras-s2s evaluate --preset multi30k_de_en_lstm_luong --split val --max-examples 100
  keras-s2s evaluate --num-beams 10 --length-penalty 1.0 --output-file hyps.de
  keras-s2s evaluate --source-file test.en --reference-file test.de --metric chrf
  keras-s2s evaluate --json > scores.json
  keras-s2s evaluate --preset e2e_nlg_lstm_luong_copy --split dev
  keras-s2s evaluate --preset ./my_g2p_preset --metric wer --metric per
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "evaluate",
        parents=parents,
        help="score a preset on a data set split (BLEU, chrF, WER, F1, ...)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    cli_utils.add_preset_argument(parser)
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", choices=DATASETS, default=None,
                      help="the data set (default: the preset's, else multi30k)")
    data.add_argument("--split", default=None,
                      help="the split (default: test_2016_flickr for multi30k, "
                      "dev for e2e, cmudict and sentence_compression)")
    data.add_argument("--source-language", default=None, metavar="LANG",
                      help="default: the preset's source language")
    data.add_argument("--target-language", default=None, metavar="LANG",
                      help="default: the preset's target language")
    data.add_argument("--source-file", default=None, metavar="PATH",
                      help="score on this file (one sentence per line) instead of "
                      "--dataset; needs --reference-file")
    data.add_argument("--reference-file", default=None, metavar="PATH",
                      help="the references of --source-file, line-aligned")
    data.add_argument("--max-examples", type=cli_utils.positive_int, default=None,
                      metavar="N", help="score the first N sentences only")
    cli_utils.add_data_dir_argument(data)
    parser.add_argument("--metric", choices=METRICS, action="append", default=None,
                        help="a metric to report (repeatable; default: the data "
                        "set's: multi30k_bleu, sacrebleu, chrf on Multi30k; "
                        "e2e_bleu, rouge_l, slot_coverage on E2E; wer, per on "
                        "CMUdict; token_f1, compression_ratio, rouge_l on "
                        "sentence compression; sacrebleu, chrf on files)")
    parser.add_argument("-o", "--output-file", default=None, metavar="PATH",
                        help="also write the hypotheses to PATH")
    parser.add_argument("--json", action="store_true",
                        help="print the scores as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    cli_utils.add_search_arguments(parser, n_best=False, batch_size=64)
    parser.set_defaults(run=run)
    return parser


def _load_data(args, info):
    """`(sources, references, tokenized_references, description, total)`."""
    if (args.source_file is None) != (args.reference_file is None):
        raise CLIError("--source-file and --reference-file go together.")
    if args.source_file is not None:
        sources = cli_utils.read_lines(args.source_file)
        references = cli_utils.read_lines(args.reference_file)
        if len(sources) != len(references):
            raise CLIError(
                f"'{args.source_file}' has {len(sources)} lines but "
                f"'{args.reference_file}' has {len(references)}; expected "
                "line-aligned files."
            )
        total = len(sources)
        if args.max_examples is not None:
            sources, references = sources[: args.max_examples], references[: args.max_examples]
        return sources, references, None, f"'{args.source_file}'", total
    dataset = args.dataset or info.get("dataset") or "multi30k"
    if dataset != "multi30k":
        return _load_task_data(args, dataset)
    from keras_s2s.datasets import load_multi30k
    from keras_s2s.datasets import load_multi30k_references
    from keras_s2s.datasets.multi30k import MULTI30K_REFERENCE_SPLITS
    from keras_s2s.datasets.multi30k import MULTI30K_SPLITS

    if args.split is None:
        args.split = "test_2016_flickr"
    source = args.source_language or info.get("source_language")
    target = args.target_language or info.get("target_language")
    if not source or not target:
        raise CLIError(
            "the preset records no languages; pass --source-language and "
            "--target-language."
        )
    if args.split not in MULTI30K_SPLITS:
        raise CLIError(
            f"unknown Multi30k split '{args.split}'; expected one of "
            f"{', '.join(MULTI30K_SPLITS)}."
        )
    try:
        sources, references = load_multi30k(
            args.split, source, target, data_dir=args.data_dir
        )
        tokenized = None
        if args.split in MULTI30K_REFERENCE_SPLITS:
            tokenized = load_multi30k_references(args.split, target, data_dir=args.data_dir)
    except FileNotFoundError as error:
        raise CLIError(f"{error} Set --data-dir or KERAS_S2S_DATA_DIR.")
    total = len(sources)
    if args.max_examples is not None:
        sources, references = sources[: args.max_examples], references[: args.max_examples]
        if tokenized is not None:
            tokenized = tokenized[: args.max_examples]
    description = f"multi30k {args.split} {source}->{target}"
    return sources, references, tokenized, description, total


def _load_task_data(args, dataset):
    """A data-to-text, G2P or compression split, grouped for scoring."""
    from keras_s2s.training.task_data import TASK_DATA

    task_data = TASK_DATA[dataset]()
    if args.source_language or args.target_language:
        raise CLIError(
            f"--source-language and --target-language apply to multi30k, not {dataset}."
        )
    if args.split is None:
        args.split = task_data.default_splits[1]
    if args.split not in task_data.splits:
        raise CLIError(
            f"unknown {dataset} split '{args.split}'; expected one of "
            f"{', '.join(task_data.splits)}."
        )
    try:
        sources, references = task_data.scored_set(args.split, data_dir=args.data_dir)
    except FileNotFoundError as error:
        raise CLIError(f"{error} Set --data-dir or KERAS_S2S_DATA_DIR.")
    total = len(sources)
    if args.max_examples is not None:
        sources, references = sources[: args.max_examples], references[: args.max_examples]
    return sources, references, None, f"{dataset} {args.split}", total


def _metrics(args, tokenized, info):
    from keras_s2s.training.task_data import TASK_DATA

    from_dataset = args.source_file is None
    dataset = args.dataset or info.get("dataset") or "multi30k"
    if not from_dataset:
        default = ["sacrebleu", "chrf"]
    else:
        # multi30k_bleu needs the official tokenized references (val, test).
        default = [
            metric
            for metric in TASK_DATA[dataset].metrics
            if metric != "multi30k_bleu" or tokenized is not None
        ]
    metrics = args.metric or default
    if "multi30k_bleu" in metrics and tokenized is None:
        raise CLIError(
            "multi30k_bleu needs the official tokenized Multi30k references: use "
            "--dataset multi30k with --split val or test_2016_flickr."
        )
    return list(dict.fromkeys(metrics))


def run(args):
    from keras_s2s.training.evaluation import METRIC_DESCRIPTIONS
    from keras_s2s.training.evaluation import score_digits
    from keras_s2s.training.evaluation import score_translations

    cli_utils.check_output_path(args.output_file)
    name, path, info = cli_utils.open_preset(args.preset)
    sampler, _ = cli_utils.build_sampler(args, info.get("evaluation_search"))
    sources, references, tokenized, description, total = _load_data(args, info)
    metrics = _metrics(args, tokenized, info)
    model = cli_utils.load_model(path)
    sampler = cli_utils.compile_search(model, args, sampler)
    hypotheses = cli_utils.translate_all(
        model,
        sources,
        batch_size=args.batch_size,
        max_length=args.max_length,
        progress=not args.quiet and not args.json,
    )
    if args.output_file is not None:
        with cli_utils.open_output(args.output_file) as stream:
            stream.writelines(text + "\n" for text in hypotheses)
    language = args.target_language or info.get("target_language")
    scores = []
    for metric in metrics:
        result = score_translations(
            hypotheses,
            references,
            metric,
            language=language,
            split=args.split,
            tokenized_references=tokenized,
            sources=sources,
        )
        scores.append(
            {
                "metric": metric,
                "score": round(result.score, score_digits(metric)),
                "signature": result.signature,
                "protocol": METRIC_DESCRIPTIONS[metric],
            }
        )
    search = cli_utils.describe_sampler(sampler)
    max_length = args.max_length or model.preprocessor.decoder_sequence_length
    if args.json:
        print(json.dumps(
            {
                "preset": name,
                "data": description,
                "examples": len(sources),
                "total_examples": total,
                "search": search,
                "max_length": max_length,
                "scores": scores,
            },
            indent=2,
        ))
        return 0
    print(f"preset:   {name}")
    slice_note = "" if len(sources) == total else f" (a slice: first {len(sources)} of {total})"
    noun = INPUT_NOUNS.get(description.split()[0], "sentences")
    print(f"data:     {description}, {len(sources)} {noun}{slice_note}")
    print(f"search:   {search}, max_length={max_length}")
    for score in scores:
        value = f"{score['score']:6.{score_digits(score['metric'])}f}"
        print(f"{score['metric']:<14} {value}  {score['signature']}")
        print(f"{'':<14} protocol: {score['protocol']}")
    return 0
