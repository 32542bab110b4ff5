"""End-to-end: a tiny recipe trained for two epochs on a few hundred Multi30k pairs."""

import contextlib
import copy
import io
import json
import os
import shutil
import tempfile

import keras
import numpy as np
import pytest

from keras_s2s import presets
from keras_s2s.models import Seq2SeqLM
from keras_s2s.presets import preset_registry
from keras_s2s.training import CheckpointManager
from keras_s2s.training import Trainer
from keras_s2s.training import write_preset
from tests.test_case import TestCase

DATA_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "shared", "data")
)
SENTENCES = ["A man is riding a bike.", "Two dogs play in the snow.", "A girl is eating."]
TINY = {
    "name": "tiny_en_de",
    "data": {
        "source_language": "en",
        "target_language": "de",
        "max_train_examples": 384,
        "max_validation_examples": 32,
        "max_test_examples": 32,
    },
    "tokenizer": {"vocabulary_size": 200},
    "preprocessor": {"encoder_sequence_length": 20, "decoder_sequence_length": 20},
    "model": {
        "embedding_dim": 16,
        "hidden_dim": 32,
        "cell_type": "gru",
        "attention_type": "luong",
        "input_feeding": False,
        "dropout": 0.1,
    },
    "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.02, "global_clipnorm": 5.0}},
    "training": {"batch_size": 32, "epochs": 2, "average_last_n": 2},
    "validation": {"metric": "chrf", "batch_size": 32, "max_length": 12},
    # Exercised here; tests/training/train_tool_test.py covers plain training.
    "scheduled_sampling": {"max_probability": 0.3, "start_epoch": 2, "ramp_epochs": 1},
}
COMMAND = "KERAS_BACKEND=jax python tools/train.py tiny.json --output-dir presets/tiny_en_de"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_data,
]


class _PoisonWeights(keras.callbacks.Callback):
    """Makes the weights NaN at the start of the second epoch; counts its batches."""

    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            for variable in self.model.trainable_variables:
                variable.assign(variable * float("nan"))

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


