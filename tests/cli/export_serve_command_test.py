"""`keras-s2s export` then `keras-s2s serve`: a preset answering HTTP requests."""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from keras_s2s.export import read_export_info
from keras_s2s.samplers import BeamSampler
from tests.cli.cli_test_utils import REPO_ROOT
from tests.cli.cli_test_utils import CLITestCase
from tests.cli.cli_test_utils import cli_env
from tests.cli.cli_test_utils import run_main

SENTENCES = ["two men", "a dog"]
SERVING_LINE = re.compile(r"^Serving 'tiny_en_de' \(version 1\) from .* at (http://\S+)$")


def _lines(stream, lines):
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _predict(url, sentences):
    """The outputs a running server answers for `sentences`."""
    request = urllib.request.Request(
        url + ":predict",
        data=json.dumps({"instances": sentences}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return [p["outputs"] for p in json.load(response)["predictions"]]


class ExportServeCommandTest(CLITestCase):
    # Under JAX and PyTorch the export itself runs a TensorFlow subprocess.
    @pytest.mark.slow
    def test_export_then_serve_in_a_process(self):
        export_dir = os.path.join(self.tmp_dir, "exported", "tiny_en_de", "1")
        status, stdout, stderr = run_main(
            ["export", "--preset", self.preset_dir, export_dir, "--num-beams", "2",
             "--max-length", "8"]
        )
        self.assertEqual(status, 0, stderr)
        self.assertEqual(stdout, os.path.abspath(export_dir) + "\n")
        self.assertTrue(os.path.isfile(os.path.join(export_dir, "saved_model.pb")))
        self.assertIn("BeamSampler", json.dumps(read_export_info(export_dir)))
        expected = self.model.generate(
            SENTENCES, max_length=8, sampler=BeamSampler(num_beams=2)
        )

        # A port already in use: a one-line error, before the model loads.
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            status, _, stderr = run_main(["serve", export_dir, "--port", str(port)])
        self.assertUserError(status, stderr, rf"Cannot listen on 127.0.0.1:{port}")

        # The model name defaults to the name above the version directory.
        process = subprocess.Popen(
            [sys.executable, "-m", "keras_s2s.cli", "serve", export_dir, "--port", "0",
             "--max-batch-size", "2", "--batch-timeout-ms", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
            cwd=REPO_ROOT,
        )
        lines, seen = queue.Queue(), []
        threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True).start()
        try:
            deadline = time.monotonic() + 240
            url = None
            while url is None:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
                self.assertIsNotNone(line, "serve exited:\n" + "\n".join(seen))
                seen.append(line)
                match = SERVING_LINE.match(line)
                url = match and match[1]
            self.assertEqual(_predict(url, SENTENCES), expected)
            # SIGTERM while a big request runs: it is answered, then exit 0.
            replies = []
            big = threading.Thread(
                target=lambda: replies.append(_predict(url, SENTENCES * 100)))
            big.start()
            time.sleep(1.0)
            process.send_signal(signal.SIGTERM)
            big.join(120)
            self.assertEqual(replies, [expected * 100])
            self.assertEqual(process.wait(timeout=60), 0)
            access_log = process.stdout.read()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        while (line := lines.get(timeout=10)) is not None:
            seen.append(line)
        self.assertFalse(any("Traceback" in line for line in seen), "\n".join(seen))
        self.assertEqual(access_log.count('"POST /v1/models/tiny_en_de:predict HTTP/1.1" 200'),
                         2, access_log)

    def test_user_errors(self):
        existing = os.path.join(self.tmp_dir, "existing")
        os.makedirs(existing)
        cases = [
            (["export", "--preset", self.preset_dir, existing], r"'.*existing' exists; pass --overwrite"),
            (["export", "--preset", self.preset_dir, os.path.join(self.tmp_dir, "e"),
              "--sampler", "exact"], r"ExactSampler"),
            (["serve", os.path.join(self.tmp_dir, "missing")], r"export directory '.*missing' does not exist"),
            (["serve", existing], r"No SavedModel in '.*existing'"),
            (["serve", existing, "--ray", "--workers", "2"], r"with --ray use --replicas"),
        ]
        for args, pattern in cases:
            with self.subTest(args=args):
                status, stdout, stderr = run_main(args)
                self.assertUserError(status, stderr, pattern)
