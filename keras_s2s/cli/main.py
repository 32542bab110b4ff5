"""The `keras-s2s` command: `main(argv) -> exit status`."""

import argparse
import contextlib
import logging
import os
import sys
import warnings

from keras_s2s.cli import distill_command
from keras_s2s.cli import evaluate_command
from keras_s2s.cli import export_command
from keras_s2s.cli import plot_attention_command
from keras_s2s.cli import presets_command
from keras_s2s.cli import serve_command
from keras_s2s.cli import train_command
from keras_s2s.cli import translate_command
from keras_s2s.cli.cli_argument_parser import CLIArgumentParser
from keras_s2s.cli.cli_error import CLIError

PROG = "keras-s2s"
COMMANDS = (
    translate_command,
    evaluate_command,
    train_command,
    distill_command,
    presets_command,
    plot_attention_command,
    export_command,
    serve_command,
)
# Errors that come from what the user asked for: reported in one line.
USER_ERRORS = (
    ValueError,
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    ImportError,
)

DESCRIPTION = """\
keras-s2s: attentional sequence-to-sequence models for Keras 3.

Translate with a shipped preset (no download, no training), score it, plot its
attention, train your own from a recipe, export and serve it. The backend is
Keras's: set KERAS_BACKEND=tensorflow, jax or torch."""

EXAMPLES = """\
examples:
  keras-s2s translate "A dog runs through the snow."
  keras-s2s translate --input-file test.en --output-file test.de --num-beams 5
  keras-s2s presets
  keras-s2s evaluate --split test_2016_flickr --max-examples 100
  keras-s2s plot-attention "A girl is eating." -o attention.png
  keras-s2s train zoo/multi30k_en_de_gru_bahdanau.json --output-dir my_en_de
  keras-s2s distill zoo/multi30k_en_de_gru_bahdanau.json --teacher my_en_de \
      --teacher my_en_de_2 --output-dir my_en_de_student
  keras-s2s export exported/en_de/1 && keras-s2s serve exported/en_de/1

'keras-s2s COMMAND --help' shows a command's options and examples. Add --debug
to see the traceback of an error.
"""


def _version():
    import keras

    from keras_s2s.version import __version__

    return (
        f"{PROG} {__version__} (keras {keras.version()}, backend "
        f"{keras.backend.backend()})"
    )


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(_version())
        parser.exit()


def build_parser():
    """The `keras-s2s` argument parser with all subcommands."""
    common = CLIArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error, and TensorFlow's logs")
    parser = CLIArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EXAMPLES)
    parser.add_argument("--version", action=_VersionAction,
                        help="print the versions of keras-s2s and Keras, and the backend")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show the traceback of an error, and TensorFlow's logs")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers, [common])
    return parser


def _one_line(error):
    text = str(error).strip() or type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    more = " (--debug shows more)" if len(lines) > 1 else ""
    return lines[0] + more


def _command_index(parser, argv):
    """The index of the subcommand's name in `argv`, or -1."""
    choices = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices.update(action.choices)
    for index, word in enumerate(argv):
        if word in choices:
            return index, choices[word].prog
        if not word.startswith("-"):
            break
    return -1, parser.prog


def _quiet_logs():
    # TensorFlow's logs (C++ start-up lines about CUDA and oneDNN, Python
    # retracing notices, ...) are for developers; `--debug` keeps them, and
    # so does a TF_CPP_MIN_LOG_LEVEL the user set. TensorFlow is imported
    # only after this runs (the command modules import it lazily), so the
    # C++ level set here applies.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


@contextlib.contextmanager
def _stderr_silenced():
    """Sends file descriptor 2 (C and C++ code's stderr too) to /dev/null."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_backend_quietly():
    """Imports TensorFlow and Keras with their start-up lines silenced.

    TensorFlow's C++ start-up lines (CUDA and oneDNN notices) are written
    before its logging reads TF_CPP_MIN_LOG_LEVEL, so the level alone does
    not hide them; they go to /dev/null instead. An import that fails is
    re-raised (its message is printed once stderr is back).
    """
    with _stderr_silenced():
        try:
            import tensorflow  # keras-hub and tf.data need it
        except ImportError:
            pass
        else:
            # Device discovery (a CUDA probe, logged as an error on machines
            # without a GPU) happens here, not in the middle of a command.
            tensorflow.config.list_physical_devices()
        import keras  # noqa: F401


def _one_line_warnings(prog):
    """A `warnings.showwarning` that prints `<prog>: warning: <message>`."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"{prog}: warning: {text}", file=file or sys.stderr)

    return show


def run_command(parser, argv):
    """Parses `argv` with `parser` and runs `args.run(args)`, reporting errors.

    A user error (`CLIError`, a bad option value, an unknown preset, a
    missing file) is printed as one line, `<prog>: error: <message>`, and
    gives a non-zero status; an unexpected error too, with a hint to rerun
    with `--debug`, which re-raises instead (the traceback is shown).
    Python warnings are printed as one line each, `<prog>: warning: ...`.

    Returns:
        The exit status: 0 on success, 1 for an error, 2 for a malformed
        command line, 130 when interrupted.
    """
    debug = "--debug" in argv
    if not debug:
        _quiet_logs()
    index, command_prog = _command_index(parser, argv)
    show_warning = warnings.showwarning
    if not debug:
        warnings.showwarning = _one_line_warnings(command_prog)
    try:
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):
            parser.print_help()
            return 0
        # The command's own arguments (e.g. for a model card's command line).
        args.argv = [word for word in argv[index + 1 :] if word != "--debug"]
        if not debug and getattr(args, "uses_backend", True):
            _import_backend_quietly()
        return args.run(args)
    except SystemExit as exit:  # --help and --version.
        return exit.code if isinstance(exit.code, int) else 0
    except CLIError as error:
        if debug:
            raise
        message = _one_line(error).replace(
            f"(see '{parser.prog} --help')", f"(see '{command_prog} --help')"
        )
        print(f"{command_prog}: error: {message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (`keras-s2s translate ... | head`).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except USER_ERRORS as error:
        if debug:
            raise
        print(f"{command_prog}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except Exception as error:
        if debug:
            raise
        print(
            f"{command_prog}: error: unexpected {type(error).__name__}: "
            f"{_one_line(error)} Rerun with --debug for the traceback.",
            file=sys.stderr,
        )
        return 1
    finally:
        warnings.showwarning = show_warning


def main(argv=None):
    """Runs `keras-s2s` with `argv` (default: `sys.argv[1:]`).

    Returns:
        The exit status (the console script exits with it).

    Example:

    ```python
    from keras_s2s.cli.main import main
    main(["translate", "A dog runs."])  # Prints the translation, returns 0.
    ```
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
