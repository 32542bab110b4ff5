"""Copy attention and coverage in `Seq2SeqLM`: parity, search, training."""

import keras
import numpy as np
from keras import ops

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from keras_s2s.samplers import BeamSampler
from keras_s2s.samplers import ExactSampler
from keras_s2s.samplers import TopKSampler
from keras_s2s.samplers import TopPSampler
from tests.test_case import TestCase

VOCABULARY_SIZE = 20
# (name, extra backbone kwargs)
OPTIONS = [
    ("copy", {"copy_attention": True}),
    ("coverage", {"coverage": True}),
    ("both-lstm-2", {"copy_attention": True, "coverage": True,
                     "cell_type": "lstm", "num_decoder_layers": 2}),
]


def make_model(**kwargs):
    config = dict(
        encoder_vocabulary_size=VOCABULARY_SIZE,
        embedding_dim=8,
        hidden_dim=12,
        attention_type="bahdanau",
    )
    config.update(kwargs)
    return Seq2SeqLM(Seq2SeqBackbone(**config))


def make_inputs(batch_size=3, source_len=6, target_len=5, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([source_len, 3, 1][:batch_size])
    mask = np.arange(source_len)[None, :] < lengths[:, None]
    encoder_ids = np.where(mask, rng.integers(3, 20, (batch_size, source_len)), 0)
    return {
        "encoder_token_ids": encoder_ids.astype("int32"),
        "encoder_padding_mask": mask,
        "decoder_token_ids": rng.integers(3, 20, (batch_size, target_len)).astype(
            "int32"
        ),
        "decoder_padding_mask": np.ones((batch_size, target_len), bool),
    }


def prompt_inputs(x, max_length):
    prompt = np.zeros((x["encoder_token_ids"].shape[0], max_length), "int32")
    prompt[:, 0] = 1
    return {
        "encoder_token_ids": x["encoder_token_ids"],
        "encoder_padding_mask": x["encoder_padding_mask"],
        "decoder_token_ids": prompt,
        "decoder_padding_mask": prompt != 0,
    }


def sequence_log_probability(model, x, token_ids):
    """Teacher-forced log P of `token_ids[:, 1:]` given `token_ids[:, :-1]`."""
    inputs = dict(x)
    inputs["decoder_token_ids"] = token_ids[:, :-1].astype("int32")
    inputs["decoder_padding_mask"] = np.ones_like(token_ids[:, :-1], bool)
    log_probs = ops.convert_to_numpy(
        ops.log_softmax(model(inputs), axis=-1)
    )
    picked = np.take_along_axis(log_probs, token_ids[:, 1:, None], -1)[..., 0]
    return picked.sum(-1)


class Seq2SeqLMCopyCoverageTest(TestCase):
    def test_teacher_forcing_equals_step_by_step_and_outputs_are_log_probabilities(
        self,
    ):
        for name, extra in OPTIONS:
            with self.subTest(name):
                model = make_model(**extra)
                x = make_inputs()
                full = ops.convert_to_numpy(model(x))
                if extra.get("copy_attention"):
                    # The mixture is normalized: exp(log P) sums to 1.
                    np.testing.assert_allclose(np.exp(full).sum(-1), 1.0, atol=1e-5)
                cache = model.build_cache(
                    x["encoder_token_ids"], x["encoder_padding_mask"]
                )
                steps, weights = [], []
                for t in range(x["decoder_token_ids"].shape[1]):
                    logits, w, cache = model.call_decoder_step(
                        x["decoder_token_ids"][:, t], cache
                    )
                    steps.append(ops.convert_to_numpy(logits))
                    weights.append(ops.convert_to_numpy(w))
                np.testing.assert_allclose(np.stack(steps, 1), full, atol=1e-5)
                if extra.get("coverage"):
                    # The cached coverage is the sum of the step weights.
                    np.testing.assert_allclose(
                        ops.convert_to_numpy(cache["state"]["coverage"]),
                        np.sum(weights, 0),
                        atol=1e-5,
                    )

    def test_copy_mass_lands_on_source_ids(self):
        # With the switch forced to copying (p_gen = 0), the distribution is
        # the attention summed per source id: zero on ids not in the source.
        model = make_model(copy_attention=True)
        generator = model.backbone.copy_generator
        kernel, bias = generator.switch_dense.get_weights()
        generator.switch_dense.set_weights([kernel * 0, bias * 0 - 50.0])
        x = make_inputs()
        probabilities = np.exp(ops.convert_to_numpy(model(x)))
        weights = ops.convert_to_numpy(model.backbone(x)["attention_weights"])
        for b in range(3):
            expected = np.zeros((5, VOCABULARY_SIZE))
            for s, token in enumerate(x["encoder_token_ids"][b]):
                expected[:, token] += weights[b, :, s]
            np.testing.assert_allclose(probabilities[b], expected, atol=1e-5)

    def test_every_sampler_follows_the_step_scores(self):
        model = make_model(copy_attention=True, coverage=True)
        x = make_inputs(batch_size=2)
        x = {k: v[:2] for k, v in x.items()}
        inputs = prompt_inputs(x, max_length=5)
        cache = model.build_cache(x["encoder_token_ids"], x["encoder_padding_mask"])
        token, expected = inputs["decoder_token_ids"][:, 0], [inputs["decoder_token_ids"][:, 0]]
        for _ in range(4):
            logits, _, cache = model.call_decoder_step(token, cache)
            token = np.argmax(ops.convert_to_numpy(logits), -1).astype("int32")
            expected.append(token)
        greedy_ids = np.stack(expected, 1)
        # Searches that reduce to greedy decoding give its output.
        for sampler in (
            "greedy",
            BeamSampler(num_beams=1),
            TopKSampler(k=1, seed=1),
            TopPSampler(p=1e-6, seed=1),
        ):
            name = sampler if isinstance(sampler, str) else type(sampler).__name__
            with self.subTest(name):
                output = model.generate(inputs, stop_token_ids=None, sampler=sampler)
                self.assertAllEqual(output["decoder_token_ids"], greedy_ids)
        # Random sampling draws valid ids from the mixture.
        output = model.generate(inputs, stop_token_ids=None, sampler="random")
        ids = ops.convert_to_numpy(output["decoder_token_ids"])
        self.assertTrue(np.all((ids >= 0) & (ids < VOCABULARY_SIZE)))
        # Beam search and exact search find outputs at least as likely as
        # greedy's, and report their teacher-forced log-probabilities.
        greedy_score = sequence_log_probability(model, x, greedy_ids)
        beam = model.generate(inputs, stop_token_ids=None, sampler=BeamSampler(4))
        beam_ids = ops.convert_to_numpy(beam["decoder_token_ids"])
        self.assertTrue(
            np.all(sequence_log_probability(model, x, beam_ids) >= greedy_score - 1e-5)
        )
        exact = model.generate(
            inputs, stop_token_ids=None, sampler=ExactSampler(beam_size=2)
        )
        exact_ids = ops.convert_to_numpy(exact["decoder_token_ids"])
        exact_score = sequence_log_probability(model, x, exact_ids)
        self.assertTrue(np.all(ops.convert_to_numpy(exact["proven_optimal"])))
        np.testing.assert_allclose(
            ops.convert_to_numpy(exact["scores"]), exact_score, atol=1e-4
        )
        self.assertTrue(np.all(exact_score >= greedy_score - 1e-5))

    def test_fit_adds_the_weighted_coverage_loss(self):
        x = make_inputs()
        y = make_inputs(seed=1)["decoder_token_ids"]
        sample_weight = np.ones(y.shape, "float32")
        losses = {}
        for weight in (0.0, 2.5):
            model = make_model(copy_attention=True, coverage=True,
                               coverage_loss_weight=weight)
            if weight:
                model.set_weights(reference.get_weights())
            reference = model
            model.compile()
            losses[weight] = model.evaluate(
                x, y, sample_weight=sample_weight, verbose=0, return_dict=True
            )["loss"]
        penalty = ops.convert_to_numpy(model.backbone(x)["coverage_penalty"])
        self.assertAlmostEqual(
            losses[2.5] - losses[0.0], 2.5 * penalty.mean(), places=4
        )
        history = model.fit(
            x, y, sample_weight=sample_weight, epochs=3, verbose=0
        ).history
        self.assertLess(history["loss"][-1], history["loss"][0])

    def test_saving_round_trip(self):
        model = make_model(copy_attention=True, coverage=True, coverage_loss_weight=0.5)
        x = make_inputs()
        restored = self.run_model_saving_test(model, x, atol=1e-5)
        self.assertEqual(restored.backbone.get_config(), model.backbone.get_config())
        config = model.backbone.get_config()
        self.assertTrue(config["copy_attention"] and config["coverage"])
        self.assertEqual(config["coverage_loss_weight"], 0.5)
        revived = self.run_config_roundtrip_test(model.backbone)
        self.assertEqual(len(revived.weights), len(model.backbone.weights))

    def test_invalid_combinations_name_the_argument(self):
        with self.assertRaisesRegex(ValueError, "decoder_vocabulary_size"):
            make_model(copy_attention=True, decoder_vocabulary_size=17)
        with self.assertRaisesRegex(ValueError, "attention_type"):
            make_model(coverage=True, attention_type="luong")
        with self.assertRaisesRegex(ValueError, "loss_weight"):
            make_model(coverage=True, coverage_loss_weight=-1.0)
