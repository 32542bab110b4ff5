import os

import pytest

from keras_s2s import presets
from keras_s2s.presets.__main__ import format_presets_table
from tests.presets.preset_fixtures import make_model
from tests.presets.preset_fixtures import make_preset
from tests.test_case import TestCase


class PresetRegistryTest(TestCase):
    def test_list_presets_reads_the_metadata(self):
        model = make_model()
        make_preset(self.tmp_dir, "b_preset", model)
        _, preset_dir = make_preset(self.tmp_dir, "a_preset", model)
        os.makedirs(os.path.join(self.tmp_dir, "not_a_preset"))  # no metadata.json
        listed = presets.list_presets(self.tmp_dir)
        self.assertEqual([p["name"] for p in listed], ["a_preset", "b_preset"])
        entry = listed[0]
        self.assertEqual(entry["task"], "translation")
        self.assertEqual(entry["languages"], "en-de")
        self.assertEqual(entry["params"], model.count_params())
        files = presets.read_metadata(preset_dir)["files"]
        self.assertEqual(
            entry["size_bytes"],
            sum(os.path.getsize(os.path.join(preset_dir, name)) for name in files),
        )
        self.assertEqual(entry["headline_score"]["value"], 12.34)
        self.assertEqual(entry["path"], preset_dir)
        table = format_presets_table(listed)
        self.assertIn("| a_preset | translation | en-de |", table)
        self.assertIn("12.34 multi30k_bleu (test_2016_flickr)", table)

    def test_resolve_names_paths_and_unknown_names(self):
        _, preset_dir = make_preset(self.tmp_dir, "known_preset")
        self.assertEqual(presets.resolve_preset("known_preset", self.tmp_dir), preset_dir)
        self.assertEqual(presets.resolve_preset(preset_dir, self.tmp_dir), preset_dir)
        self.assertEqual(presets.resolve_preset("hf://org/model", self.tmp_dir), "hf://org/model")
        with pytest.raises(ValueError, match=r"Unknown preset 'nope'\. Available presets: known_preset"):
            presets.resolve_preset("nope", self.tmp_dir)
        with pytest.raises(ValueError, match="Available presets: none"):
            presets.resolve_preset("nope", os.path.join(self.tmp_dir, "empty"))
        with pytest.raises(ValueError, match="preset name or a directory path"):
            presets.resolve_preset(3, self.tmp_dir)

    def test_shipped_presets_are_listed_and_verified(self):
        # Whatever ships with the package must list and verify.
        for entry in presets.list_presets():
            presets.verify_preset(entry["path"])
            self.assertIsNotNone(entry["headline_score"])
