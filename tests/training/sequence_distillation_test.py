"""Sequence-level distillation: a tiny student trained on a tiny ensemble's outputs."""

import json
import os
import shutil
import tempfile

import keras
import pytest

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqEnsembleLM
from keras_s2s.models import Seq2SeqLM
from keras_s2s.presets import read_metadata
from keras_s2s.training import SequenceDistillationTrainer
from keras_s2s.training import Trainer
from keras_s2s.training import distill
from keras_s2s.training import distill_targets
from keras_s2s.training import sequence_distillation
from tests.presets.preset_fixtures import make_model
from tests.test_case import TestCase

DATA_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "shared", "data")
)
STUDENT = {
    "name": "tiny_en_de_student",
    "data": {
        "source_language": "en",
        "target_language": "de",
        "max_train_examples": 200,
        "max_validation_examples": 16,
        "max_test_examples": 16,
    },
    "tokenizer": {"vocabulary_size": 120},
    "preprocessor": {"encoder_sequence_length": 16, "decoder_sequence_length": 10},
    "model": {"embedding_dim": 8, "hidden_dim": 16, "cell_type": "gru",
              "attention_type": "luong", "input_feeding": False},
    "training": {"batch_size": 50, "epochs": 1},
    "validation": {"metric": "chrf", "batch_size": 16, "max_length": 8},
    "evaluation": {"batch_size": 16, "max_length": 8},
}
MAX_LENGTH = 8

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_data,
]


def make_teacher():
    """An untrained ensemble of two tiny models sharing one tokenizer."""
    first = make_model()
    preprocessor = first.preprocessor
    second = Seq2SeqLM(
        Seq2SeqBackbone(
            encoder_vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
            embedding_dim=8, hidden_dim=12, cell_type="lstm",
            attention_type="luong",
        ),
        preprocessor=preprocessor,
    )
    teacher = Seq2SeqEnsembleLM([first, second])
    teacher.compile(sampler="greedy", jit_compile=False)
    return teacher


class SequenceDistillationTest(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp()
        cls.run_dir = os.path.join(cls.root, "run")
        cls.preset_dir = os.path.join(cls.root, "student")
        keras.utils.set_random_seed(1337)
        cls.teacher = make_teacher()
        cls.trainer = SequenceDistillationTrainer(
            STUDENT, cls.teacher, teacher_name="tiny ensemble",
            translation_max_length=MAX_LENGTH, checkpoint_dir=cls.run_dir,
            output_dir=cls.preset_dir, verbose=0, data_dir=DATA_DIR,
        )
        cls.report = cls.trainer.run()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def test_the_student_trains_on_the_teachers_translations(self):
        sources, targets = self.trainer._train_data
        self.assertLen(sources, 200)
        expected = distill_targets(self.teacher, sources, max_length=MAX_LENGTH)
        self.assertEqual(targets, expected)
        # Not the references: the teacher is untrained.
        references = _reference_targets(self.trainer)
        self.assertNotEqual(targets, references)
        with open(os.path.join(self.run_dir, "distilled_targets.txt"), encoding="utf-8") as f:
            self.assertEqual([line.rstrip("\n") for line in f], targets)

    def test_preset_records_the_distillation(self):
        metadata = read_metadata(self.preset_dir)["keras_s2s"]
        record = metadata["distillation"]
        self.assertEqual(record["teacher"], "tiny ensemble")
        self.assertEqual(record["teacher_members"], 2)
        self.assertEqual(record["examples"], 200)
        self.assertEqual(record["search"]["class_name"], "GreedySampler")
        self.assertGreater(record["sentences_per_second"], 0)
        self.assertIn("distillation", metadata["training"]["notes"][-1])
        with open(os.path.join(self.preset_dir, "README.md"), encoding="utf-8") as f:
            self.assertIn("Kim & Rush", f.read())
        # Validation still scores against the references.
        self.assertEqual(len(self.report["history"]), 1)

    def test_resume_reuses_the_translations_and_refuses_another_teacher(self):
        calls = []
        original = sequence_distillation.distill_targets

        def counting(*args, **kwargs):
            calls.append(1)
            return original(*args, **kwargs)

        sequence_distillation.distill_targets = counting
        try:
            again = SequenceDistillationTrainer(
                STUDENT, self.teacher, translation_max_length=MAX_LENGTH,
                checkpoint_dir=self.run_dir, verbose=0, data_dir=DATA_DIR,
            )
            again.train()
            self.assertEqual(calls, [])
            self.assertEqual(again._train_data, self.trainer._train_data)
            other = SequenceDistillationTrainer(
                STUDENT, make_teacher(), translation_max_length=MAX_LENGTH,
                checkpoint_dir=self.run_dir, verbose=0, data_dir=DATA_DIR,
            )
            with self.assertRaisesRegex(ValueError, "another distillation"):
                other.train()
        finally:
            sequence_distillation.distill_targets = original

    def test_bad_teacher_raises(self):
        with self.assertRaisesRegex(ValueError, "with a preprocessor"):
            SequenceDistillationTrainer(STUDENT, None, data_dir=DATA_DIR)
        with self.assertRaisesRegex(ValueError, "with a preprocessor"):
            distill_targets(Seq2SeqLM(Seq2SeqBackbone(encoder_vocabulary_size=9)), ["a"])
        self.assertTrue(callable(distill))


def _reference_targets(trainer):
    """The recipe's own training targets (what `Trainer` would train on)."""
    return Trainer._load_split(
        trainer, trainer.recipe.data["train_split"], trainer.train_examples_limit
    )[1]
