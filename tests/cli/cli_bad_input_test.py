"""Bad inputs to the `keras-s2s` command.

One table row per case: the command line (and standard input, as bytes) and
the documented outcome. A user error exits non-zero with one line on stderr,
`keras-s2s COMMAND: error: ...`, that names what was wrong, and no
traceback; an odd but valid input gives its documented output (and warning
line). Every row runs through `keras_s2s.cli.main.main` in this process
(what the console script calls); the rows of `IN_A_PROCESS`, one of each
kind, also run as a user runs them, `python -m keras_s2s.cli ...` in a
subprocess (each costs an interpreter start and the framework imports, so
they run together and are marked slow).
"""

import concurrent.futures
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from unittest import mock

import keras
import keras_hub
import pytest

from keras_s2s import presets
from keras_s2s.cli.main import main
from keras_s2s.tokenizers import train_sentencepiece
from tests.cli.cli_test_utils import REPO_ROOT
from tests.cli.cli_test_utils import cli_env
from tests.cli.cli_test_utils import own_lines
from tests.presets.preset_fixtures import TEXTS
from tests.presets.preset_fixtures import make_preset

LONG_SOURCE = " ".join(["dog"] * 10_000)
IN_A_PROCESS = (
    "10000_token_sentence",
    "invalid_utf8_on_stdin",
    "tampered_preset_file",
    "unknown_sampler",
)


class UserError:
    def __init__(self, pattern, exit_code=None):
        self.pattern, self.exit_code = pattern, exit_code


class Output:
    """Exit 0; `stdout` equals `expected`; stderr holds only `warning` lines."""

    def __init__(self, expected, warning=None):
        self.expected, self.warning = expected, warning


def _tampered(c):
    path = c.copy_preset("tampered")
    with open(os.path.join(path, "model.weights.h5"), "ab") as file:
        file.write(b"\x00")
    return path


def _missing(c):
    path = c.copy_preset("missing")
    os.remove(os.path.join(path, "assets", "tokenizer", "vocabulary.spm"))
    return path


