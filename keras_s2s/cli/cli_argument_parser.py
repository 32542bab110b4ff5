import argparse

from keras_s2s.cli.cli_error import CLIError


class CLIArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are one line, not an exit.

    A malformed command line (an unknown option, a missing or badly typed
    value) raises `CLIError(exit_code=2)` instead of printing the usage and
    exiting, so `keras_s2s.cli.main.main` reports every user error the same
    way: one line on stderr that names the `--help` to read.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')", exit_code=2)
