"""`keras-s2s export`: a preset as a string-in, string-out SavedModel."""

import os

from keras_s2s.cli import cli_utils
from keras_s2s.cli.cli_error import CLIError

DESCRIPTION = """\
Export a preset as a TensorFlow SavedModel whose serving_default signature
maps a batch of source strings to generated strings and scores, with
tokenization, search and detokenization in the graph. Serve it with
'keras-s2s serve' or TF Serving (which expects a numbered version directory,
e.g. exported/en_de/1).

The search is baked into the export: without search options it is the one the
preset's scores were measured with; --n-best N exports N outputs per input.
ExactSampler runs eagerly and cannot be exported."""

EXAMPLES = """\
examples:
  keras-s2s export exported/en_de/1
  keras-s2s export --preset multi30k_de_en_lstm_luong exported/de_en/1 --num-beams 5
  keras-s2s export exported/en_de/1 --sampler greedy --max-length 48 --overwrite
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "export",
        parents=parents,
        help="export a preset as a SavedModel (strings in, strings out)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("output_dir", help="the SavedModel directory to create")
    cli_utils.add_preset_argument(parser)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output directory")
    parser.add_argument("--jit-compile", action="store_true",
                        help="compile the search with XLA")
    cli_utils.add_search_arguments(parser, n_best=True, batch_size=0)
    parser.set_defaults(run=run)
    return parser


def run(args):
    from keras_s2s.export import export_saved_model

    if os.path.exists(args.output_dir) and not args.overwrite:
        raise CLIError(
            f"'{args.output_dir}' exists; pass --overwrite to replace it."
        )
    _, path, info = cli_utils.open_preset(args.preset)
    sampler, _ = cli_utils.build_sampler(args, info.get("evaluation_search"))
    model = cli_utils.load_model(path)
    kwargs = {"jit_compile": True} if args.jit_compile else {}
    path = export_saved_model(
        model,
        args.output_dir,
        sampler=sampler,
        max_length=args.max_length,
        overwrite=args.overwrite,
        **kwargs,
    )
    print(path)
    return 0
