import json
import os
from unittest import mock

import keras
import pytest

from keras_s2s import presets
from keras_s2s.models import Seq2SeqLM
from keras_s2s.presets import preset_registry
from tests.presets.preset_fixtures import SENTENCES
from tests.presets.preset_fixtures import make_preset
from tests.test_case import TestCase


class PresetLoadingTest(TestCase):
    def setUp(self):
        super().setUp()
        self.model, self.preset_dir = make_preset(self.tmp_dir)
        self.expected = self.model.generate(SENTENCES, max_length=6)
        self._presets_dir = preset_registry.PRESETS_DIR
        preset_registry.PRESETS_DIR = self.tmp_dir

    def tearDown(self):
        preset_registry.PRESETS_DIR = self._presets_dir
        super().tearDown()

    def test_loads_by_name_and_by_path(self):
        for preset in ("tiny_test_en_de", self.preset_dir):
            model = Seq2SeqLM.from_preset(preset)
            self.assertIsInstance(model, Seq2SeqLM)
            self.assertEqual(model.generate(SENTENCES, max_length=6), self.expected)
            self.assertAllClose(model.weights, self.model.weights, atol=0)

    def test_tampered_missing_and_unknown_are_refused(self):
        weights = os.path.join(self.preset_dir, "model.weights.h5")
        with open(weights, "ab") as file:
            file.write(b"\x00")
        with pytest.raises(ValueError, match="'model.weights.h5'.*does not match"):
            Seq2SeqLM.from_preset("tiny_test_en_de")
        os.remove(weights)
        with pytest.raises(ValueError, match="'model.weights.h5' is missing"):
            Seq2SeqLM.from_preset("tiny_test_en_de")
        with pytest.raises(ValueError, match="Unknown preset 'other'.*tiny_test_en_de"):
            Seq2SeqLM.from_preset("other")

    def test_save_to_preset_records_checksums_so_the_preset_loads(self):
        saved = os.path.join(self.tmp_dir, "saved")
        self.model.save_to_preset(saved)
        self.assertIn("model.weights.h5", presets.read_metadata(saved)["files"])
        model = Seq2SeqLM.from_preset(saved)
        self.assertEqual(model.generate(SENTENCES, max_length=6), self.expected)

    def test_a_preset_without_checksums_needs_trust_unverified(self):
        import keras_hub

        plain = os.path.join(self.tmp_dir, "plain")
        keras_hub.models.Task.save_to_preset(self.model, plain)
        # Made by hand: keras-hub's files, and a metadata.json without checksums
        # (the parts' own save_to_preset record them).
        metadata = presets.read_metadata(plain)
        del metadata["files"]
        with open(os.path.join(plain, "metadata.json"), "w", encoding="utf-8") as file:
            json.dump(metadata, file)
        with pytest.raises(ValueError, match=r"'.*plain' records no file checksums"):
            Seq2SeqLM.from_preset(plain)
        model = Seq2SeqLM.from_preset(plain, trust_unverified=True)
        self.assertEqual(model.generate(SENTENCES, max_length=6), self.expected)

    def test_deleting_the_files_key_disables_nothing(self):
        path = os.path.join(self.preset_dir, "metadata.json")
        with open(path) as file:
            metadata = json.load(file)
        del metadata["files"]
        with open(path, "w") as file:
            json.dump(metadata, file)
        for preset in ("tiny_test_en_de", self.preset_dir):
            with pytest.raises(ValueError, match="records no file checksums"):
                Seq2SeqLM.from_preset(preset)
        # Trust is for a user's own directories, never for shipped names.
        with pytest.raises(ValueError, match="records no file checksums"):
            Seq2SeqLM.from_preset("tiny_test_en_de", trust_unverified=True)
        Seq2SeqLM.from_preset(self.preset_dir, trust_unverified=True)

    def test_recorded_files_must_be_exactly_the_directory(self):
        extra = os.path.join(self.preset_dir, "assets", "extra.txt")
        with open(extra, "w") as file:
            file.write("x")
        with pytest.raises(ValueError, match="'assets/extra.txt' .*not recorded"):
            Seq2SeqLM.from_preset(self.preset_dir)
        os.remove(extra)
        metadata = presets.read_metadata(self.preset_dir)
        metadata["files"]["other.json"] = {"sha256": "0" * 64, "bytes": 1}
        with open(os.path.join(self.preset_dir, "metadata.json"), "w") as file:
            json.dump(metadata, file)
        with pytest.raises(ValueError, match="'other.json' is missing"):
            Seq2SeqLM.from_preset(self.preset_dir)

    def test_loading_unpickles_nothing(self):
        import pickle

        import numpy as np

        def refuse(*args, **kwargs):
            raise AssertionError("a preset file was unpickled")

        real_load = np.load

        def load_without_pickle(*args, **kwargs):
            if kwargs.get("allow_pickle"):
                refuse()
            return real_load(*args, **kwargs)

        with mock.patch.object(pickle, "load", refuse), \
                mock.patch.object(pickle, "loads", refuse), \
                mock.patch.object(pickle, "Unpickler", refuse), \
                mock.patch.object(np, "load", load_without_pickle):
            model = Seq2SeqLM.from_preset(self.preset_dir)
        self.assertEqual(model.generate(SENTENCES, max_length=6), self.expected)
        self.assertEqual(
            sorted(presets.read_metadata(self.preset_dir)["files"]),
            ["README.md", "assets/tokenizer/vocabulary.spm", "config.json",
             "model.weights.h5", "preprocessor.json", "task.json", "tokenizer.json"],
        )

    def test_configs_are_deserialized_in_safe_mode(self):
        # A config that would rebuild a Python lambda is refused even when
        # unsafe deserialization is enabled globally.
        keras.config.enable_unsafe_deserialization()
        try:
            path = os.path.join(self.preset_dir, "task.json")
            with open(path) as file:
                config = json.load(file)
            lambda_layer = keras.saving.serialize_keras_object(
                keras.layers.Lambda(lambda x: x)
            )
            self.assertIn("__lambda__", json.dumps(lambda_layer))
            config["config"]["preprocessor"] = lambda_layer
            with open(path, "w") as file:
                json.dump(config, file)
            # Checksums recomputed, as whoever altered the file would do.
            presets.write_metadata(self.preset_dir, presets.read_metadata(self.preset_dir))
            with pytest.raises(ValueError, match="(?i)unsafe|lambda|safe_mode"):
                Seq2SeqLM.from_preset(self.preset_dir)
        finally:
            from keras.src.saving import serialization_lib

            serialization_lib.global_state.set_global_attribute("safe_mode_saving", None)
