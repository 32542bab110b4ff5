"""`tools/train.py` killed with SIGKILL in the middle of training, then resumed."""

import copy
import json
import os
import signal
import subprocess
import sys
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
    pytest.mark.skipif(not os.path.isdir(DATA_DIR), reason=f"no data at {DATA_DIR}"),
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]


class TrainToolTest(TestCase):
    def test_sigkill_mid_training_then_resume(self):
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
            "--verbose", "2", "--torch-threads", "1",
        ]
        env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(),
                   KERAS_S2S_DATA_DIR=DATA_DIR)
        manager = CheckpointManager(checkpoint_dir)
        first_checkpoint = manager.checkpoint_path(1)
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240
            while not os.path.exists(first_checkpoint):
                self.assertIsNone(process.poll(), "training exited before epoch 1 ended")
                self.assertLess(time.monotonic(), deadline, "no checkpoint in time")
                time.sleep(0.05)
            # Epoch 2 is under way: kill without warning.
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        self.assertEqual(process.returncode, -signal.SIGKILL)
        self.assertIn(manager.latest_epoch(), (1, 2))
        killed_at = manager.latest_epoch()
        self.assertFalse(os.path.exists(preset_dir))

        resumed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True,
                                 text=True, timeout=300)
        self.assertEqual(resumed.returncode, 0, resumed.stdout[-3000:] + resumed.stderr[-3000:])
        self.assertIn(f"Resuming from '{manager.checkpoint_path(killed_at)}'", resumed.stdout)
        self.assertIn(f"Epoch {killed_at + 1}/3", resumed.stdout)
        self.assertNotIn("Epoch 1/3", resumed.stdout)
        metadata = presets.verify_preset(preset_dir)["keras_s2s"]
        self.assertEqual(metadata["training"]["epochs_run"], 3)
        self.assertEqual([h["epoch"] for h in metadata["training"]["history"]], [1, 2, 3])
        self.assertEqual(manager.checkpoint_epochs(), [3])
        self.assertEqual(
            [name for name in os.listdir(checkpoint_dir) if name.startswith(".tmp-")], []
        )
        self.assertIn("tools/train.py", metadata["command"])
