"""`tools/train.py` killed with SIGKILL in the middle of an epoch, then resumed."""

import copy
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import keras
import pytest

from keras_s2s import presets
from keras_s2s.training import CheckpointManager
from tests.test_case import TestCase
from tests.training.trainer_test import DATA_DIR
from tests.training.trainer_test import TINY

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_data,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]


def _directory_checksums(directory):
    """sha256 of every file in a run directory, except its lock file."""
    return {
        name: presets.file_sha256(os.path.join(directory, name))
        for name in sorted(os.listdir(directory))
        if os.path.isfile(os.path.join(directory, name)) and name != "run.lock"
    }


class TrainToolTest(TestCase):
    def test_sigkill_mid_epoch_then_resume(self):
        recipe = copy.deepcopy(TINY)
        recipe["data"]["max_train_examples"] = 2048  # Epochs of 64 batches.
        recipe["training"]["epochs"] = 3
        recipe["scheduled_sampling"] = None  # Plain teacher forcing.
        recipe_path = os.path.join(self.tmp_dir, "tiny_en_de.json")
        with open(recipe_path, "w") as file:
            json.dump(recipe, file)
        checkpoint_dir = os.path.join(self.tmp_dir, "run")
        preset_dir = os.path.join(self.tmp_dir, "presets", "tiny_en_de")
        command = [
            sys.executable, os.path.join("tools", "train.py"), recipe_path,
            "--output-dir", preset_dir, "--checkpoint-dir", checkpoint_dir,
            "--torch-threads", "1",
        ]
        env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(),
                   KERAS_S2S_DATA_DIR=DATA_DIR, PYTHONUNBUFFERED="1")
        manager = CheckpointManager(checkpoint_dir)
        # The progress bar (`--verbose 1`, one line per update when not on a
        # terminal) says which batch of which epoch is under way.
        process = subprocess.Popen(command + ["--verbose", "1"], cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        lines = queue.Queue()
        reader = threading.Thread(
            target=lambda: [lines.put(line) for line in process.stdout], daemon=True
        )
        reader.start()
        output, before_kill, batch = [], None, None
        try:
            deadline = time.monotonic() + 300
            while batch is None:
                self.assertLess(time.monotonic(), deadline, "epoch 2 did not start in time")
                try:
                    line = lines.get(timeout=1)
                except queue.Empty:
                    self.assertIsNone(process.poll(), "".join(output)[-3000:])
                    continue
                output.append(line)
                line = re.sub(r"\x1b\[[0-9;]*m", "", line)  # Progress bar colours.
                if line.startswith("Epoch 2/3"):
                    # Epoch 1 is committed; nothing is written until epoch 2 ends.
                    before_kill = _directory_checksums(checkpoint_dir)
                match = re.match(r"\s*(\d+)/64 ", line)
                if before_kill is not None and match and 4 <= int(match.group(1)) <= 40:
                    batch = int(match.group(1))
                    # Epoch 2 is under way: kill without warning.
                    process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.assertEqual(process.returncode, -signal.SIGKILL)
        self.assertLess(batch, 64)

        # The kill lost nothing that was on disk: epoch 1's checkpoint and
        # every other file are byte for byte what they were when epoch 2
        # began; no partial checkpoint or preset is visible.
        self.assertEqual(manager.checkpoint_epochs(), [1])
        self.assertEqual(_directory_checksums(checkpoint_dir), before_kill)
        self.assertFalse(os.path.exists(preset_dir))
        epoch_1 = manager.load(1)
        self.assertEqual([h["epoch"] for h in epoch_1["state"]["history"]], [1])

        resumed = subprocess.run(command + ["--verbose", "2"], cwd=REPO_ROOT, env=env,
                                 capture_output=True, text=True, timeout=300)
        self.assertEqual(resumed.returncode, 0, resumed.stdout[-3000:] + resumed.stderr[-3000:])
        self.assertIn(f"Resuming from '{manager.checkpoint_path(1)}'", resumed.stdout)
        self.assertIn("Epoch 2/3", resumed.stdout)
        self.assertNotIn("Epoch 1/3", resumed.stdout)
        metadata = presets.verify_preset(preset_dir)["keras_s2s"]
        self.assertEqual(metadata["training"]["epochs_run"], 3)
        history = metadata["training"]["history"]
        self.assertEqual([h["epoch"] for h in history], [1, 2, 3])
        # Epoch 1 was not trained again: its record is the checkpointed one.
        self.assertEqual(history[0], epoch_1["state"]["history"][0])
        self.assertEqual(manager.checkpoint_epochs(), [2, 3])  # The newest two are kept.
        self.assertEqual(
            [name for name in os.listdir(checkpoint_dir) if name.startswith(".tmp-")], []
        )
        self.assertIn("tools/train.py", metadata["command"])
