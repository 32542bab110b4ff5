import json
import os

import pytest

from keras_s2s import presets
from tests.presets.preset_fixtures import make_preset
from tests.test_case import TestCase


class PresetIntegrityTest(TestCase):
    def setUp(self):
        super().setUp()
        _, self.preset_dir = make_preset(self.tmp_dir)

    def metadata(self):
        with open(os.path.join(self.preset_dir, "metadata.json")) as file:
            return json.load(file)

    def test_metadata_records_every_file(self):
        files = self.metadata()["files"]
        on_disk = presets.preset_integrity.preset_files(self.preset_dir)
        self.assertEqual(sorted(files), on_disk)
        self.assertIn("model.weights.h5", files)
        self.assertIn("assets/tokenizer/vocabulary.spm", files)
        self.assertNotIn("metadata.json", files)
        for name, entry in files.items():
            path = os.path.join(self.preset_dir, name)
            self.assertEqual(entry["sha256"], presets.file_sha256(path))
            self.assertEqual(entry["bytes"], os.path.getsize(path))
        self.assertEqual(presets.verify_preset(self.preset_dir), self.metadata())

    def test_a_tampered_file_is_refused_by_name(self):
        path = os.path.join(self.preset_dir, "assets", "tokenizer", "vocabulary.spm")
        with open(path, "r+b") as file:
            file.seek(100)
            byte = file.read(1)
            file.seek(100)
            file.write(bytes([byte[0] ^ 1]))
        with pytest.raises(ValueError, match="'assets/tokenizer/vocabulary.spm'.*does not match"):
            presets.verify_preset(self.preset_dir)

    def test_a_missing_file_is_refused_by_name(self):
        os.remove(os.path.join(self.preset_dir, "task.json"))
        with pytest.raises(ValueError, match="'task.json' is missing"):
            presets.verify_preset(self.preset_dir)

    def test_an_unrecorded_file_is_refused(self):
        with open(os.path.join(self.preset_dir, "task.weights.h5"), "wb") as file:
            file.write(b"\x00")
        with pytest.raises(ValueError, match="'task.weights.h5'.*not recorded"):
            presets.verify_preset(self.preset_dir)

    def test_names_outside_the_directory_are_refused(self):
        metadata = self.metadata()
        metadata["files"]["../outside.json"] = {"sha256": "0" * 64, "bytes": 1}
        with open(os.path.join(self.preset_dir, "metadata.json"), "w") as file:
            json.dump(metadata, file)
        with pytest.raises(ValueError, match="outside the preset directory"):
            presets.verify_preset(self.preset_dir)

    def test_missing_or_damaged_metadata(self):
        metadata = self.metadata()
        del metadata["files"]
        with open(os.path.join(self.preset_dir, "metadata.json"), "w") as file:
            json.dump(metadata, file)
        with pytest.raises(ValueError, match="records no file checksums"):
            presets.verify_preset(self.preset_dir)
        self.assertNotIn("files", presets.verify_preset(self.preset_dir, require_checksums=False))
        with open(os.path.join(self.preset_dir, "metadata.json"), "w") as file:
            file.write("{not json")
        with pytest.raises(ValueError, match="Could not read"):
            presets.verify_preset(self.preset_dir)
        os.remove(os.path.join(self.preset_dir, "metadata.json"))
        with pytest.raises(ValueError, match="has no metadata.json"):
            presets.verify_preset(self.preset_dir)