def _truncated_plain(c):
    path = os.path.join(c.root, "plain_truncated")
    shutil.copytree(c.plain_dir, path)
    weights = os.path.join(path, "model.weights.h5")
    with open(weights, "r+b") as file:
        file.truncate(os.path.getsize(weights) // 2)
    return path


def _vocabulary_mismatch(c):
    path = c.copy_preset("vocabulary")
    with open(os.path.join(path, "assets", "tokenizer", "vocabulary.spm"), "wb") as file:
        file.write(train_sentencepiece(TEXTS * 20, vocabulary_size=25))
    presets.write_metadata(path, presets.read_metadata(path))
    return path


# name: (function of the context -> (argv, stdin bytes), expected outcome)
CASES = {
    "empty_sentence": (
        lambda c: (["translate", "--preset", c.preset_dir, ""], None),
        Output("\n"),
    ),
    "whitespace_lines_on_stdin": (
        lambda c: (["translate", "--preset", c.preset_dir], b"\n \t \n"),
        Output("\n\n"),
    ),
    "10000_token_sentence": (
        lambda c: (["translate", "--preset", c.preset_dir, LONG_SOURCE], None),
        Output(re.compile(r"^[^\n]*\n$"),
               warning=r"1 of 1 source texts .*truncated to the first 7"),
    ),
    "invalid_utf8_on_stdin": (
        lambda c: (["translate", "--preset", c.preset_dir], b"a dog\n\xff\xfe\n"),
        UserError(r"standard input is not UTF-8 text"),
    ),
    "invalid_utf8_input_file": (
        lambda c: (["translate", "--preset", c.preset_dir, "-i",
                    c.write("latin1.txt", b"caf\xe9\n")], None),
        UserError(r"input file '.*latin1.txt' is not UTF-8 text"),
    ),
    "unknown_preset": (
        lambda c: (["translate", "--preset", "no_such_preset", "a"], None),
        UserError(r"unknown preset 'no_such_preset'"),
    ),
    "unknown_sampler": (
        lambda c: (["translate", "--preset", c.preset_dir, "--sampler", "bem", "a"], None),
        UserError(r"--sampler: invalid choice: 'bem'", exit_code=2),
    ),
    "zero_beams": (
        lambda c: (["translate", "--preset", c.preset_dir, "--num-beams", "0", "a"], None),
        UserError(r"--num-beams: expected an integer >= 1, got '0'", exit_code=2),
    ),
    "negative_length_penalty": (
        lambda c: (["translate", "--preset", c.preset_dir, "--length-penalty", "-1",
                    "a"], None),
        UserError(r"--length-penalty: expected a finite number >= 0, got '-1'", exit_code=2),
    ),
    "top_p_above_one": (
        lambda c: (["translate", "--preset", c.preset_dir, "--top-p", "1.5", "a"], None),
        UserError(r"--top-p: expected a number in \(0, 1\]", exit_code=2),
    ),
    "max_length_not_a_number": (
        lambda c: (["translate", "--preset", c.preset_dir, "--max-length", "ten",
                    "a"], None),
        UserError(r"--max-length: expected an integer >= 2, got 'ten'", exit_code=2),
    ),
    "tampered_preset_file": (
        lambda c: (["translate", "--preset", _tampered(c), "a"], None),
        UserError(r"Preset file 'model.weights.h5' .*does not match the sha256"),
    ),
    "missing_preset_file": (
        lambda c: (["translate", "--preset", _missing(c), "a"], None),
        UserError(r"Preset file 'assets/tokenizer/vocabulary.spm' is missing"),
    ),
    "preset_without_checksums": (
        lambda c: (["translate", "--preset", c.plain_dir, "a"], None),
        UserError(r"records no file checksums .*--trust-unverified"),
    ),
    "truncated_file_of_a_preset_without_checksums": (
        lambda c: (["translate", "--trust-unverified", "--preset", _truncated_plain(c),
                    "a"], None),
        UserError(r"Preset file 'model.weights.h5' .*cannot be read"),
    ),
    "vocabulary_not_matching_the_weights": (
        lambda c: (["translate", "--preset", _vocabulary_mismatch(c), "a"], None),
        UserError(r"has 25 tokens, but its weights were trained with "
                  r"encoder_vocabulary_size=30"),
    ),
    "evaluate_files_of_different_lengths": (
        lambda c: (["evaluate", "--preset", c.preset_dir,
                    "--source-file", c.write("src.txt", b"a dog\ntwo men\n"),
                    "--reference-file", c.write("ref.txt", b"ein hund\n")], None),
        UserError(r"'.*src.txt' has 2 lines but '.*ref.txt' has 1"),
    ),
    "train_recipe_with_malformed_json": (
        lambda c: (["train", c.write("broken.json", b'{"name": "x",'),
                    "--output-dir", os.path.join(c.root, "out1")], None),
        UserError(r"Recipe '.*broken.json' is not valid JSON"),
    ),
    "train_recipe_not_utf8": (
        lambda c: (["train", c.write("latin1.json", b'{"name": "caf\xe9"}'),
                    "--output-dir", os.path.join(c.root, "out2")], None),
        UserError(r"Recipe '.*latin1.json' is not UTF-8 text"),
    ),
    "train_recipe_with_unknown_key": (
        lambda c: (["train", c.write("typo.json", json.dumps(
            {"name": "x", "data": {"source_language": "en", "target_language": "de"},
             "model": {"hiden_dim": 8}}).encode()),
                    "--output-dir", os.path.join(c.root, "out3")], None),
        UserError(r"Unknown key 'hiden_dim' in recipe section 'model'"),
    ),
}


class Context:
    def __init__(self, root):
        self.root = root
        keras.utils.set_random_seed(1337)
        self.model, self.preset_dir = make_preset(os.path.join(root, "presets"))
        self.plain_dir = os.path.join(root, "plain")
        # A preset made by hand: keras-hub's files, no recorded checksums.
        keras_hub.models.Task.save_to_preset(self.model, self.plain_dir)
        metadata = presets.read_metadata(self.plain_dir)
        metadata.pop("files", None)
        with open(os.path.join(self.plain_dir, "metadata.json"), "w", encoding="utf-8") as file:
            json.dump(metadata, file)

    def copy_preset(self, name):
        path = os.path.join(self.root, name)
        shutil.copytree(self.preset_dir, path)
        return path

    def write(self, name, data):
        path = os.path.join(self.root, name)
        with open(path, "wb") as file:
            file.write(data)
        return path


def _run_in_a_process(argv, stdin):
    result = subprocess.run(
        [sys.executable, "-m", "keras_s2s.cli", *argv], input=stdin or b"",
        capture_output=True, env=cli_env(), cwd=REPO_ROOT, timeout=300,
    )
    return (result.returncode, result.stdout.decode("utf-8"),
            result.stderr.decode("utf-8", errors="replace"))


def _run_in_this_process(argv, stdin):
    stdout, stderr = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
            mock.patch("sys.stdin", stdin), warnings.catch_warnings():
        # As in a fresh process: each warning shown (once), resource
        # warnings (of keras-hub's tokenizer loading) not.
        warnings.simplefilter("always", UserWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        status = main(list(argv))
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def context():
    with tempfile.TemporaryDirectory() as root:
        yield Context(root)


@pytest.fixture(scope="module")
def commands(context):
    return {name: build(context) for name, (build, _) in CASES.items()}


@pytest.fixture(scope="module")
def process_results(commands):
    """`(status, stdout, stderr)` of the `IN_A_PROCESS` rows, run together."""
    with concurrent.futures.ThreadPoolExecutor(len(IN_A_PROCESS)) as pool:
        futures = {name: pool.submit(_run_in_a_process, *commands[name])
                   for name in IN_A_PROCESS}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_bad_input(name, commands):
    check(CASES[name][1], *_run_in_this_process(*commands[name]))


@pytest.mark.slow
@pytest.mark.parametrize("name", IN_A_PROCESS)
def test_cli_bad_input_in_a_process(name, process_results):
    check(CASES[name][1], *process_results[name])


def check(expected, status, stdout, stderr):
    assert "Traceback" not in stderr, stderr
    lines = own_lines(stderr)
    if isinstance(expected, UserError):
        assert status != 0
        if expected.exit_code is not None:
            assert status == expected.exit_code, stderr
        assert len(lines) == 1, stderr
        assert re.match(r"keras-s2s [a-z-]+: error: ", lines[0]), lines
        assert re.search(expected.pattern, lines[0]), lines
        assert stdout == ""
        return
    assert status == 0, stderr
    if isinstance(expected.expected, re.Pattern):
        assert expected.expected.match(stdout), stdout
    else:
        assert stdout == expected.expected
    warning_lines = [line for line in lines if ": warning: " in line]
    assert len(warning_lines) == len(lines), lines
    if expected.warning is None:
        assert warning_lines == []
    else:
        assert len(warning_lines) == 1, lines
        assert re.search(expected.warning, warning_lines[0]), lines


def test_the_table_covers_every_kind_of_bad_input():
    assert len(CASES) >= 15
    assert set(IN_A_PROCESS) <= set(CASES)
