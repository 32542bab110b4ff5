"""`write_preset` killed with SIGKILL while it replaces a finished preset."""

import os
import signal
import subprocess
import sys

import keras
import pytest

from keras_s2s import presets
from keras_s2s.models import Seq2SeqLM
from keras_s2s.training import preset_writer
from keras_s2s.training import write_preset
from tests.presets.preset_fixtures import SENTENCES
from tests.presets.preset_fixtures import make_preset
from tests.test_case import TestCase

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Overwrites the preset `argv[1]` with a new model and dies at the point
# named by `argv[2]`:
# - "while_writing": SIGKILL once every model file is in the temporary
#   directory but before the metadata is written;
# - "sigterm_while_writing": the same point, but SIGTERM (`save_to_preset`);
# - "after_swap": SIGKILL right after the new preset and the old one were
#   swapped, before the old one is deleted (`save_to_preset`);
# - "between_renames": on a system without the atomic swap, SIGKILL right
#   after the finished preset was moved aside, before the new one is
#   renamed into place.
# SIGKILL runs no cleanup: what is on disk is what a killed process leaves.
CHILD = r"""
import os, signal, sys, time
import keras
from keras_s2s.training import preset_writer
from keras_s2s.utils import atomic_files
from tests.presets.preset_fixtures import make_model

preset_dir, mode = os.path.abspath(sys.argv[1]), sys.argv[2]
keras.utils.set_random_seed(7)
model = make_model()

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def terminate(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)

if mode == "while_writing":
    preset_writer.write_metadata = die
elif mode == "sigterm_while_writing":
    preset_writer.write_metadata = terminate
elif mode == "after_swap":
    atomic_files.shutil.rmtree = die
else:
    atomic_files._exchange = lambda first, second: False
    real_replace = os.replace
    def replace(source, destination):
        real_replace(source, destination)
        if os.path.abspath(source) == preset_dir:
            die()
    os.replace = replace
if mode in ("sigterm_while_writing", "after_swap"):
    model.save_to_preset(preset_dir)
else:
    preset_writer.write_preset(model, preset_dir, metadata={"task": "translation"},
                               model_card="# new\n", overwrite=True)
print("not killed")
"""

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


