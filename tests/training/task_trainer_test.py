"""End-to-end: tiny G2P (symbol tokenizers, WER minimized) and E2E (copy attention) runs."""

import json
import os
import shutil
import tempfile

import pytest

from keras_s2s.datasets import load_cmudict_references
from keras_s2s.datasets import load_e2e_references
from keras_s2s.metrics import e2e_bleu
from keras_s2s.metrics import g2p_error_rates
from keras_s2s.metrics import slot_value_coverage
from keras_s2s.models import Seq2SeqLM
from keras_s2s.training import Trainer
from tests.cli.cli_test_utils import run_main
from tests.test_case import TestCase

DATA_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "shared", "data")
)
MODEL = {
    "embedding_dim": 16,
    "hidden_dim": 32,
    "cell_type": "lstm",
    "attention_type": "luong",
    "input_feeding": False,
}
TRAINING = {"batch_size": 32, "epochs": 3, "early_stopping_patience": None}
OPTIMIZER = {"class_name": "Adam", "config": {"learning_rate": 0.02}}
G2P = {
    "name": "tiny_g2p",
    "data": {"dataset": "cmudict", "max_train_examples": 320, "max_validation_examples": 24},
    "tokenizer": {"type": "symbol", "normalize_case": "upper"},
    "preprocessor": {"encoder_sequence_length": 24, "decoder_sequence_length": 24},
    "model": MODEL,
    "optimizer": OPTIMIZER,
    "training": TRAINING,
    "validation": {"batch_size": 24, "max_length": 16},
}
E2E = {
    "name": "tiny_e2e",
    "data": {"dataset": "e2e", "max_train_examples": 320, "max_validation_examples": 8},
    "tokenizer": {"vocabulary_size": 300},
    "preprocessor": {"encoder_sequence_length": 48, "decoder_sequence_length": 32},
    "model": dict(MODEL, copy_attention=True, tie_embeddings=True),
    "optimizer": OPTIMIZER,
    "training": dict(TRAINING, epochs=2),
    "validation": {"batch_size": 8, "max_length": 24},
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_data,
]


def _train(recipe, root):
    trainer = Trainer(
        recipe,
        output_dir=os.path.join(root, recipe["name"]),
        checkpoint_dir=os.path.join(root, "runs", recipe["name"]),
        data_dir=DATA_DIR,
        verbose=0,
    )
    return trainer.run()


def _outputs(root, name, split, language):
    path = os.path.join(root, "runs", name, "outputs", f"{split}.{language}.txt")
    with open(path, encoding="utf-8") as file:
        return file.read().split("\n")[:-1]


class G2PTrainerTest(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp()
        cls.result = _train(G2P, cls.root)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def test_selection_minimizes_wer(self):
        history = [entry["validation_score"] for entry in self.result["history"]]
        self.assertEqual(len(history), 3)
        self.assertEqual(self.result["best_score"], min(history))
        self.assertEqual(history[self.result["best_epoch"] - 1], min(history))

    def test_scores_are_wer_and_per_of_the_written_outputs(self):
        # Dev words that have a variant in train are not scored (see CMUdictData).
        words, references = load_cmudict_references("dev", data_dir=DATA_DIR, unseen_in="train")
        outputs = _outputs(self.root, "tiny_g2p", "dev", "arpabet")
        self.assertEqual(len(outputs), 24)
        rates = g2p_error_rates(outputs, references[:24])
        scores = {s["metric"]: s["value"] for s in self.result["scores"]}
        self.assertEqual(sorted(scores), ["per", "wer"])
        self.assertAlmostEqual(scores["wer"], round(rates["wer"], 2))
        self.assertAlmostEqual(scores["per"], round(rates["per"], 2))
        self.assertEqual(self.result["headline_score"]["metric"], "wer")

    def test_preset_reads_words_in_any_case_and_writes_phonemes(self):
        model = Seq2SeqLM.from_preset(os.path.join(self.root, "tiny_g2p"))
        upper, lower = model.generate(["CAT", "cat"])
        self.assertEqual(upper, lower)
        vocabulary = set(model.preprocessor.decoder_tokenizer.get_vocabulary())
        self.assertTrue(upper.split())
        self.assertLessEqual(set(upper.split()), vocabulary)
        with open(os.path.join(self.root, "tiny_g2p", "metadata.json"), encoding="utf-8") as file:
            metadata = json.load(file)["keras_s2s"]
        self.assertEqual(metadata["task"], "grapheme-to-phoneme")
        # The command line takes a word per line, like generate().
        status, stdout, _ = run_main(
            ["generate", "--preset", os.path.join(self.root, "tiny_g2p"), "--sampler",
             "greedy", "-q"],
            stdin="cat\nDOG\n",
        )
        self.assertEqual(status, 0)
        model.compile(sampler="greedy")
        self.assertEqual(stdout.splitlines(), model.generate(["cat", "DOG"]))
        self.assertEqual(
            (metadata["source_language"], metadata["target_language"]), ("graphemes", "arpabet")
        )


class E2ETrainerTest(TestCase):
    def test_copy_attention_run_scores_grouped_references(self):
        root = tempfile.mkdtemp()
        try:
            result = _train(E2E, root)
            mrs, references = load_e2e_references("dev", data_dir=DATA_DIR)
            outputs = _outputs(root, "tiny_e2e", "dev", "en")
            self.assertEqual(len(outputs), 8)
            scores = {s["metric"]: s["value"] for s in result["scores"]}
            self.assertEqual(sorted(scores), ["e2e_bleu", "rouge_l", "slot_coverage"])
            self.assertAlmostEqual(
                scores["e2e_bleu"], round(e2e_bleu(outputs, references[:8]).score, 2)
            )
            self.assertAlmostEqual(
                scores["slot_coverage"], round(slot_value_coverage(outputs, mrs[:8]), 2)
            )
            model = Seq2SeqLM.from_preset(os.path.join(root, "tiny_e2e"))
            self.assertTrue(model.backbone.copy_attention)
            status, stdout, _ = run_main(
                ["evaluate", "--preset", os.path.join(root, "tiny_e2e"), "--max-examples",
                 "8", "--json", "--data-dir", DATA_DIR],
            )
            self.assertEqual(status, 0)
            measured = {s["metric"]: s["score"] for s in json.loads(stdout)["scores"]}
            # The preset's recorded search (greedy here) gives the same scores.
            self.assertEqual(measured, scores)
        finally:
            shutil.rmtree(root, ignore_errors=True)
