class CLIError(Exception):
    """A user mistake on the command line: reported in one line, no traceback.

    `keras-s2s` prints `keras-s2s <command>: error: <message>` on stderr and
    exits with `exit_code` (2 for a malformed command line, as argparse does;
    1 otherwise). `--debug` shows the traceback instead.

    Args:
        message: what was wrong and what to do instead, in one line.
        exit_code: the process exit status.
    """

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
