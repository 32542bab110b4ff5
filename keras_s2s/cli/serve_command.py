"""`keras-s2s serve`: serve an exported SavedModel over HTTP."""

import argparse
import dataclasses
import os

from keras_s2s.cli.cli_error import CLIError
from keras_s2s.serving.serving_limits import ServingLimits

DESCRIPTION = """\
Serve a SavedModel written by 'keras-s2s export' over HTTP, with TF Serving's
REST API (POST /v1/models/<model-name>:predict with {"instances": [...]}),
plus /healthz, /readyz and Prometheus /metrics. Concurrent requests are
batched fairly (a small request never waits behind a big one); every request
and connection is bounded (the limits below). Stop it with Ctrl-C or SIGTERM:
in-flight requests finish first. Needs the 'serving' extra
(pip install 'keras-s2s[serving]'); --ray needs the 'ray' extra."""

EXAMPLES = """\
examples:
  keras-s2s serve exported/en_de/1
  keras-s2s serve exported/en_de/1 --model-name en_de --port 8501 --workers 4
  keras-s2s serve exported/en_de/1 --ray --replicas 2
  curl -d '{"instances": ["A dog runs."]}' \\
      http://127.0.0.1:8501/v1/models/en_de:predict
"""

# Help of each ServingLimits field (its flag is --max-request-bytes, ...).
_LIMIT_HELP = {
    "max_request_bytes": "largest request body (beyond: 413)",
    "max_inputs_per_request": "most inputs in one predict request (beyond: 400)",
    "max_input_chars": "longest input string, in characters (beyond: 400)",
    "max_json_depth": "deepest nesting of JSON arrays and objects (beyond: 400)",
    "max_number_digits": "longest JSON number (beyond: 400)",
    "max_in_flight_requests": "predict requests answered at once per process "
    "(beyond: 503 with Retry-After)",
    "max_queued_inputs": "inputs waiting for the model per process (beyond: 503)",
    "max_connections": "open connections per process (beyond: 503, closed)",
    "max_header_bytes": "largest request line plus headers (beyond: 431)",
    "header_timeout_s": "seconds a client has to send a request's headers",
    "body_timeout_s": "seconds a client has to send a request's body (beyond: 408)",
    "idle_timeout_s": "seconds a keep-alive connection may stay idle",
    "drain_timeout_s": "seconds in-flight requests get to finish on shutdown",
    "retry_after_s": "the Retry-After of a 503, in seconds",
}


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
    parser.add_argument("--workers", type=positive(int), default=1, metavar="N",
                        help="server processes, each with its own model (default: 1)")
    parser.add_argument("--max-batch-size", type=positive(int), default=8, metavar="N",
                        help="most inputs per model call (default: 8; a beam-5 call of 8 takes about 0.5 s on 2 CPU cores)")
    parser.add_argument("--batch-timeout-ms", type=positive(float, zero=True),
                        default=5.0, metavar="MS",
                        help="how long a batch waits to fill (default: 5)")
    parser.add_argument("--quiet", action="store_true",
                        help="no access log (one line per request)")
    limits = parser.add_argument_group("limits")
    defaults = ServingLimits()
    for field in dataclasses.fields(ServingLimits):
        default = getattr(defaults, field.name)
        limits.add_argument(
            "--" + field.name.replace("_", "-"), type=positive(field.type),
            default=default, metavar="SECONDS" if field.type is float else "N",
            help=f"{_LIMIT_HELP[field.name]} (default: {default})",
        )
    ray = parser.add_argument_group("Ray Serve (several machines)")
    ray.add_argument("--ray", action="store_true",
                     help="deploy on Ray Serve (a local Ray instance, or --ray-address)")
    ray.add_argument("--ray-address", default=None,
                     help="the Ray cluster to join (default: start a local one)")
    ray.add_argument("--replicas", type=positive(int), default=1, metavar="N",
                     help="Ray Serve replicas, each with its own model (default: 1)")
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


def positive(kind, zero=False):
    """argparse type: an int or float > 0 (>= 0 with `zero`)."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value < 0 or (value == 0 and not zero):
            bound = ">= 0" if zero else "> 0"
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'} {bound}, "
                f"got {text!r}"
            )
        return value

    return parse


def default_model_name(export_dir):
    """`en_de` for `exported/en_de` and for the version directory `exported/en_de/1`."""
    path = os.path.normpath(os.path.abspath(export_dir))
    name = os.path.basename(path)
    if name.isdigit():
        name = os.path.basename(os.path.dirname(path))
    return name


def run(args):
    if not os.path.isdir(args.export_dir):
        raise CLIError(f"export directory '{args.export_dir}' does not exist.")
    model_name = args.model_name or default_model_name(args.export_dir)
    limits = {name: getattr(args, name) for name in ServingLimits.names()}
    if args.ray and args.workers > 1:
        raise CLIError("--workers is for one machine; with --ray use --replicas.",
                       exit_code=2)
    try:
        if args.ray:
            from keras_s2s.serving.ray import serve_with_ray

            serve_with_ray(
                args.export_dir, model_name, host=args.host, port=args.port,
                num_replicas=args.replicas, max_batch_size=args.max_batch_size,
                batch_wait_timeout_s=args.batch_timeout_ms / 1000.0,
                address=args.ray_address, limits=ServingLimits(**limits),
            )
        else:
            from keras_s2s.serving import serve

            serve(
                args.export_dir, model_name, host=args.host, port=args.port,
                max_batch_size=args.max_batch_size,
                batch_timeout_ms=args.batch_timeout_ms, workers=args.workers,
                verbose=not args.quiet, **limits,
            )
    except KeyboardInterrupt:
        pass
    except (OSError, RuntimeError) as error:
        if isinstance(error, (FileNotFoundError, PermissionError)):
            raise
        raise CLIError(getattr(error, "strerror", None) or str(error)) from None
    return 0
