"""serve(..., workers=2): processes sharing a port, summed metrics, SIGTERM, failures."""

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.serving.serving_fixtures import HTTPClient
from tests.serving.serving_fixtures import free_port
from tests.serving.serving_fixtures import tensorflow_backend_only
from tests.serving.serving_fixtures import tiny_export
from tests.test_case import TestCase

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVE = ("import sys\nfrom keras_s2s.serving import serve\n"
         "serve(sys.argv[1], 'tiny', port=int(sys.argv[2]), workers=2, verbose=False)\n")


def start(export_dir, port):
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, export_dir, str(port)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    lines = queue.Queue()

    def read():
        for line in process.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def next_line(lines, pattern, seen, timeout=240):
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
        if line is None:
            return None
        seen.append(line)
        if pattern in line:
            return line


def workers_of(pid):
    """The spawned worker processes of `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if parent == pid and "spawn_main" in command:
            found.append(int(entry))
    return found


class WorkerPoolTest(TestCase):
    @pytest.mark.slow
    @tensorflow_backend_only
    def test_two_workers_serve_one_port_and_drain_on_sigterm(self):
        _, export_dir = tiny_export()
        port = free_port()
        process, lines = start(export_dir, port)
        seen = []
        try:
            line = next_line(lines, "Serving 'tiny'", seen)
            self.assertIsNotNone(line, "\n".join(seen))
            self.assertIn(f"127.0.0.1:{port}/v1/models/tiny, 2 worker processes", line)
            self.assertEqual(len(workers_of(process.pid)), 2)
            client = HTTPClient(port)
            for _ in range(20):  # New connections: the kernel spreads them.
                status, reply, _ = client.request(
                    "POST", "/v1/models/tiny:predict", {"instances": ["a dog"]})
                self.assertEqual(status, 200)
            connection = client.connection()
            connection.request("GET", "/metrics")
            metrics = connection.getresponse().read().decode()
            connection.close()
            # Summed over both processes (prometheus_client multiprocess mode).
            self.assertIn('keras_s2s_requests_total{route="predict",status="200"} 20.0',
                          metrics)
            process.send_signal(signal.SIGTERM)
            self.assertEqual(process.wait(timeout=90), 0)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        while next_line(lines, "\0", seen, timeout=10) is not None:
            pass
        self.assertFalse(any("Traceback" in line for line in seen), "\n".join(seen))

    @pytest.mark.slow
    @tensorflow_backend_only
    def test_a_model_that_cannot_load_stops_the_pool_with_one_line(self):
        _, export_dir = tiny_export()
        broken = os.path.join(self.tmp_dir, "broken", "1")
        shutil.copytree(export_dir, broken)
        with open(os.path.join(broken, "saved_model.pb"), "wb") as file:
            file.write(b"not a SavedModel")
        process = subprocess.run(
            [sys.executable, "-m", "keras_s2s.cli", "serve", broken, "--port", "0",
             "--workers", "2"],
            capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
            env=dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="3"),
        )
        self.assertEqual(process.returncode, 1)
        self.assertNotIn("Traceback", process.stderr)
        errors = [line for line in process.stderr.splitlines()
                  if line.startswith("keras-s2s")]
        self.assertEqual(len(errors), 1, process.stderr)
        self.assertRegex(errors[0], r"Worker \d could not start: ValueError: Cannot "
                         r"load the SavedModel in '.*broken/1'")
