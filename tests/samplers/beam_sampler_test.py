import math

import numpy as np
from keras import ops

from keras_s2s.samplers import BeamSampler
from keras_s2s.samplers import GreedySampler
from tests.samplers.sampler_test_utils import BOS
from tests.samplers.sampler_test_utils import EOS
from tests.samplers.sampler_test_utils import bos_prompt
from tests.samplers.sampler_test_utils import initial_cache
from tests.samplers.sampler_test_utils import make_inputs
from tests.samplers.sampler_test_utils import make_model
from tests.samplers.sampler_test_utils import output_length
from tests.samplers.sampler_test_utils import sequence_log_probs
from tests.samplers.sampler_test_utils import table_next
from tests.test_case import TestCase

LOW = -30.0  # the logit of a token a constructed table rules out


def probabilities_table(max_length, vocabulary_size, rules, default=None):
    """A logits table from `{(index or None, previous): {token: prob}}`.

    Missing tokens get logit `LOW`; `None` as index applies at every index.
    """
    table = np.full((max_length, vocabulary_size, vocabulary_size), LOW, "float32")
    if default is not None:
        for token, prob in default.items():
            table[:, :, token] = math.log(prob)
    for (index, previous), probs in rules.items():
        indices = range(max_length) if index is None else [index]
        for i in indices:
            table[i, previous, :] = LOW
            for token, prob in probs.items():
                table[i, previous, token] = math.log(prob)
    return table


def run(sampler, table, batch_size=1, max_length=6, attention=None,
        source_mask=None, stop_token_ids=(EOS,), prompt=None, mask=None):
    if prompt is None:
        prompt, mask = bos_prompt(batch_size, max_length)
    return sampler(
        table_next(table, attention),
        ops.convert_to_tensor(prompt),
        cache=initial_cache(len(prompt)),
        index=1,
        mask=ops.convert_to_tensor(mask),
        stop_token_ids=stop_token_ids,
        source_mask=None if source_mask is None else ops.convert_to_tensor(source_mask),
    )


def generated_tokens(row):
    """The tokens after BOS up to and including the first EOS."""
    return [int(t) for t in row[1 : 1 + output_length(row)]]


def repeats(row, n):
    """True if an n-gram occurs twice in `row` up to its first EOS."""
    tokens = [int(t) for t in row[: 1 + output_length(row)]]
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))


def masked(outputs):
    """Generated ids with positions after the stop token set to 0."""
    ids = np.asarray(outputs["decoder_token_ids"])
    return np.where(np.asarray(outputs["decoder_padding_mask"]), ids, 0)


