import numpy as np

from keras_s2s.samplers import BeamSampler
from keras_s2s.samplers import ExactSampler
from keras_s2s.samplers import search_error_report
from tests.samplers.sampler_test_utils import EOS
from tests.samplers.sampler_test_utils import make_inputs
from tests.samplers.sampler_test_utils import make_model
from tests.test_case import TestCase


class SearchErrorReportTest(TestCase):
    def test_report_matches_beam_and_exact_outputs(self):
        model = make_model(seed=2)
        x = make_inputs(batch_size=6, max_length=6, seed=2)
        report = search_error_report(
            model, x, stop_token_ids=[EOS], num_beams=2, batch_size=4
        )
        beam = model.generate(
            x, stop_token_ids=[EOS], sampler=BeamSampler(2, return_all_beams=True)
        )
        exact = model.generate(
            x, stop_token_ids=[EOS], sampler=ExactSampler(beam_size=2)
        )
        beam_scores = np.asarray(beam["scores"])[:, 0]
        exact_scores = np.asarray(exact["scores"])
        gap = exact_scores - beam_scores
        self.assertEqual(report["num_examples"], 6)
        self.assertAlmostEqual(report["search_error_rate"], np.mean(gap > 1e-4))
        self.assertAlmostEqual(
            report["mean_score_gap"], np.mean(np.maximum(gap, 0)), places=5
        )
        # This model prefers the empty output for some sources, and beam
        # search misses some of them.
        exact_empty = np.asarray(exact["decoder_token_ids"])[:, 1] == EOS
        beam_empty = np.asarray(beam["decoder_token_ids"])[:, 0, 1] == EOS
        self.assertAlmostEqual(report["exact_empty_rate"], np.mean(exact_empty))
        self.assertAlmostEqual(report["beam_empty_rate"], np.mean(beam_empty))
        self.assertGreater(report["search_error_rate"], 0.0)
        self.assertEqual(report["proven_optimal_rate"], 1.0)
