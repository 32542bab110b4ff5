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

# Overwrites the preset `argv[1]` with a new model and SIGKILLs itself either
# once every model file is in the temporary directory but before the
# metadata is written ("while_writing"), or right after the finished preset
# was moved aside and before the new one is renamed into place
# ("between_renames"). SIGKILL runs no cleanup: what is on disk is what a
# killed process leaves.
CHILD = r"""
import os, signal, sys
import keras
from keras_s2s.training import preset_writer
from tests.presets.preset_fixtures import make_model

preset_dir, mode = os.path.abspath(sys.argv[1]), sys.argv[2]
keras.utils.set_random_seed(7)
model = make_model()

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "while_writing":
    preset_writer.write_metadata = die
else:
    real_replace = os.replace
    def replace(source, destination):
        real_replace(source, destination)
        if os.path.abspath(source) == preset_dir:
            die()
    os.replace = replace
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
        """Runs one child per `(preset_dir, mode)`, concurrently; returns outputs."""
        env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
        processes = [
            subprocess.Popen([sys.executable, "-c", CHILD, preset_dir, mode],
                             cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for preset_dir, mode in modes
        ]
        outputs = []
        for process in processes:
            output, _ = process.communicate(timeout=300)
            self.assertEqual(process.returncode, -signal.SIGKILL, output[-3000:])
            outputs.append(output)
        return outputs

    @pytest.mark.slow
    def test_a_finished_preset_survives_a_killed_overwrite(self):
        writing = self.copy_of_original("writing")
        renaming = self.copy_of_original("renaming")
        before = presets.compute_checksums(writing)
        self.assertEqual(presets.compute_checksums(renaming), before)
        self.kill_while_overwriting([(writing, "while_writing"),
                                     (renaming, "between_renames")])

        # Killed while writing: the finished preset is untouched and the
        # partial one sits in a hidden temporary directory, never listed.
        parent = os.path.dirname(writing)
        leftovers = sorted(os.listdir(parent))
        self.assertEqual(len(leftovers), 2, leftovers)
        self.assertEqual(leftovers[1], "tiny")
        self.assertTrue(leftovers[0].startswith(".tiny.tmp-"))
        partial = os.path.join(parent, leftovers[0])
        self.assertTrue(os.path.isfile(os.path.join(partial, "model.weights.h5")))
        self.assertFalse(os.path.exists(os.path.join(partial, "metadata.json")))
        self.assertEqual(presets.compute_checksums(writing), before)
        presets.verify_preset(writing)
        self.assertEqual([p["name"] for p in presets.list_presets(parent)], ["tiny"])
        self.assertEqual(Seq2SeqLM.from_preset(writing).generate(SENTENCES, max_length=6),
                         self.expected)

        # Killed between the two renames: the finished preset was moved
        # aside, whole; the next write (or trainer check) moves it back.
        parent = os.path.dirname(renaming)
        self.assertFalse(os.path.exists(renaming))
        (aside,) = [name for name in os.listdir(parent) if name.startswith(".tiny.old-")]
        self.assertEqual(presets.compute_checksums(os.path.join(parent, aside, "tiny")),
                         before)
        with pytest.warns(UserWarning, match="Restored the preset"):
            with pytest.raises(FileExistsError, match="left untouched"):
                preset_writer.check_preset_dir_free(renaming)
        self.assertEqual(sorted(n for n in os.listdir(parent) if "old" in n), [])
        self.assertEqual(presets.compute_checksums(renaming), before)
        self.assertEqual(Seq2SeqLM.from_preset(renaming).generate(SENTENCES, max_length=6),
                         self.expected)

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
