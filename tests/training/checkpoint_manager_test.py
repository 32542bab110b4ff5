import os

import numpy as np
import pytest

from keras_s2s.training import CheckpointManager
from keras_s2s.training import load_arrays
from keras_s2s.training import save_arrays
from keras_s2s.training.checkpoint_manager import np as checkpoint_np
from tests.test_case import TestCase


class CheckpointManagerTest(TestCase):
    def test_save_and_load_round_trip(self):
        manager = CheckpointManager(self.tmp_dir)
        model = [np.arange(6, dtype="float32").reshape(2, 3), np.array([1, 2], "uint32")]
        extra = [np.array(0.25, "float32")]
        optimizer = [np.array(7, "int64"), np.full((2, 3), 0.5, "float32")]
        state = {"best_score": 12.5, "history": [{"epoch": 1, "loss": 3.0}]}
        manager.save(3, model, extra, optimizer, state)
        self.assertEqual(manager.latest_epoch(), 3)
        loaded = manager.load()
        self.assertAllEqual(loaded["model"], model)
        self.assertAllEqual(loaded["extra"], extra)
        self.assertAllEqual(loaded["optimizer"], optimizer)
        self.assertEqual([a.dtype for a in loaded["model"]], [np.float32, np.uint32])
        self.assertEqual(loaded["state"], dict(state, epoch=3))
        self.assertIsNone(CheckpointManager(os.path.join(self.tmp_dir, "new")).load())

    def test_keeps_the_newest_checkpoints_weights_and_the_best_file(self):
        manager = CheckpointManager(self.tmp_dir, keep_checkpoints=2, keep_weights=3)
        for epoch in range(1, 7):
            values = [np.full(2, epoch, "float32")]
            if epoch in (2, 5):
                manager.save_best(epoch, values, {"score": float(epoch)})
            manager.save(epoch, values, [], [], {"best_epoch": 2 if epoch < 5 else 5})
        self.assertEqual(manager.checkpoint_epochs(), [5, 6])
        self.assertEqual(manager.weights_epochs(), [4, 5, 6])
        best, state = manager.load_best(5)
        self.assertAllEqual(best, [np.full(2, 5, "float32")])
        self.assertEqual(state, {"score": 5.0, "epoch": 5})
        self.assertFalse(os.path.exists(manager.best_path(2)))
        self.assertAllEqual(manager.load_weights(4), [np.full(2, 4, "float32")])
        with pytest.raises(FileNotFoundError, match="best-epoch"):
            manager.load_best(2)

    def test_a_failed_write_leaves_the_previous_file_intact(self):
        path = os.path.join(self.tmp_dir, "x.npz")
        save_arrays(path, {"a": np.ones(3)}, {"epoch": 1})

        def crash(file, **arrays):
            file.write(b"partial")
            raise KeyboardInterrupt

        original = checkpoint_np.savez
        checkpoint_np.savez = crash
        try:
            with pytest.raises(KeyboardInterrupt):
                save_arrays(path, {"a": np.zeros(3)}, {"epoch": 2})
        finally:
            checkpoint_np.savez = original
        arrays, state = load_arrays(path)
        self.assertAllEqual(arrays["a"], np.ones(3))
        self.assertEqual(state, {"epoch": 1})
        self.assertEqual(os.listdir(self.tmp_dir), ["x.npz"])

    def test_temporary_files_are_ignored_then_removed(self):
        manager = CheckpointManager(self.tmp_dir)
        manager.save(1, [np.ones(2)], [], [], {})
        # What a process killed in the middle of writing epoch 2 leaves.
        leftover = os.path.join(self.tmp_dir, ".tmp-99999-epoch-0002.ckpt.npz")
        with open(leftover, "wb") as file:
            file.write(b"PK\x03\x04 truncated")
        self.assertEqual(manager.latest_epoch(), 1)
        self.assertAllEqual(manager.load()["model"], [np.ones(2)])
        manager.remove_temporary_files()
        self.assertFalse(os.path.exists(leftover))

    def test_object_arrays_are_not_unpickled(self):
        path = os.path.join(self.tmp_dir, "evil.npz")
        np.savez(path, a=np.array([{"x": 1}], dtype=object))
        with pytest.raises(ValueError, match="allow_pickle"):
            load_arrays(path)

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="keep_checkpoints"):
            CheckpointManager(self.tmp_dir, keep_checkpoints=0)
        with pytest.raises(ValueError, match="keep_weights"):
            CheckpointManager(self.tmp_dir, keep_weights=-1)
