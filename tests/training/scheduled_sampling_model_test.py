import keras
import numpy as np
import pytest
from keras import ops

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from keras_s2s.training import ScheduledSamplingModel
from keras_s2s.training import scheduled_sampling_probability
from tests.test_case import TestCase

VOCAB = 16


def make_lm(dropout=0.0):
    backbone = Seq2SeqBackbone(
        encoder_vocabulary_size=VOCAB,
        embedding_dim=8,
        hidden_dim=16,
        cell_type="gru",
        attention_type="luong",
        input_feeding=False,
        dropout=dropout,
    )
    return Seq2SeqLM(backbone)


def make_inputs(batch_size=6, length=7, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, length + 1, size=batch_size)
    decoder_mask = np.arange(length)[None, :] < lengths[:, None]
    decoder = rng.integers(4, VOCAB, size=(batch_size, length)).astype("int32")
    decoder[:, 0] = 2
    decoder = np.where(decoder_mask, decoder, 0).astype("int32")
    return {
        "encoder_token_ids": rng.integers(4, VOCAB, size=(batch_size, 5)).astype("int32"),
        "encoder_padding_mask": np.ones((batch_size, 5), bool),
        "decoder_token_ids": decoder,
        "decoder_padding_mask": decoder_mask,
    }


def shifted_guesses(lm, x):
    guesses = np.argmax(ops.convert_to_numpy(lm(x, training=False)), axis=-1)
    return np.concatenate([x["decoder_token_ids"][:, :1], guesses[:, :-1]], axis=1)


class ScheduledSamplingProbabilityTest(TestCase):
    def test_linear_ramp(self):
        values = [scheduled_sampling_probability(e, 0.25, 3, 5) for e in range(1, 10)]
        self.assertAllClose(values, [0, 0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.25, 0.25])
        self.assertEqual(scheduled_sampling_probability(4, 0.4, 4, 0), 0.4)
        self.assertEqual(scheduled_sampling_probability(3, 0.4, 4, 0), 0.0)


class ScheduledSamplingModelTest(TestCase):
    def test_probability_zero_is_teacher_forcing(self):
        lm = make_lm()
        model = ScheduledSamplingModel(lm, sampling_probability=0.0, seed=1)
        x = make_inputs()
        self.assertAllEqual(model.mix_decoder_inputs(x), x["decoder_token_ids"])
        self.assertAllClose(model(x, training=True), lm(x), atol=1e-6)
        self.assertAllClose(model(x, training=False), lm(x), atol=1e-6)

    def test_probability_one_feeds_the_shifted_greedy_guesses(self):
        lm = make_lm()
        model = ScheduledSamplingModel(lm, sampling_probability=1.0, seed=1)
        x = make_inputs()
        expected_ids = np.where(
            x["decoder_padding_mask"], shifted_guesses(lm, x), x["decoder_token_ids"]
        )
        # Position 0 keeps <s>; padded positions keep <pad>.
        self.assertAllEqual(expected_ids[:, 0], x["decoder_token_ids"][:, 0])
        self.assertAllEqual(model.mix_decoder_inputs(x), expected_ids)
        expected = lm(dict(x, decoder_token_ids=expected_ids))
        self.assertAllClose(model(x, training=True), expected, atol=1e-6)

    def test_replacement_rate_follows_the_probability(self):
        lm = make_lm()
        model = ScheduledSamplingModel(lm, sampling_probability=0.3, seed=3)
        x = make_inputs(batch_size=200, length=12, seed=1)
        guesses = shifted_guesses(lm, x)
        eligible = (
            x["decoder_padding_mask"]
            & (np.arange(12)[None, :] > 0)
            & (guesses != x["decoder_token_ids"])
        )
        mixed = ops.convert_to_numpy(model.mix_decoder_inputs(x))
        replaced = (mixed != x["decoder_token_ids"])
        # Only eligible positions change, each to the guess.
        self.assertFalse(np.any(replaced & ~eligible))
        self.assertAllEqual(mixed[replaced], guesses[replaced])
        rate = replaced[eligible].mean()
        self.assertGreater(eligible.sum(), 500)
        self.assertLess(abs(rate - 0.3), 0.06)
        # The probability is a variable: a new value applies without rebuilding.
        model.sampling_probability.assign(0.0)
        self.assertAllEqual(model.mix_decoder_inputs(x), x["decoder_token_ids"])

    def test_fit_trains_the_shared_weights(self):
        lm = make_lm(dropout=0.1)
        model = ScheduledSamplingModel(lm, sampling_probability=0.25, seed=2)
        model.compile(
            optimizer=keras.optimizers.Adam(0.02),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        x = make_inputs(batch_size=64, length=6, seed=4)
        # Copy task on the decoder side: predict the next true token.
        y = np.concatenate(
            [x["decoder_token_ids"][:, 1:], np.zeros((64, 1), "int32")], axis=1
        )
        before = ops.convert_to_numpy(lm.backbone.token_embedding.embeddings).copy()
        history = model.fit(x, y, sample_weight=x["decoder_padding_mask"].astype("float32"),
                            batch_size=16, epochs=4, verbose=0)
        losses = history.history["loss"]
        self.assertLess(losses[-1], losses[0])
        after = ops.convert_to_numpy(lm.backbone.token_embedding.embeddings)
        self.assertGreater(np.abs(after - before).max(), 1e-3)
        self.assertEqual(len(model.trainable_variables), len(lm.trainable_variables))

    def test_config_round_trip(self):
        model = ScheduledSamplingModel(make_lm(), sampling_probability=0.4, seed=5)
        config = model.get_config()
        revived = ScheduledSamplingModel.from_config(config)
        self.assertEqual(revived.seed, 5)
        self.assertAllClose(revived.sampling_probability, 0.4)
        self.assertEqual(
            revived.seq2seq_lm.backbone.get_config(), model.seq2seq_lm.backbone.get_config()
        )

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="sampling_probability"):
            ScheduledSamplingModel(make_lm(), sampling_probability=1.5)
        with pytest.raises(ValueError, match="Seq2SeqLM"):
            ScheduledSamplingModel(keras.layers.Dense(2))
