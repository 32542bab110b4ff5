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


def _truncate(path):
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) // 2)


def _flip_bit(path, offset):
    with open(path, "r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0x10]))


class CheckpointFallbackTest(TestCase):
    def _three_epochs(self):
        manager = CheckpointManager(self.tmp_dir)
        for epoch in (1, 2, 3):
            values = [np.full(4096, epoch, "float32")]
            manager.save_best(epoch, values, {"score": float(epoch)})
            manager.save(epoch, values, [], [np.array(epoch, "int64")],
                         {"best_epoch": epoch})
        return manager

    def test_keeps_two_checkpoints_and_their_best_files_by_default(self):
        manager = self._three_epochs()
        self.assertEqual(manager.checkpoint_epochs(), [2, 3])
        self.assertEqual(sorted(os.listdir(self.tmp_dir)), [
            "best-epoch-0002.npz", "best-epoch-0003.npz",
            "epoch-0002.ckpt.npz", "epoch-0003.ckpt.npz",
        ])

    def test_a_damaged_newest_checkpoint_is_named_and_the_previous_one_used(self):
        for damage in (_truncate, lambda p: _flip_bit(p, os.path.getsize(p) // 2)):
            manager = self._three_epochs()
            newest = manager.checkpoint_path(3)
            damage(newest)
            with pytest.warns(UserWarning, match=r"'.*epoch-0003\.ckpt\.npz' is damaged"):
                loaded = manager.load()
            self.assertEqual(loaded["state"]["epoch"], 2)
            self.assertEqual(loaded["path"], manager.checkpoint_path(2))
            self.assertEqual([path for path, _ in loaded["skipped"]], [newest])
            self.assertAllEqual(loaded["model"], [np.full(4096, 2, "float32")])
            # The best file the fallback names is still there.
            best, _ = manager.load_best(loaded["state"]["best_epoch"])
            self.assertAllEqual(best, [np.full(4096, 2, "float32")])
            # Set aside, not deleted, and never tried again.
            self.assertTrue(os.path.exists(newest + ".corrupt"))
            self.assertEqual(manager.latest_epoch(), 2)
            for name in os.listdir(self.tmp_dir):
                os.remove(os.path.join(self.tmp_dir, name))

    def test_a_flipped_bit_anywhere_in_the_arrays_is_detected(self):
        path = os.path.join(self.tmp_dir, "x.npz")
        save_arrays(path, {"a": np.arange(1000, dtype="float32")}, {"epoch": 1})
        _flip_bit(path, os.path.getsize(path) // 3)
        with pytest.raises(ValueError, match=r"'.*x\.npz' is damaged"):
            load_arrays(path)

    def test_every_checkpoint_damaged_or_a_named_epoch_damaged_is_an_error(self):
        manager = self._three_epochs()
        _truncate(manager.checkpoint_path(2))
        with pytest.raises(ValueError, match=r"epoch-0002\.ckpt\.npz' is damaged"):
            manager.load(2)
        _truncate(manager.checkpoint_path(3))
        with pytest.warns(UserWarning):
            with pytest.raises(ValueError, match=r"Every checkpoint .*epoch-0003"):
                manager.load()

    def test_checkpoints_without_a_recorded_checksum_still_load(self):
        # Files written before checksums were recorded.
        manager = CheckpointManager(self.tmp_dir)
        state = np.frombuffer(b'{"epoch": 1}', dtype=np.uint8)
        np.savez(manager.checkpoint_path(1), **{"model/00000": np.ones(2),
                                                "__state__": state})
        self.assertEqual(manager.load()["state"], {"epoch": 1})


class CheckpointDiskErrorTest(TestCase):
    def test_disk_full_names_the_file_and_leaves_no_partial_state(self):
        import errno
        from unittest import mock

        manager = CheckpointManager(self.tmp_dir, keep_weights=2)
        manager.save(1, [np.ones(2)], [], [], {})
        before = sorted(os.listdir(self.tmp_dir))

        def full(file, **arrays):
            file.write(b"PK partial")
            raise OSError(errno.ENOSPC, "No space left on device")

        with mock.patch.object(checkpoint_np, "savez", full):
            with pytest.raises(OSError, match=r"epoch-0002.*disk is full") as info:
                manager.save(2, [np.zeros(2)], [], [], {})
        self.assertEqual(info.value.errno, errno.ENOSPC)
        self.assertEqual(sorted(os.listdir(self.tmp_dir)), before)
        self.assertAllEqual(manager.load()["model"], [np.ones(2)])

    def test_an_unwritable_directory_names_the_file(self):
        import errno
        from unittest import mock

        manager = CheckpointManager(self.tmp_dir)
        real_open = open

        def refuse(path, *args, **kwargs):
            if os.path.basename(str(path)).startswith(".tmp-"):
                raise PermissionError(errno.EACCES, "Permission denied", path)
            return real_open(path, *args, **kwargs)

        with mock.patch("builtins.open", refuse):
            with pytest.raises(PermissionError, match=r"epoch-0001.*not writable"):
                manager.save(1, [np.ones(2)], [], [], {})
        self.assertEqual(os.listdir(self.tmp_dir), [])
