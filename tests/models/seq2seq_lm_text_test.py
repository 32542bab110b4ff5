"""Raw strings end to end: `fit` on Multi30k pairs and `generate` on strings."""

import os

import keras
import numpy as np
import pytest

from keras_s2s.datasets import load_multi30k
from keras_s2s.datasets import make_dataset
from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from keras_s2s.models import Seq2SeqLMPreprocessor
from keras_s2s.tokenizers import SentencePieceTokenizer
from keras_s2s.tokenizers import train_sentencepiece
from tests.test_case import TestCase
from tests.shared_data import require_shared_data

SHARED_DATA_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "shared", "data")
)


@pytest.fixture(autouse=True)
def _shared_data_dir(monkeypatch):
    if not os.path.isdir(SHARED_DATA_DIR):
        require_shared_data()
    monkeypatch.setenv("KERAS_S2S_DATA_DIR", SHARED_DATA_DIR)


class Seq2SeqLMTextTest(TestCase):
    def test_fit_on_string_pairs_and_generate_strings(self):
        sources, targets = load_multi30k("train", "de", "en")
        sources, targets = sources[:256], targets[:256]
        tokenizer = SentencePieceTokenizer(
            proto=train_sentencepiece(sources + targets, vocabulary_size=300)
        )
        preprocessor = Seq2SeqLMPreprocessor(
            tokenizer=tokenizer, encoder_sequence_length=24, decoder_sequence_length=24
        )
        backbone = Seq2SeqBackbone(
            encoder_vocabulary_size=tokenizer.vocabulary_size(),
            embedding_dim=16,
            hidden_dim=32,
            cell_type="lstm",
            attention_type="luong",
            input_feeding=False,
        )
        model = Seq2SeqLM(backbone, preprocessor=preprocessor)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), sampler="greedy")
        dataset = make_dataset(sources, targets, batch_size=32)
        history = model.fit(dataset, epochs=3, verbose=0)
        losses = history.history["loss"]
        self.assertLess(losses[-1], losses[0])

        outputs = model.generate(["Ein Hund rennt.", "Zwei Männer spielen Fußball."],
                                 max_length=12)
        self.assertLen(outputs, 2)
        self.assertTrue(all(isinstance(o, str) for o in outputs))
        # A scalar string in, a string out.
        self.assertIsInstance(model.generate("Ein Hund rennt.", max_length=12), str)

        # Saved with its tokenizer, the model generates the same strings.
        path = os.path.join(self.tmp_dir, "text_model.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
        restored.compile(sampler="greedy")
        self.assertEqual(
            restored.generate(["Ein Hund rennt.", "Zwei Männer spielen Fußball."],
                              max_length=12),
            outputs,
        )