class BeamSamplerTest(TestCase):
    @classmethod
    def setUpClass(cls):
        # One random model and batch; each search is compiled once here.
        cls.model = make_model(seed=0)
        cls.x = make_inputs(batch_size=8, max_length=8, seed=0)
        generate = cls.model.generate
        cls.greedy = generate(cls.x, stop_token_ids=[EOS], sampler="greedy")
        cls.beam1 = generate(cls.x, stop_token_ids=[EOS], sampler=BeamSampler(1))
        cls.n_best = generate(
            cls.x,
            stop_token_ids=[EOS],
            sampler=BeamSampler(4, return_all_beams=True),
        )

    # ------------------------------------------------------ against a model

    def test_beam_size_one_equals_greedy(self):
        # Greedy keeps writing after a row's stop token; compare the outputs
        # up to it.
        self.assertAllEqual(
            self.beam1["decoder_padding_mask"], self.greedy["decoder_padding_mask"]
        )
        self.assertAllEqual(masked(self.beam1), masked(self.greedy))

    def test_generate_sampler_override_keeps_the_compiled_sampler(self):
        # setUpClass generated with `sampler=` overrides only.
        self.assertIsInstance(self.model.sampler, GreedySampler)
        self.assertEqual(self.model.sampler.get_config(), GreedySampler().get_config())

    def test_beam_size_one_equals_greedy_on_random_tables(self):
        rng = np.random.default_rng(0)
        for stop in [(EOS,), (EOS, 4), None]:
            with self.subTest(stop=stop):
                table = rng.normal(size=(7, 6, 6)).astype("float32") * 3
                greedy = run(GreedySampler(), table, batch_size=1, max_length=7,
                             stop_token_ids=stop)
                beam = run(BeamSampler(1), table, batch_size=1, max_length=7,
                           stop_token_ids=stop)
                greedy, beam = ops.convert_to_numpy(greedy), ops.convert_to_numpy(beam)
                end = 1 + output_length(beam[0], stop or ())
                self.assertAllEqual(beam[0, : end], greedy[0, : end])

    def test_beam_scores_at_least_greedy_scores_and_match_outputs(self):
        model, x = self.model, self.x
        greedy_scores = sequence_log_probs(model, x, self.greedy["decoder_token_ids"])
        ids = np.asarray(self.n_best["decoder_token_ids"])
        scores = np.asarray(self.n_best["scores"])
        self.assertEqual(ids.shape, (8, 4, 8))
        self.assertEqual(scores.shape, (8, 4))
        self.assertTrue(np.all(scores[:, 0] >= greedy_scores - 1e-4))
        # Beam search strictly beats greedy somewhere on this model.
        self.assertTrue(np.any(scores[:, 0] > greedy_scores + 1e-3))
        # The reported scores are the outputs' log-probabilities.
        repeated = {k: np.repeat(v, 4, axis=0) for k, v in x.items()}
        expected = sequence_log_probs(model, repeated, ids.reshape(32, 8))
        np.testing.assert_allclose(scores.reshape(-1), expected, atol=1e-4)
        # n-best is sorted and holds distinct hypotheses.
        self.assertTrue(np.all(np.diff(scores, axis=1) <= 1e-6))
        for row in ids:
            hypotheses = {tuple(generated_tokens(r)) for r in row}
            self.assertLen(hypotheses, 4)

    def test_best_beam_equals_first_of_n_best_on_random_tables(self):
        rng = np.random.default_rng(2)
        for length_penalty in (0.0, 1.0):
            with self.subTest(length_penalty=length_penalty):
                table = rng.normal(size=(7, 6, 6)).astype("float32") * 2
                best = run(BeamSampler(3, length_penalty=length_penalty), table,
                           batch_size=3, max_length=7)
                ids, _ = run(
                    BeamSampler(3, return_all_beams=True,
                                length_penalty=length_penalty),
                    table, batch_size=3, max_length=7,
                )
                self.assertAllEqual(best, ops.convert_to_numpy(ids)[:, 0])

    def test_forced_prefix_is_kept_and_scored(self):
        model = self.model
        x = make_inputs(batch_size=3, max_length=8, seed=5, prefix=[5, 6])
        out = model.generate(
            x, stop_token_ids=[EOS], sampler=BeamSampler(3, return_all_beams=True)
        )
        ids = np.asarray(out["decoder_token_ids"])
        self.assertTrue(np.all(ids[:, :, :3] == [BOS, 5, 6]))
        repeated = {k: np.repeat(v, 3, axis=0) for k, v in x.items()}
        expected = sequence_log_probs(model, repeated, ids.reshape(9, 8))
        np.testing.assert_allclose(
            np.asarray(out["scores"]).reshape(-1), expected, atol=1e-4
        )

    def test_no_repeat_ngram_size_on_a_model(self):
        plain_ids = np.asarray(self.n_best["decoder_token_ids"]).reshape(-1, 8)
        # The unconstrained model does repeat bigrams, so blocking matters.
        self.assertTrue(any(repeats(row, 2) for row in plain_ids))
        sampler = BeamSampler(4, return_all_beams=True, no_repeat_ngram_size=2)
        out = self.model.generate(self.x, stop_token_ids=[EOS], sampler=sampler)
        ids = np.asarray(out["decoder_token_ids"]).reshape(-1, 8)
        scores = np.asarray(out["scores"]).reshape(-1)
        for row, score in zip(ids, scores):
            if score > -1e8:
                self.assertFalse(repeats(row, 2), row)

    def test_no_repeat_ngram_size_on_random_tables(self):
        rng = np.random.default_rng(1)
        table = rng.normal(size=(9, 6, 6)).astype("float32") * 3
        table[:, :, EOS] -= 4.0  # long outputs
        for n in (1, 2, 3):
            with self.subTest(no_repeat_ngram_size=n):
                sampler = BeamSampler(3, return_all_beams=True,
                                      no_repeat_ngram_size=n)
                ids, scores = run(sampler, table, batch_size=2, max_length=9)
                ids = ops.convert_to_numpy(ids).reshape(-1, 9)
                scores = ops.convert_to_numpy(scores).reshape(-1)
                for row, score in zip(ids, scores):
                    if score > -1e8:
                        self.assertFalse(repeats(row, n), row)

    def test_no_repeat_ngram_golden(self):
        # Token 3 is always preferred, then 4, then 5; EOS is unlikely.
        table = probabilities_table(
            8, 6, {}, default={3: 0.5, 4: 0.3, 5: 0.19, EOS: 0.01}
        )
        out = run(BeamSampler(1, no_repeat_ngram_size=2), table, max_length=8)
        # 3 3 | "3 3" blocked -> 4 | 3 | "3 3", "3 4" blocked -> 5 | 3 | ...
        self.assertAllEqual(out[0, :7], np.array([BOS, 3, 3, 4, 3, 5, 3]))

    # -------------------------------------------------- constructed cases

    def test_finished_hypothesis_is_frozen_and_not_extended(self):
        # EOS first is the best output; after EOS, token 3 is (a trap) near
        # certain, so extending a finished hypothesis would keep it on top.
        table = probabilities_table(
            6,
            5,
            {
                (1, BOS): {EOS: 0.6, 3: 0.3, 4: 0.1},
                (None, EOS): {3: 0.999, 4: 0.001},
                (None, 3): {EOS: 0.5, 3: 0.25, 4: 0.25},
                (None, 4): {EOS: 0.5, 3: 0.25, 4: 0.25},
            },
        )
        ids, scores = run(BeamSampler(2, return_all_beams=True), table)
        ids, scores = ops.convert_to_numpy(ids), ops.convert_to_numpy(scores)
        self.assertAllEqual(ids[0, 0], np.array([BOS, EOS, 0, 0, 0, 0]))
        self.assertAllClose(scores[0, 0], math.log(0.6), atol=1e-5)
        self.assertAllEqual(ids[0, 1], np.array([BOS, 3, EOS, 0, 0, 0]))
        self.assertAllClose(scores[0, 1], math.log(0.3 * 0.5), atol=1e-5)
        # Nothing follows an EOS in any returned hypothesis.
        for row in ids[0]:
            end = 1 + output_length(row)
            self.assertTrue(np.all(row[end:] == 0))

    def test_length_penalty_flips_preferred_hypothesis(self):
        table = probabilities_table(
            7,
            5,
            {
                (1, BOS): {EOS: 0.4, 3: 0.6},
                (2, 3): {4: 0.85, EOS: 0.15},
                (3, 4): {4: 0.85, EOS: 0.15},
                (4, 4): {4: 0.85, EOS: 0.15},
                (5, 4): {EOS: 0.85, 4: 0.15},
                (6, 4): {EOS: 0.85, 4: 0.15},
            },
        )
        short = run(BeamSampler(2, return_all_beams=True), table, max_length=7)
        self.assertAllEqual(short[0][0, 0], np.array([BOS, EOS, 0, 0, 0, 0, 0]))
        self.assertAllClose(short[1][0, 0], math.log(0.4), atol=1e-5)
        long = run(
            BeamSampler(2, return_all_beams=True, length_penalty=1.0),
            table,
            max_length=7,
        )
        self.assertAllEqual(long[0][0, 0], np.array([BOS, 3, 4, 4, 4, EOS, 0]))
        expected = math.log(0.6 * 0.85**4) / ((5 + 5) / 6)
        self.assertAllClose(long[1][0, 0], expected, atol=1e-5)
        # The short hypothesis is still in the pool, scored with lp(1) = 1.
        self.assertAllClose(long[1][0, 1], math.log(0.4), atol=1e-5)

    def test_coverage_penalty_changes_choice(self):
        # Source of 3 positions, the last one padding. EOS first attends
        # [0.9, 0.1]; "3 EOS" attends [0.9, 0.1] then [0.1, 0.9].
        table = probabilities_table(
            5,
            5,
            {
                (1, BOS): {EOS: 0.6, 3: 0.4},
                (2, 3): {EOS: 0.9, 4: 0.1},
                (None, 4): {EOS: 0.9, 4: 0.1},
            },
        )
        attention = np.zeros((5, 5, 3), "float32")
        attention[1, BOS] = [0.9, 0.1, 0.0]
        attention[2, 3] = [0.1, 0.9, 0.0]
        attention[:, 4] = [0.5, 0.5, 0.0]
        source_mask = np.array([[True, True, False]])
        plain = run(
            BeamSampler(2, return_all_beams=True), table, max_length=5,
            attention=attention, source_mask=source_mask,
        )
        self.assertAllEqual(plain[0][0, 0, :3], np.array([BOS, EOS, 0]))
        beta = 0.5
        covered = run(
            BeamSampler(2, return_all_beams=True, coverage_penalty=beta),
            table, max_length=5, attention=attention, source_mask=source_mask,
        )
        self.assertAllEqual(covered[0][0, 0, :3], np.array([BOS, 3, EOS]))
        # "3 EOS" covers both real positions fully: no penalty.
        self.assertAllClose(covered[1][0, 0], math.log(0.4 * 0.9), atol=1e-5)
        expected = math.log(0.6) + beta * (math.log(0.9) + math.log(0.1))
        self.assertAllClose(covered[1][0, 1], expected, atol=1e-5)

    def test_min_length_is_respected(self):
        table = probabilities_table(
            7, 5, {}, default={EOS: 0.7, 3: 0.2, 4: 0.1}
        )
        for min_length in (0, 1, 3):
            with self.subTest(min_length=min_length):
                sampler = BeamSampler(
                    3, return_all_beams=True, min_length=min_length
                )
                ids, scores = run(sampler, table, max_length=7)
                ids = ops.convert_to_numpy(ids)
                for row in ids[0]:
                    self.assertGreaterEqual(output_length(row) - 1, min_length)
                # The best output is min_length times token 3, then EOS.
                self.assertAllEqual(
                    ids[0, 0, 1 : min_length + 2], np.array([3] * min_length + [EOS])
                )
                expected = math.log(0.2) * min_length + math.log(0.7)
                self.assertAllClose(scores[0, 0], expected, atol=1e-5)

    def test_max_length_relative_to_source(self):
        # EOS is unlikely: without a limit outputs fill the prompt.
        table = probabilities_table(
            10, 5, {}, default={EOS: 0.01, 3: 0.6, 4: 0.39}
        )
        source_mask = np.arange(6)[None, :] < np.array([[2], [3], [5]])
        sampler = BeamSampler(2, max_length_a=1.0, max_length_b=1.0)
        ids = ops.convert_to_numpy(
            run(sampler, table, batch_size=3, max_length=10,
                source_mask=source_mask)
        )
        for row, source_length in zip(ids, [2, 3, 5]):
            # src_len + 1 tokens, then the forced EOS, then padding.
            limit = source_length + 1
            self.assertEqual(output_length(row), limit + 1)
            self.assertEqual(row[limit + 1], EOS)
            self.assertTrue(np.all(row[limit + 2 :] == 0))
        # Without stop tokens the outputs end at the limit.
        ids = ops.convert_to_numpy(
            run(sampler, table, batch_size=3, max_length=10,
                source_mask=source_mask, stop_token_ids=None)
        )
        for row, source_length in zip(ids, [2, 3, 5]):
            limit = source_length + 1
            self.assertTrue(np.all(row[1 : limit + 1] != 0))
            self.assertTrue(np.all(row[limit + 1 :] == 0))

    def test_without_stop_tokens_fills_the_prompt(self):
        table = probabilities_table(5, 5, {}, default={3: 0.7, 4: 0.3})
        ids, scores = run(
            BeamSampler(2, return_all_beams=True), table, max_length=5,
            stop_token_ids=None,
        )
        self.assertAllEqual(ids[0, 0], np.array([BOS, 3, 3, 3, 3]))
        self.assertAllClose(scores[0, 0], 4 * math.log(0.7), atol=1e-5)
        self.assertAllClose(scores[0, 1], 3 * math.log(0.7) + math.log(0.3),
                            atol=1e-5)

    # ------------------------------------------------------------- config

    def test_config_roundtrip(self):
        sampler = BeamSampler(
            num_beams=3, return_all_beams=True, length_penalty=0.6,
            coverage_penalty=0.2, min_length=1, max_length_a=1.5,
            max_length_b=4, no_repeat_ngram_size=3, temperature=0.5,
        )
        revived = self.run_config_roundtrip_test(sampler)
        self.assertEqual(revived.num_beams, 3)
        self.assertEqual(revived.temperature, 0.5)

    def test_bad_arguments(self):
        cases = [
            ({"num_beams": 0}, "num_beams"),
            ({"num_beams": 2.5}, "num_beams"),
            ({"length_penalty": -1.0}, "length_penalty"),
            ({"coverage_penalty": -0.1}, "coverage_penalty"),
            ({"min_length": -1}, "min_length"),
            ({"max_length_a": -1.0}, "max_length_a"),
            ({"no_repeat_ngram_size": -2}, "no_repeat_ngram_size"),
            ({"temperature": 0.0}, "temperature"),
            ({"return_all_beams": "yes"}, "return_all_beams"),
        ]
        for kwargs, name in cases:
            with self.subTest(name=name):
                with self.assertRaisesRegex(ValueError, name):
                    BeamSampler(**kwargs)

    def test_coverage_and_relative_length_need_the_source_mask(self):
        table = probabilities_table(4, 5, {}, default={3: 0.5, EOS: 0.5})
        with self.assertRaisesRegex(ValueError, "coverage_penalty"):
            run(BeamSampler(2, coverage_penalty=0.1), table, max_length=4)
        with self.assertRaisesRegex(ValueError, "max_length_a"):
            run(BeamSampler(2, max_length_a=1.0), table, max_length=4)
