"""`keras-s2s serve`: serve an exported SavedModel over HTTP."""

import argparse
import os

from keras_s2s.cli.cli_error import CLIError

DESCRIPTION = """\
Serve a SavedModel written by 'keras-s2s export' over HTTP, with TF Serving's
REST API (POST /v1/models/<model-name>:predict with {"instances": [...]}).
Stop it with Ctrl-C."""

EXAMPLES = """\
examples:
  keras-s2s serve exported/en_de/1
  keras-s2s serve exported/en_de/1 --model-name en_de --port 8501
  curl -d '{"instances": ["A dog runs."]}' \\
      http://127.0.0.1:8501/v1/models/en_de:predict
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "serve",
        parents=parents,
        help="serve an exported SavedModel over HTTP",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("export_dir", help="a directory written by 'keras-s2s export'")
    parser.add_argument("--model-name", default=None,
                        help="the name in the URL (default: the export directory's "
                        "name, or its parent's for a numbered version directory)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8501,
                        help="TCP port (default: 8501, TF Serving's REST port; 0 "
                        "picks a free one, printed at start)")
    parser.set_defaults(run=run)
    return parser


def port_number(text):
    """argparse type: a TCP port, 0 to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {text!r}")
    return value


def default_model_name(export_dir):
    """`en_de` for `exported/en_de` and for the version directory `exported/en_de/1`."""
    path = os.path.normpath(os.path.abspath(export_dir))
    name = os.path.basename(path)
    if name.isdigit():
        name = os.path.basename(os.path.dirname(path))
    return name


def run(args):
    from keras_s2s.serving import serve

    if not os.path.isdir(args.export_dir):
        raise CLIError(f"export directory '{args.export_dir}' does not exist.")
    model_name = args.model_name or default_model_name(args.export_dir)
    try:
        serve(args.export_dir, model_name, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    return 0
