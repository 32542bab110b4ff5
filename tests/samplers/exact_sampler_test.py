import itertools

import numpy as np

from keras_s2s.samplers import BeamSampler
from keras_s2s.samplers import ExactSampler
from keras_s2s.samplers.sampler_utils import length_penalty_value
from tests.samplers.sampler_test_utils import BOS
from tests.samplers.sampler_test_utils import EOS
from tests.samplers.sampler_test_utils import make_inputs
from tests.samplers.sampler_test_utils import make_model
from tests.samplers.sampler_test_utils import output_length
from tests.samplers.sampler_test_utils import sequence_log_probs
from tests.test_case import TestCase

VOCABULARY_SIZE = 4  # pad 0, bos 1, eos 2, and token 3; all can be emitted
MAX_LENGTH = 7  # BOS + at most 6 output tokens
NON_STOP = [t for t in range(VOCABULARY_SIZE) if t != EOS]


def all_outputs(max_length=MAX_LENGTH, prefix=()):
    """Every complete output: up to 5 tokens + EOS, or 6 tokens, as rows."""
    slots = max_length - 1
    free = slots - len(prefix)
    rows = []
    for n in range(0, free):
        for body in itertools.product(NON_STOP, repeat=n):
            rows.append([BOS, *prefix, *body, EOS] + [0] * (free - n - 1))
    for body in itertools.product(NON_STOP, repeat=free):
        rows.append([BOS, *prefix, *body])
    return np.array(rows, "int32")


def score_all_outputs(model, x, prefix=()):
    """Every complete output and its log-probability for every example.

    Returns:
        `(candidates, log_probs)`: int `(num_outputs, MAX_LENGTH)` and float64
        `(batch_size, num_outputs)`.
    """
    candidates = all_outputs(prefix=prefix)
    num, batch = len(candidates), len(x["decoder_token_ids"])
    repeated = {k: np.repeat(v, num, axis=0) for k, v in x.items()}
    log_probs = sequence_log_probs(model, repeated, np.tile(candidates, (batch, 1)))
    return candidates, log_probs.reshape(batch, num)


def brute_force(scored, length_penalty=0.0, min_length=0, max_tokens=None):
    """The best output of each example among the scored outputs."""
    candidates, log_probs = scored
    lengths = np.array([output_length(row) for row in candidates])
    ends_with_stop = np.array([EOS in row[1:] for row in candidates])
    allowed = ~ends_with_stop | (lengths - 1 >= min_length)
    if max_tokens is not None:
        # At most `max_tokens` before the stop token, which is then forced.
        allowed &= ends_with_stop & (lengths - 1 <= max_tokens)
    penalties = np.array([length_penalty_value(n, length_penalty) for n in lengths])
    scores = np.where(allowed, log_probs / penalties, -np.inf)
    best = np.argmax(scores, axis=1)
    return candidates[best], scores[np.arange(len(best)), best]


