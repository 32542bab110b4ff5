"""`keras-s2s plot-attention`: a PNG heatmap of one output's attention."""

import sys

from keras_s2s.cli import cli_utils
from keras_s2s.cli.cli_error import CLIError

DESCRIPTION = """\
Translate one sentence and save the decoder's attention over the source as a
PNG heatmap: output tokens down the y axis, source tokens across the x axis
(subword tokens, end token included), one cell per step and source token. The
image is FIGSIZE * DPI pixels (default: sized to fit the tokens, 100 dpi). The
translation is printed on stdout.

The same from Python: keras_s2s.utils.plot_attention(model, text) returns a
matplotlib Figure."""

EXAMPLES = """\
examples:
  keras-s2s plot-attention "A dog runs through the snow." -o attention.png
  keras-s2s plot-attention --figsize 8 6 --dpi 150 "A girl is eating." -o girl.png
  keras-s2s plot-attention --num-beams 5 --cmap magma "Two men play chess."
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "plot-attention",
        parents=parents,
        help="save a PNG heatmap of the attention for one sentence",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("text", help="the source sentence")
    cli_utils.add_preset_argument(parser)
    parser.add_argument("-o", "--output-file", default="attention.png", metavar="PATH",
                        help="the PNG to write (default: attention.png)")
    parser.add_argument("--figsize", type=cli_utils.positive_float, nargs=2,
                        default=None, metavar=("WIDTH", "HEIGHT"),
                        help="figure size in inches (default: fit the tokens)")
    parser.add_argument("--dpi", type=cli_utils.positive_int, default=100,
                        help="dots per inch (default: 100)")
    parser.add_argument("--cmap", default="viridis",
                        help="matplotlib colormap (default: viridis)")
    parser.add_argument("--title", default=None, help="figure title")
    cli_utils.add_search_arguments(parser, n_best=False, batch_size=0)
    parser.set_defaults(run=run)
    return parser


def run(args):
    from keras_s2s.utils import attention_plot

    matplotlib = attention_plot.import_matplotlib()

    if not args.output_file.lower().endswith(".png"):
        raise CLIError(f"output file '{args.output_file}' must end in .png.")
    cli_utils.check_output_path(args.output_file)
    if not args.text.strip():
        raise CLIError("the sentence is empty.")
    if args.cmap not in matplotlib.colormaps:
        raise CLIError(
            f"unknown colormap '{args.cmap}'; try viridis, magma, Blues or Greys."
        )
    _, path, info = cli_utils.open_preset(args.preset)
    sampler, _ = cli_utils.build_sampler(args, info.get("evaluation_search"))
    model = cli_utils.load_model(path)
    cli_utils.compile_search(model, args, sampler)
    source, output, weights = attention_plot.attention_weights(
        model, args.text, max_length=args.max_length
    )
    figure = attention_plot.plot_attention_weights(
        weights, source, output, figsize=args.figsize, dpi=args.dpi, cmap=args.cmap,
        title=args.title,
    )
    figure.savefig(args.output_file, dpi=args.dpi, format="png")
    width, height = figure.canvas.get_width_height()
    print(_detokenize(model.preprocessor, output))
    print(
        f"Wrote '{args.output_file}' ({width}x{height} pixels): attention of "
        f"{len(output)} output tokens over {len(source)} source tokens.",
        file=sys.stderr,
    )
    return 0


def _detokenize(preprocessor, tokens):
    """The output string of the plotted tokens."""
    import numpy as np

    tokenizer = preprocessor.decoder_tokenizer
    ids = [tokenizer.start_token_id] + [tokenizer.token_to_id(t) for t in tokens]
    text = preprocessor.generate_postprocess(
        {
            "decoder_token_ids": np.array([ids], "int32"),
            "decoder_padding_mask": np.ones((1, len(ids)), bool),
        }
    )
    return str(text[0])
