"""Running `keras-s2s` as a user does (a subprocess) or in-process, on the tiny preset."""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

import keras

from keras_s2s.cli.main import main
from tests.presets.preset_fixtures import make_preset
from tests.test_case import TestCase

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "data")
# Lines TensorFlow and absl write to stderr at import, whatever the program.
LOG_PREFIXES = ("I0000", "W0000", "E0000", "WARNING: All log messages", "To enable the")
CONSOLE_SCRIPT = shutil.which("keras-s2s")


def cli_env():
    """The environment of a subprocess: this backend, the shared data."""
    return dict(
        os.environ,
        KERAS_BACKEND=keras.backend.backend(),
        KERAS_S2S_DATA_DIR=DATA_DIR,
        PYTHONIOENCODING="utf-8",
    )


def run_cli(args, input=None, console_script=False, timeout=300):
    """Runs `keras-s2s ARGS` (or `python -m keras_s2s.cli ARGS`) in a subprocess.

    Returns:
        A `subprocess.CompletedProcess` with text `stdout` and `stderr`.
    """
    if console_script:
        command = [CONSOLE_SCRIPT, *args]
    else:
        command = [sys.executable, "-m", "keras_s2s.cli", *args]
    return subprocess.run(
        command, input=input, capture_output=True, text=True, encoding="utf-8",
        env=cli_env(), cwd=REPO_ROOT, timeout=timeout,
    )


def run_main(args, stdin=""):
    """Runs `main(args)` in this process; returns `(status, stdout, stderr)`."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
            mock.patch("sys.stdin", io.StringIO(stdin)):
        status = main(list(args))
    return status, stdout.getvalue(), stderr.getvalue()


def own_lines(stderr):
    """The stderr lines written by keras-s2s, without TensorFlow's start-up logs."""
    return [
        line for line in stderr.splitlines()
        if line.strip() and not line.startswith(LOG_PREFIXES)
    ]


class CLITestCase(TestCase):
    """Writes the tiny untrained en-de preset once per class, under `presets_dir`.

    Set `make_tiny_preset = False` in a class that needs none.
    """

    make_tiny_preset = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._class_tmp = tempfile.TemporaryDirectory()
        cls.presets_dir = os.path.join(cls._class_tmp.name, "presets")
        if cls.make_tiny_preset:
            keras.utils.set_random_seed(1337)
            cls.model, cls.preset_dir = make_preset(cls.presets_dir)

    @classmethod
    def tearDownClass(cls):
        cls._class_tmp.cleanup()
        super().tearDownClass()

    def assertUserError(self, status, stderr, pattern, exit_code=None):
        """A user error: non-zero status, one line of message, no traceback."""
        self.assertNotEqual(status, 0)
        if exit_code is not None:
            self.assertEqual(status, exit_code)
        self.assertNotIn("Traceback", stderr)
        lines = own_lines(stderr)
        self.assertEqual(len(lines), 1, stderr)
        self.assertRegex(lines[0], r"^keras-s2s( [a-z-]+)?: error: ")
        self.assertRegex(lines[0], pattern)
