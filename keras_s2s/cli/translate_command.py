"""`keras-s2s translate` (alias `generate`): text in, translations out."""

import sys

from keras_s2s.cli import cli_utils
from keras_s2s.cli.cli_error import CLIError

DESCRIPTION = """\
Translate (generate from) sentences with a preset.

Sentences come from the arguments (one per argument), from --input-file (one
per line; '-' is stdin) or, with neither, from stdin. Outputs go to stdout or
--output-file, one line per input line (an empty input line gives an empty
output line). With --n-best N, each sentence gives N lines
'INDEX ||| TEXT ||| SCORE' (INDEX counts input lines from 0; SCORE is the
beam search's final score).

With several --preset options the presets decode as an ensemble: every step
of the search uses the mean of their log-probabilities (the presets must share
their tokenizer, e.g. one recipe trained with different seeds). The search
options default to the first preset's recorded search."""

EXAMPLES = """\
examples:
  keras-s2s translate "A dog runs through the snow."
  echo "Two men are playing chess." | keras-s2s translate
  keras-s2s translate --input-file test.en --output-file test.de --batch-size 64
  keras-s2s translate --num-beams 5 --length-penalty 0.6 "A girl is eating."
  keras-s2s translate --n-best 3 "A girl is eating."
  keras-s2s translate --sampler top_p --top-p 0.9 --seed 1 "A girl is eating."
  keras-s2s translate --preset multi30k_de_en_lstm_luong "Ein Hund rennt."
  keras-s2s translate --preset ./my_preset_dir "A dog runs."
  keras-s2s translate --preset ./en_de_seed1 --preset ./en_de_seed2 "A dog runs."
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "translate",
        aliases=["generate"],
        parents=parents,
        help="translate sentences (arguments, stdin or a file)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("text", nargs="*", help="sentences to translate")
    parser.add_argument(
        "--preset",
        action="append",
        default=None,
        metavar="NAME_OR_DIR",
        help="a shipped preset name (see 'keras-s2s presets') or a preset "
        "directory (default: the best shipped English-German preset); repeat "
        "it to decode with an ensemble of presets",
    )
    parser.add_argument(
        "--trust-unverified",
        action="store_true",
        help="load preset directories whose files cannot be verified (no "
        "checksums in their metadata.json, or files edited by hand); only for "
        "presets you made yourself",
    )
    parser.add_argument("-i", "--input-file", default=None, metavar="PATH",
                        help="read sentences from PATH, one per line ('-': stdin)")
    parser.add_argument("-o", "--output-file", default=None, metavar="PATH",
                        help="write outputs to PATH (default: stdout)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar")
    cli_utils.add_search_arguments(parser, n_best=True, batch_size=32)
    parser.set_defaults(run=run)
    return parser


def _read_sources(args):
    if args.text and args.input_file is not None:
        raise CLIError("pass sentences as arguments or with --input-file, not both.")
    if args.text:
        return list(args.text)
    if args.input_file is None and sys.stdin.isatty():
        print("Reading sentences from stdin, one per line; end with Ctrl-D.",
              file=sys.stderr)
    return cli_utils.read_lines(args.input_file or "-")


def open_presets(presets):
    """Resolves one or more `--preset` values without loading any model.

    Args:
        presets: a list of preset names or directories, or None (the
            default preset).

    Returns:
        `(names, paths, info)`: the presets' names and verified paths, and
        the first preset's `"keras_s2s"` metadata.
    """
    opened = [cli_utils.open_preset(preset) for preset in (presets or [None])]
    names = [name for name, _, _ in opened]
    paths = [path for _, path, _ in opened]
    return names, paths, opened[0][2]


def load_presets(paths):
    """One preset's `Seq2SeqLM`, or several presets' `Seq2SeqEnsembleLM`.

    Raises:
        CLIError: a preset has no preprocessor, or the presets do not share
            their tokenizer.
    """
    models = [cli_utils.load_model(path) for path in paths]
    if len(models) == 1:
        return models[0]
    from keras_s2s.models import Seq2SeqEnsembleLM

    try:
        return Seq2SeqEnsembleLM(models)
    except ValueError as error:
        names = ", ".join(paths)
        raise CLIError(f"the presets {names} cannot decode as an ensemble: {error}")


def run(args):
    cli_utils.check_output_path(args.output_file)
    presets = args.preset
    if presets and args.trust_unverified:
        presets = [cli_utils.trusted_preset(preset) for preset in presets]
    _, paths, info = open_presets(presets)
    sampler, n_best = cli_utils.build_sampler(args, info.get("evaluation_search"))
    sources = _read_sources(args)
    model = load_presets(paths)
    cli_utils.compile_search(model, args, sampler)
    progress = (
        args.input_file not in (None, "-") and not args.quiet and len(sources) > 1
    )
    outputs = cli_utils.translate_all(
        model,
        sources,
        batch_size=args.batch_size,
        max_length=args.max_length,
        n_best=n_best,
        progress=progress,
    )
    with cli_utils.open_output(args.output_file) as stream:
        for index, output in enumerate(outputs):
            if n_best:
                for text, score in output:
                    stream.write(f"{index} ||| {text} ||| {score:.4f}\n")
            else:
                stream.write(output + "\n")
    return 0
