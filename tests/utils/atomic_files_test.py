import errno
import os
import signal
import subprocess
import sys
from unittest import mock

import pytest

from keras_s2s.utils import atomic_files
from tests.test_case import TestCase

# Writes a directory's temporary copy, then gets SIGTERM in the middle.
TERMINATED_CHILD = r"""
import importlib.util, os, shutil, signal, sys, tempfile, time
# The module alone, without importing keras_s2s (and a backend).
spec = importlib.util.spec_from_file_location("atomic_files", sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
terminate_after_cleanup = module.terminate_after_cleanup
parent = sys.argv[1]
with terminate_after_cleanup():
    temporary = tempfile.mkdtemp(dir=parent)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    finally:
        shutil.rmtree(temporary)
print("not terminated")
"""


class AtomicFilesTest(TestCase):
    def test_atomic_write_replaces_or_leaves_the_old_file(self):
        path = os.path.join(self.tmp_dir, "a.txt")
        with atomic_files.atomic_write(path, "w", encoding="utf-8") as file:
            file.write("one")
        with pytest.raises(KeyboardInterrupt):
            with atomic_files.atomic_write(path, "w", encoding="utf-8") as file:
                file.write("tw")
                raise KeyboardInterrupt
        with open(path) as file:
            self.assertEqual(file.read(), "one")
        self.assertEqual(os.listdir(self.tmp_dir), ["a.txt"])

    def test_a_full_disk_is_one_clear_error(self):
        path = os.path.join(self.tmp_dir, "a.bin")
        with pytest.raises(OSError, match=r"'.*a\.bin': the disk is full") as info:
            with atomic_files.atomic_write(path, what="checkpoint"):
                raise OSError(errno.ENOSPC, "No space left on device")
        self.assertEqual(info.value.errno, errno.ENOSPC)
        self.assertIn("checkpoint", str(info.value))
        self.assertEqual(os.listdir(self.tmp_dir), [])

    def test_stale_means_the_writing_process_is_gone(self):
        self.assertFalse(atomic_files.is_stale(atomic_files.temporary_path("x")))
        process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                 capture_output=True, text=True, check=True)
        dead = int(process.stdout)
        self.assertTrue(atomic_files.is_stale(f"/d/.tiny.tmp-{dead}-abc"))
        self.assertTrue(atomic_files.is_stale("/d/.tiny.tmp-abc"))

    def _directory(self, name, text):
        path = os.path.join(self.tmp_dir, name)
        os.makedirs(path)
        with open(os.path.join(path, "f"), "w") as file:
            file.write(text)
        return path

    def _read(self, path):
        with open(os.path.join(path, "f")) as file:
            return file.read()

    def test_replace_directory_swaps_or_moves_aside(self):
        for exchange in (True, False):
            target = self._directory(f"target-{exchange}", "old")
            new = self._directory(f".new-{exchange}", "new")
            if exchange:
                atomic_files.replace_directory(new, target)
            else:
                with mock.patch.object(atomic_files, "_exchange", return_value=False):
                    atomic_files.replace_directory(new, target)
            self.assertEqual(self._read(target), "new")
            self.assertFalse(os.path.exists(new))
        self.assertEqual(sorted(os.listdir(self.tmp_dir)), ["target-False", "target-True"])

    def test_restore_directory_moves_back_a_copy_set_aside(self):
        target = os.path.join(self.tmp_dir, "tiny")
        aside = os.path.join(self.tmp_dir, ".tiny.old-1")
        os.makedirs(aside)
        self._directory(os.path.join(".tiny.old-1", "tiny"), "old")
        self.assertEqual(atomic_files.restore_directory(target), aside)
        self.assertEqual(self._read(target), "old")
        self.assertEqual(os.listdir(self.tmp_dir), ["tiny"])
        self.assertIsNone(atomic_files.restore_directory(target))

    @pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
    def test_sigterm_runs_the_cleanup_then_terminates(self):
        process = subprocess.run(
            [sys.executable, "-c", TERMINATED_CHILD, self.tmp_dir, atomic_files.__file__],
            capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(process.returncode, -signal.SIGTERM, process.stderr)
        self.assertEqual(os.listdir(self.tmp_dir), [])