class TrainerTest(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp()
        cls.presets_dir = os.path.join(cls.root, "presets")
        cls.preset_dir = os.path.join(cls.presets_dir, "tiny_en_de")
        cls.run_dir = os.path.join(cls.root, "run")
        keras.utils.set_random_seed(1337)
        trainer = Trainer(
            TINY,
            output_dir=cls.preset_dir,
            checkpoint_dir=cls.run_dir,
            verbose=0,
            command=COMMAND,
            data_dir=DATA_DIR,
        )
        cls.report = trainer.run()
        # Computed now: every test's setUp reseeds, which resets TensorFlow
        # kernels (and so the in-memory tokenizer's op resources).
        model = trainer.model
        cls.memory_outputs = model.generate(SENTENCES, max_length=12)
        cls.packed = model.preprocessor.generate_preprocess(SENTENCES)
        cls.memory_logits = keras.ops.convert_to_numpy(model(cls.packed))
        cls.memory_values = [np.array(keras.ops.convert_to_numpy(v)) for v in model.weights]
        cls.parameter_count = model.count_params()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def test_preset_loads_and_generates_the_in_memory_strings(self):
        self.assertTrue(any(text.strip() for text in self.memory_outputs))
        for preset in (self.preset_dir, "tiny_en_de"):
            original = preset_registry.PRESETS_DIR
            preset_registry.PRESETS_DIR = self.presets_dir
            try:
                model = Seq2SeqLM.from_preset(preset)
            finally:
                preset_registry.PRESETS_DIR = original
            self.assertEqual(model.generate(SENTENCES, max_length=12), self.memory_outputs)
            self.assertAllClose(model(self.packed), self.memory_logits, atol=1e-5)
            self.assertAllClose(model.weights, self.memory_values, atol=0)

    def test_selected_weights_are_the_best_epoch_or_the_numpy_mean(self):
        manager = CheckpointManager(self.run_dir)
        self.assertEqual(manager.weights_epochs(), [1, 2])
        epoch_values = [manager.load_weights(1), manager.load_weights(2)]
        mean = [
            np.mean([a, b], axis=0).astype(a.dtype) if a.dtype.kind == "f" else b
            for a, b in zip(*epoch_values)
        ]
        training = self.report["metadata"]["training"]
        self.assertEqual(training["averaged_epochs"], [1, 2])
        self.assertIsNotNone(training["averaged_score"])
        if self.report["selected"].startswith("average"):
            expected = mean
            self.assertGreater(training["averaged_score"], self.report["best_score"])
        else:
            expected, _ = manager.load_best(self.report["best_epoch"])
            self.assertLessEqual(training["averaged_score"], self.report["best_score"])
        # `model.weights` is `model.variables` without the seed states.
        model = Seq2SeqLM.from_preset(self.preset_dir)
        float_expected = [e for e in expected if e.dtype.kind == "f"]
        self.assertAllClose(model.weights, float_expected, atol=1e-7)

    def test_metadata_scores_and_model_card(self):
        metadata = presets.verify_preset(self.preset_dir)
        info = metadata["keras_s2s"]
        self.assertEqual(info["name"], "tiny_en_de")
        self.assertEqual((info["source_language"], info["target_language"]), ("en", "de"))
        self.assertEqual(info["parameter_count"], self.parameter_count)
        pairs = {(s["split"], s["metric"]) for s in info["scores"]}
        self.assertEqual(
            pairs,
            {(split, metric) for split in ("val", "test_2016_flickr")
             for metric in ("multi30k_bleu", "sacrebleu", "chrf")},
        )
        for score in info["scores"]:
            self.assertGreaterEqual(score["value"], 0.0)
            self.assertEqual(score["examples"], 32)
            self.assertIn("version:", score["signature"])
        self.assertEqual(
            (info["headline_score"]["metric"], info["headline_score"]["split"]),
            ("chrf", "test_2016_flickr"),
        )
        self.assertEqual(info["training"]["epochs_run"], 2)
        self.assertEqual([h["epoch"] for h in info["training"]["history"]], [1, 2])
        self.assertEqual(info["recipe"]["name"], "tiny_en_de")
        self.assertEqual(info["command"], COMMAND)
        self.assertEqual(info["hardware"]["cpu_count"], os.cpu_count())
        for name in ("config.json", "task.json", "preprocessor.json", "model.weights.h5",
                     "README.md", "tokenizer.json", "assets/tokenizer/vocabulary.spm"):
            self.assertIn(name, metadata["files"])
            self.assertEqual(
                metadata["files"][name]["sha256"],
                presets.file_sha256(os.path.join(self.preset_dir, name)),
            )
        card = open(os.path.join(self.preset_dir, "README.md"), encoding="utf-8").read()
        for text in (COMMAND, f"{self.parameter_count:,}", "Hardware", "Backend: "
                     + keras.backend.backend(), "chrF", "test_2016_flickr",
                     'Seq2SeqLM.from_preset("tiny_en_de")', "Training time"):
            self.assertIn(text, card)
        headline = info["headline_score"]["value"]
        self.assertIn(f"**{headline:.2f}**", card)
        listed = presets.list_presets(self.presets_dir)
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["headline_score"]["value"], headline)
        self.assertEqual(listed[0]["languages"], "en-de")
        self.assertEqual(listed[0]["task"], "translation")
        self.assertEqual(
            listed[0]["size_bytes"],
            sum(entry["bytes"] for entry in metadata["files"].values()),
        )

    def test_an_existing_preset_is_not_overwritten(self):
        before = presets.compute_checksums(self.preset_dir)
        new_run = os.path.join(self.root, "never_created")
        trainer = Trainer(TINY, output_dir=self.preset_dir, checkpoint_dir=new_run,
                          verbose=0, data_dir=DATA_DIR)
        with pytest.raises(FileExistsError, match="already exists.*--overwrite"):
            trainer.run()
        # Refused before any work: no checkpoint directory was made.
        self.assertFalse(os.path.exists(new_run))
        model = Seq2SeqLM.from_preset(self.preset_dir)
        with pytest.raises(FileExistsError, match="left untouched"):
            write_preset(model, self.preset_dir, metadata={"task": "translation"})
        self.assertEqual(presets.compute_checksums(self.preset_dir), before)

        copy_dir = os.path.join(self.root, "copies", "tiny_en_de")
        write_preset(model, copy_dir, metadata={"task": "translation"}, model_card="# a")
        write_preset(model, copy_dir, metadata={"task": "translation"}, model_card="# b",
                     overwrite=True)
        self.assertEqual(open(os.path.join(copy_dir, "README.md")).read(), "# b")
        presets.verify_preset(copy_dir)
        # No temporary or old directories are left next to the preset.
        self.assertEqual(os.listdir(os.path.dirname(copy_dir)), ["tiny_en_de"])

    def test_resume_equals_the_uninterrupted_run_and_nan_keeps_the_last_checkpoint(self):
        run_dir = os.path.join(self.root, "resumed")
        state = Trainer(TINY, checkpoint_dir=run_dir, max_epochs=1, verbose=0,
                        data_dir=DATA_DIR).train()
        self.assertEqual(state["epoch"], 1)
        manager = CheckpointManager(run_dir)
        reference = CheckpointManager(self.run_dir)
        first = manager.load(1)
        self.assertAllClose(first["model"], reference.load_weights(1), atol=1e-6)

        # A non-finite loss in epoch 2 stops training and keeps epoch 1.
        poison = _PoisonWeights()
        poisoned = Trainer(TINY, checkpoint_dir=run_dir, max_epochs=2, verbose=0,
                           data_dir=DATA_DIR, callbacks=[poison])
        with pytest.raises(FloatingPointError, match=r"epoch 2.*epoch-0001\.ckpt\.npz"):
            poisoned.train()
        # TerminateOnNaN ended the epoch at its first batch (of 12).
        self.assertEqual(poison.batches, 1)
        self.assertEqual(manager.checkpoint_epochs(), [1])
        kept = manager.load(1)
        self.assertAllEqual(kept["model"], first["model"])
        self.assertTrue(all(np.all(np.isfinite(v)) for v in kept["model"]))

        # Resuming trains epoch 2 exactly as the uninterrupted run did.
        state = Trainer(TINY, checkpoint_dir=run_dir, max_epochs=2, verbose=0,
                        data_dir=DATA_DIR).train()
        self.assertEqual(state["epoch"], 2)
        uninterrupted = reference.load(2)
        resumed = manager.load(2)
        self.assertAllClose(resumed["model"], uninterrupted["model"], atol=1e-5)
        self.assertAllClose(resumed["optimizer"], uninterrupted["optimizer"], atol=1e-5)
        # Scheduled sampling: p = 0 in epoch 1, 0.3 in epoch 2, checkpointed.
        self.assertEqual(
            [h["sampling_probability"] for h in resumed["state"]["history"]], [0.0, 0.3]
        )
        self.assertAllClose(resumed["extra"][0], 0.3)
        self.assertAllEqual(resumed["extra"], uninterrupted["extra"])
        self.assertEqual(resumed["state"]["history"][0]["loss"],
                         uninterrupted["state"]["history"][0]["loss"])
        self.assertAllClose(resumed["state"]["history"][1]["loss"],
                            uninterrupted["state"]["history"][1]["loss"], atol=1e-5)

        # A truncated newest checkpoint: named, set aside, and training goes
        # on from the one before (both are kept) to the same weights.
        self.assertEqual(manager.checkpoint_epochs(), [1, 2])
        newest = manager.checkpoint_path(2)
        with open(newest, "r+b") as file:
            file.truncate(os.path.getsize(newest) // 2)
        output = io.StringIO()
        with pytest.warns(UserWarning, match=r"epoch-0002\.ckpt\.npz' is damaged"):
            with contextlib.redirect_stdout(output):
                state = Trainer(TINY, checkpoint_dir=run_dir, max_epochs=2, verbose=1,
                                data_dir=DATA_DIR).train()
        log = output.getvalue()
        self.assertRegex(log, r"Skipped a damaged checkpoint: .*epoch-0002\.ckpt\.npz")
        self.assertIn(f"Resuming from '{manager.checkpoint_path(1)}'", log)
        self.assertEqual(state["epoch"], 2)
        self.assertTrue(os.path.exists(newest + ".corrupt"))
        self.assertAllClose(manager.load(2)["model"], uninterrupted["model"], atol=1e-5)

        # The directory only resumes the run it was made for.
        other = copy.deepcopy(TINY)
        other["model"]["hidden_dim"] = 16
        with pytest.raises(ValueError, match="different recipe_fingerprint"):
            Trainer(other, checkpoint_dir=run_dir, verbose=0, data_dir=DATA_DIR).train()
        with pytest.raises(ValueError, match="different max_train_examples"):
            Trainer(TINY, checkpoint_dir=run_dir, max_train_examples=100, verbose=0,
                    data_dir=DATA_DIR).train()