class ExactSamplerTest(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = make_model(
            vocabulary_size=6, decoder_vocabulary_size=VOCABULARY_SIZE,
            sharpness=2.0, seed=9,
        )
        cls.x = make_inputs(batch_size=3, max_length=MAX_LENGTH,
                            vocabulary_size=6, seed=9)
        cls.scored = score_all_outputs(cls.model, cls.x)

    def check_against_brute_force(self, sampler, x=None, scored=None,
                                  **constraints):
        x = self.x if x is None else x
        scored = self.scored if scored is None else scored
        out = self.model.generate(x, stop_token_ids=[EOS], sampler=sampler)
        expected_ids, expected_scores = brute_force(scored, **constraints)
        ids = np.asarray(out["decoder_token_ids"])
        mask = np.asarray(out["decoder_padding_mask"])
        self.assertAllEqual(np.where(mask, ids, 0), expected_ids)
        self.assertAllClose(out["scores"], expected_scores, atol=1e-4)
        self.assertTrue(np.all(np.asarray(out["proven_optimal"])))
        return out

    def test_equals_brute_force_with_and_without_length_penalty(self):
        plain = self.check_against_brute_force(ExactSampler(beam_size=2))
        # Pruning: far fewer expansions than the 364 non-final prefixes.
        self.assertTrue(np.all(np.asarray(plain["num_expansions"]) < 364))
        penalized = self.check_against_brute_force(
            ExactSampler(length_penalty=1.0, beam_size=2), length_penalty=1.0
        )
        # Both short ([EOS]) and long optima occur, and the length penalty
        # changes some of them.
        lengths = {
            name: [output_length(row) for row in np.asarray(o["decoder_token_ids"])]
            for name, o in [("plain", plain), ("penalized", penalized)]
        }
        self.assertIn(1, lengths["plain"])
        self.assertGreater(max(lengths["plain"]), 1)
        self.assertNotEqual(lengths["plain"], lengths["penalized"])

    def test_equals_brute_force_with_min_length_and_max_length(self):
        self.check_against_brute_force(
            ExactSampler(min_length=2, beam_size=1), min_length=2
        )
        self.check_against_brute_force(
            ExactSampler(max_length_b=2, length_penalty=2.0, beam_size=1),
            max_tokens=2,
            length_penalty=2.0,
        )

    def test_equals_brute_force_with_forced_prefix(self):
        x = make_inputs(batch_size=3, max_length=MAX_LENGTH, vocabulary_size=6,
                        seed=3, prefix=[3, 0])
        scored = score_all_outputs(self.model, x, prefix=(3, 0))
        self.check_against_brute_force(ExactSampler(beam_size=1), x=x,
                                       scored=scored)

    def test_score_at_least_beam_score(self):
        model = make_model(seed=2)
        x = make_inputs(batch_size=4, max_length=6, seed=2)
        beam = model.generate(
            x, stop_token_ids=[EOS], sampler=BeamSampler(2, return_all_beams=True)
        )
        exact = model.generate(
            x, stop_token_ids=[EOS], sampler=ExactSampler(beam_size=2)
        )
        beam_scores = np.asarray(beam["scores"])[:, 0]
        exact_scores = np.asarray(exact["scores"])
        self.assertTrue(np.all(exact_scores >= beam_scores - 1e-5))
        # Beam search makes search errors on this model.
        self.assertTrue(np.any(exact_scores > beam_scores + 1e-3))
        # The reported scores are the outputs' log-probabilities.
        self.assertAllClose(
            exact_scores,
            sequence_log_probs(model, x, exact["decoder_token_ids"]),
            atol=1e-4,
        )

    def test_budget_returns_best_found_and_flags_it(self):
        sampler = ExactSampler(length_penalty=1.0, beam_size=1, max_expansions=2)
        with self.assertWarnsRegex(UserWarning, "max_expansions"):
            out = self.model.generate(self.x, stop_token_ids=[EOS],
                                      sampler=sampler)
        proven = np.asarray(out["proven_optimal"])
        self.assertFalse(np.all(proven))
        self.assertTrue(np.all(np.asarray(out["num_expansions"]) <= 2))
        _, optimal = brute_force(self.scored, length_penalty=1.0)
        self.assertTrue(np.all(np.asarray(out["scores"]) <= optimal + 1e-5))

    def test_compiled_sampler_runs_eagerly(self):
        model = make_model(vocabulary_size=6, decoder_vocabulary_size=4, seed=9)
        model.compile(sampler="exact")
        out = model.generate(self.x, stop_token_ids=[EOS])
        self.assertIn("proven_optimal", out)
        # The model's generate function is restored afterwards.
        self.assertIsNone(model.generate_function)

    def test_config_roundtrip(self):
        sampler = ExactSampler(
            length_penalty=0.5, min_length=1, max_length_a=1.0, max_length_b=2,
            beam_size=3, max_expansions=100,
        )
        revived = self.run_config_roundtrip_test(sampler)
        self.assertEqual(revived.max_expansions, 100)

    def test_bad_arguments(self):
        for kwargs, name in [
            ({"max_expansions": 0}, "max_expansions"),
            ({"beam_size": 0}, "beam_size"),
            ({"length_penalty": -1}, "length_penalty"),
            ({"min_length": 1.5}, "min_length"),
        ]:
            with self.subTest(name=name):
                with self.assertRaisesRegex(ValueError, name):
                    ExactSampler(**kwargs)