class PresetWriterTest(TestCase):
    def setUp(self):
        super().setUp()
        self.model, _ = make_preset(self.tmp_dir, "original")
        self.expected = self.model.generate(SENTENCES, max_length=6)

    def copy_of_original(self, name):
        directory = os.path.join(self.tmp_dir, name)
        os.makedirs(directory)
        return write_preset(self.model, os.path.join(directory, "tiny"),
                            metadata={"task": "translation"}, model_card="# tiny\n")

    def kill_while_overwriting(self, modes):
        """Runs one child per `(preset_dir, mode, signal)`, concurrently."""
        env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
        processes = [
            subprocess.Popen([sys.executable, "-c", CHILD, preset_dir, mode],
                             cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for preset_dir, mode, _ in modes
        ]
        for process, (_, _, number) in zip(processes, modes):
            output, _ = process.communicate(timeout=300)
            self.assertEqual(process.returncode, -number, output[-3000:])

    def assert_original(self, preset_dir, before):
        self.assertEqual(presets.compute_checksums(preset_dir), before)
        self.assertEqual(Seq2SeqLM.from_preset(preset_dir).generate(SENTENCES, max_length=6),
                         self.expected)

    @pytest.mark.slow
    def test_a_finished_preset_survives_a_killed_overwrite(self):
        writing = self.copy_of_original("writing")
        terminated = self.copy_of_original("terminated")
        swapped = self.copy_of_original("swapped")
        renaming = self.copy_of_original("renaming")
        before = presets.compute_checksums(writing)
        self.kill_while_overwriting([
            (writing, "while_writing", signal.SIGKILL),
            (terminated, "sigterm_while_writing", signal.SIGTERM),
            (swapped, "after_swap", signal.SIGKILL),
            (renaming, "between_renames", signal.SIGKILL),
        ])

        # SIGKILL while writing: the finished preset is untouched and the
        # partial one sits in a hidden temporary directory, never listed;
        # the next write removes it (its process is gone).
        parent = os.path.dirname(writing)
        leftovers = sorted(os.listdir(parent))
        self.assertEqual(len(leftovers), 2, leftovers)
        self.assertEqual(leftovers[1], "tiny")
        self.assertTrue(leftovers[0].startswith(".tiny.tmp-"))
        partial = os.path.join(parent, leftovers[0])
        self.assertTrue(os.path.isfile(os.path.join(partial, "model.weights.h5")))
        self.assertFalse(os.path.exists(os.path.join(partial, "metadata.json")))
        self.assert_original(writing, before)
        self.assertEqual([p["name"] for p in presets.list_presets(parent)], ["tiny"])
        self.assertEqual(preset_writer.remove_stale_temporary_dirs(writing), [partial])
        self.assertEqual(os.listdir(parent), ["tiny"])

        # SIGTERM while writing: the temporary directory is removed before
        # the process ends; the finished preset is untouched.
        self.assertEqual(os.listdir(os.path.dirname(terminated)), ["tiny"])
        self.assert_original(terminated, before)

        # SIGKILL after the atomic swap: the path holds the new, complete
        # preset; the old one waits in a temporary directory for the next
        # write to remove it.
        parent = os.path.dirname(swapped)
        self.assertEqual(len(os.listdir(parent)), 2)
        metadata = presets.verify_preset(swapped)
        self.assertEqual(metadata["keras_s2s"], {"name": "tiny"})
        self.assertNotEqual(presets.compute_checksums(swapped), before)
        Seq2SeqLM.from_preset(swapped)
        self.assertEqual(len(preset_writer.remove_stale_temporary_dirs(swapped)), 1)

        # No atomic swap, killed between the two renames: the finished
        # preset was moved aside, whole; the next write (or trainer check)
        # moves it back.
        parent = os.path.dirname(renaming)
        self.assertFalse(os.path.exists(renaming))
        (aside,) = [name for name in os.listdir(parent) if name.startswith(".tiny.old-")]
        self.assertEqual(presets.compute_checksums(os.path.join(parent, aside, "tiny")),
                         before)
        with pytest.warns(UserWarning, match="Restored the preset"):
            with pytest.raises(FileExistsError, match="left untouched"):
                preset_writer.check_preset_dir_free(renaming)
        self.assertEqual(sorted(n for n in os.listdir(parent) if "old" in n), [])
        self.assert_original(renaming, before)

    def test_restore_needs_a_missing_preset_and_an_aside_copy(self):
        preset_dir = self.copy_of_original("restore")
        self.assertFalse(preset_writer.restore_replaced_preset(preset_dir))
        aside = os.path.join(os.path.dirname(preset_dir), ".tiny.old-x")
        os.makedirs(aside)
        os.replace(preset_dir, os.path.join(aside, "tiny"))
        with pytest.warns(UserWarning, match=r"\.tiny\.old-x"):
            self.assertTrue(preset_writer.restore_replaced_preset(preset_dir))
        presets.verify_preset(preset_dir)
        self.assertFalse(os.path.exists(aside))
        # Nothing aside and nothing at the path: nothing to do.
        self.assertFalse(preset_writer.restore_replaced_preset(
            os.path.join(self.tmp_dir, "restore", "other")))

    def test_an_overwrite_replaces_and_a_plain_write_refuses(self):
        preset_dir = self.copy_of_original("overwrite")
        before = presets.compute_checksums(preset_dir)
        with pytest.raises(FileExistsError, match="left untouched"):
            write_preset(self.model, preset_dir, model_card="# other\n")
        self.assertEqual(presets.compute_checksums(preset_dir), before)
        write_preset(self.model, preset_dir, model_card="# other\n", overwrite=True)
        with open(os.path.join(preset_dir, "README.md")) as file:
            self.assertEqual(file.read(), "# other\n")
        self.assertEqual(os.listdir(os.path.dirname(preset_dir)), ["tiny"])

    def test_save_to_preset_records_checksums_and_replaces_a_preset_whole(self):
        preset_dir = os.path.join(self.tmp_dir, "saved")
        self.assertEqual(self.model.save_to_preset(preset_dir), preset_dir)
        files = presets.verify_preset(preset_dir)["files"]
        self.assertIn("model.weights.h5", files)
        self.assertEqual(Seq2SeqLM.from_preset(preset_dir).generate(SENTENCES, max_length=6),
                         self.expected)
        # Saving again over it: replaced, nothing left next to it.
        keras.utils.set_random_seed(3)
        from tests.presets.preset_fixtures import make_model

        other = make_model()
        other.save_to_preset(preset_dir)
        self.assertEqual(os.listdir(self.tmp_dir).count("saved"), 1)
        self.assertEqual(sorted(n for n in os.listdir(self.tmp_dir) if n.startswith(".")), [])
        self.assertAllClose(Seq2SeqLM.from_preset(preset_dir).weights, other.weights, atol=0)

    def test_a_directory_with_other_files_is_never_replaced(self):
        target = os.path.join(self.tmp_dir, "mine")
        os.makedirs(target)
        with open(os.path.join(target, "notes.txt"), "w") as file:
            file.write("my notes")
        with pytest.raises(FileExistsError, match="'notes.txt', which is not part of a preset"):
            self.model.save_to_preset(target)
        self.assertEqual(os.listdir(target), ["notes.txt"])
        self.assertEqual(sorted(n for n in os.listdir(self.tmp_dir) if n.startswith(".")), [])

    def test_disk_full_or_unwritable_names_the_preset_and_leaves_nothing(self):
        import errno
        from unittest import mock

        preset_dir = self.copy_of_original("full")
        before = presets.compute_checksums(preset_dir)
        for code, pattern in ((errno.ENOSPC, "disk is full"),
                              (errno.EACCES, "directory is not writable")):
            def fail(*args, **kwargs):
                raise OSError(code, os.strerror(code))

            with mock.patch.object(preset_writer, "write_metadata", fail):
                with pytest.raises(OSError, match=f"'{preset_dir}': the {pattern}") as info:
                    write_preset(self.model, preset_dir, overwrite=True)
            self.assertEqual(info.value.errno, code)
            self.assertEqual(os.listdir(os.path.dirname(preset_dir)), ["tiny"])
            self.assertEqual(presets.compute_checksums(preset_dir), before)
