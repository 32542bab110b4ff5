"""`keras-s2s translate --preset A --preset B` and `keras-s2s distill`."""

import json
import os

import pytest

from keras_s2s.datasets import load_multi30k
from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqEnsembleLM
from keras_s2s.models import Seq2SeqLM
from keras_s2s.models import Seq2SeqLMPreprocessor
from keras_s2s.presets import read_metadata
from keras_s2s.tokenizers import SentencePieceTokenizer
from keras_s2s.tokenizers import train_sentencepiece
from keras_s2s.training import translate
from tests.cli.cli_test_utils import DATA_DIR
from tests.cli.cli_test_utils import CLITestCase
from tests.cli.cli_test_utils import run_main
from tests.presets.preset_fixtures import make_preset

SENTENCES = ["a dog runs .", "two men play .", "two men"]
STUDENT = {
    "name": "tiny_en_de_student",
    "data": {"source_language": "en", "target_language": "de",
             "max_validation_examples": 4, "max_test_examples": 4},
    "tokenizer": {"vocabulary_size": 100},
    "preprocessor": {"encoder_sequence_length": 12, "decoder_sequence_length": 8},
    "model": {"embedding_dim": 8, "hidden_dim": 8, "cell_type": "gru",
              "attention_type": "luong", "input_feeding": False},
    "training": {"batch_size": 32, "epochs": 1},
    "validation": {"metric": "chrf", "batch_size": 8, "max_length": 8},
    "evaluation": {"batch_size": 8, "max_length": 8},
}


class EnsembleCommandsTest(CLITestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A second preset with the first one's tokenizer, other weights.
        preprocessor = cls.model.preprocessor
        second = Seq2SeqLM(
            Seq2SeqBackbone(
                encoder_vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
                embedding_dim=8, hidden_dim=12, cell_type="lstm",
                attention_type="luong",
            ),
            preprocessor=preprocessor,
        )
        second.compile(sampler="greedy")
        cls.second, cls.second_dir = make_preset(
            cls.presets_dir, name="tiny_test_en_de_2", model=second
        )
        cls.ensemble = Seq2SeqEnsembleLM([cls.model, cls.second])

    def test_translate_with_two_presets_decodes_with_their_ensemble(self):
        status, stdout, stderr = run_main(
            ["translate", "--preset", self.preset_dir, "--preset", self.second_dir,
             "--num-beams", "3", *SENTENCES]
        )
        self.assertEqual(status, 0, stderr)
        expected = self.ensemble.generate(
            SENTENCES, sampler={"class_name": "BeamSampler", "config": {"num_beams": 3}}
        )
        self.assertEqual(stdout.splitlines(), expected)
        alone = self.model.generate(
            SENTENCES, sampler={"class_name": "BeamSampler", "config": {"num_beams": 3}}
        )
        self.assertNotEqual(expected, alone)

    def test_presets_with_other_tokenizers_are_a_one_line_error(self):
        texts = ["the cat sat on the mat .", "die katze sass auf der matte ."]
        tokenizer = SentencePieceTokenizer(train_sentencepiece(texts * 20, vocabulary_size=25))
        other = Seq2SeqLM(
            Seq2SeqBackbone(encoder_vocabulary_size=tokenizer.vocabulary_size(),
                            embedding_dim=8, hidden_dim=8),
            preprocessor=Seq2SeqLMPreprocessor(
                tokenizer=tokenizer, encoder_sequence_length=8, decoder_sequence_length=8
            ),
        )
        _, other_dir = make_preset(self.presets_dir, name="tiny_other", model=other)
        status, _, stderr = run_main(
            ["translate", "--preset", self.preset_dir, "--preset", other_dir, "a dog"]
        )
        self.assertUserError(
            status, stderr, r"cannot decode as an ensemble.*(tokenizer|vocabulary)"
        )

    @pytest.mark.slow
    def test_distill_trains_a_student_on_the_ensembles_translations(self):
        recipe = os.path.join(self.tmp_dir, "student.json")
        with open(recipe, "w", encoding="utf-8") as file:
            json.dump(STUDENT, file)
        output = os.path.join(self.tmp_dir, "student")
        run_dir = os.path.join(self.tmp_dir, "run")
        status, stdout, stderr = run_main(
            ["distill", recipe, "--teacher", self.preset_dir, "--teacher", self.second_dir,
             "--output-dir", output, "--checkpoint-dir", run_dir, "--data-dir", DATA_DIR,
             "--max-train-examples", "32", "--sampler", "greedy", "--max-length", "8",
             "--verbose", "0"]
        )
        self.assertEqual(status, 0, stderr)
        self.assertIn("teacher: tiny_test_en_de + tiny_test_en_de_2", stdout)
        record = read_metadata(output)["keras_s2s"]["distillation"]
        self.assertEqual(record["teacher"], "tiny_test_en_de + tiny_test_en_de_2")
        self.assertEqual(record["examples"], 32)
        self.assertEqual(record["search"]["class_name"], "GreedySampler")
        with open(os.path.join(run_dir, "distilled_targets.txt"), encoding="utf-8") as f:
            targets = [line.rstrip("\n") for line in f]
        sources, _ = load_multi30k("train", "en", "de", data_dir=DATA_DIR)
        self.assertEqual(
            targets,
            translate(self.ensemble, sources[:32], batch_size=64, max_length=8,
                      sampler="greedy"),
        )
        self.assertIn("keras-s2s distill", read_metadata(output)["keras_s2s"]["command"])
