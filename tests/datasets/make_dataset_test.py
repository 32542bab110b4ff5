import functools

import keras
import numpy as np
import pytest

from keras_s2s.datasets import load_cmudict
from keras_s2s.datasets import make_dataset
from keras_s2s.models.seq2seq_lm_preprocessor import Seq2SeqLMPreprocessor
from keras_s2s.tokenizers import SymbolTokenizer
from keras_s2s.tokenizers import compute_symbol_vocabulary
from tests.test_case import TestCase


@functools.lru_cache(maxsize=None)
def g2p_data():
    words, phonemes = load_cmudict("dev")
    return words[:200], phonemes[:200]


def g2p_preprocessor(length=24):
    words, phonemes = g2p_data()
    return Seq2SeqLMPreprocessor(
        encoder_tokenizer=SymbolTokenizer(compute_symbol_vocabulary(words)),
        decoder_tokenizer=SymbolTokenizer(
            compute_symbol_vocabulary(phonemes, split="whitespace"), split="whitespace"
        ),
        encoder_sequence_length=length,
        decoder_sequence_length=length,
    )


def tiny_model(encoder_vocabulary_size, decoder_vocabulary_size):
    """A minimal model consuming the preprocessor's four inputs."""
    encoder_ids = keras.Input((None,), dtype="int32", name="encoder_token_ids")
    encoder_mask = keras.Input((None,), dtype="bool", name="encoder_padding_mask")
    decoder_ids = keras.Input((None,), dtype="int32", name="decoder_token_ids")
    decoder_mask = keras.Input((None,), dtype="bool", name="decoder_padding_mask")
    source = keras.layers.Embedding(encoder_vocabulary_size, 8)(encoder_ids)
    weights = keras.ops.expand_dims(keras.ops.cast(encoder_mask, "float32"), -1)
    summary = keras.ops.sum(source * weights, axis=1, keepdims=True)
    target = keras.layers.Embedding(decoder_vocabulary_size, 8)(decoder_ids)
    hidden = target + summary
    hidden = hidden * keras.ops.expand_dims(keras.ops.cast(decoder_mask, "float32"), -1)
    logits = keras.layers.Dense(decoder_vocabulary_size)(hidden)
    return keras.Model(
        {
            "encoder_token_ids": encoder_ids,
            "encoder_padding_mask": encoder_mask,
            "decoder_token_ids": decoder_ids,
            "decoder_padding_mask": decoder_mask,
        },
        logits,
    )


class MakeDatasetTest(TestCase):
    def test_batches_match_the_preprocessor(self):
        words, phonemes = g2p_data()
        preprocessor = g2p_preprocessor()
        ds = make_dataset(words, phonemes, preprocessor, batch_size=64)
        batches = list(ds)
        self.assertEqual([b[1].shape[0] for b in batches], [64, 64, 64, 8])
        x, y, sample_weight = batches[0]
        expected = preprocessor((words[:64], phonemes[:64]))
        self.assertAllEqual((x, y, sample_weight), expected)

    def test_shuffle_is_seeded(self):
        words, phonemes = g2p_data()

        def order(seed):
            ds = make_dataset(words, phonemes, batch_size=50, shuffle=True, seed=seed)
            return [w.decode() for b in ds for w in b["encoder_text"].numpy()]

        first = order(7)
        self.assertEqual(first, order(7))
        self.assertNotEqual(first, words)
        self.assertEqual(sorted(first), sorted(words))

    def test_without_preprocessor_yields_strings(self):
        words, phonemes = g2p_data()
        batch = next(iter(make_dataset(words, phonemes, batch_size=3)))
        self.assertEqual(sorted(batch), ["decoder_text", "encoder_text"])
        self.assertEqual([t.decode() for t in batch["decoder_text"].numpy()], phonemes[:3])

    def test_bucketing_groups_lengths_and_trims_padding(self):
        words, phonemes = g2p_data()
        preprocessor = g2p_preprocessor(length=24)
        ds = make_dataset(
            words, phonemes, preprocessor, batch_size=16, bucket_boundaries=[6, 9, 12]
        )
        seen = 0
        for x, y, sample_weight in ds:
            lengths = np.maximum(
                np.sum(x["encoder_padding_mask"].numpy(), axis=1) - 1,
                np.sum(sample_weight.numpy(), axis=1) - 1,
            )
            # All pairs of a batch come from one bucket: [0,6), [6,9), [9,12), [12,...).
            buckets = np.digitize(lengths, [6, 9, 12])
            self.assertEqual(len(set(buckets.tolist())), 1)
            width = x["encoder_token_ids"].shape[1]
            self.assertIn(width, (7, 10, 13, 24))
            self.assertLessEqual(int(x["encoder_padding_mask"].numpy().sum(1).max()), width)
            self.assertIn(y.shape[1], (7, 10, 13, 24))
            self.assertEqual(y.shape, x["decoder_token_ids"].shape)
            seen += y.shape[0]
        self.assertEqual(seen, 200)

    def test_feeds_fit(self):
        words, phonemes = g2p_data()
        preprocessor = g2p_preprocessor()
        model = tiny_model(
            preprocessor.encoder_tokenizer.vocabulary_size(),
            preprocessor.decoder_tokenizer.vocabulary_size(),
        )
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        # Bucketed batches of two widths (11 or 24) on each side.
        ds = make_dataset(words, phonemes, preprocessor, batch_size=50, bucket_boundaries=[10])
        losses = model.fit(ds, epochs=2, verbose=0).history["loss"]
        self.assertLen(losses, 2)
        self.assertTrue(np.all(np.isfinite(losses)))
        self.assertLess(losses[-1], losses[0])

    def test_bad_input(self):
        with pytest.raises(ValueError, match=r"sources\[1\] is empty"):
            make_dataset(["a", " "], ["x", "y"])
        with pytest.raises(ValueError, match="2 sources and 1 targets"):
            make_dataset(["a", "b"], ["x"])
        with pytest.raises(ValueError, match="strictly increasing"):
            make_dataset(["a"], ["x"], bucket_boundaries=[5, 5])
        with pytest.raises(ValueError, match="bucket_batch_sizes"):
            make_dataset(["a"], ["x"], bucket_boundaries=[5], bucket_batch_sizes=[2])
        with pytest.raises(ValueError, match="batch_size"):
            make_dataset(["a"], ["x"], batch_size=0)
        with pytest.raises(ValueError, match=r"targets\[0\] is int"):
            make_dataset(["a"], [3])
