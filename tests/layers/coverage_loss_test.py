import numpy as np
from keras import ops

from keras_s2s.layers import CoverageLoss
from tests.test_case import TestCase


class CoverageLossTest(TestCase):
    def test_penalty_and_added_loss_golden_values(self):
        layer = CoverageLoss(loss_weight=2.0)
        # Step 1 covers nothing; step 2 repeats 0.5 of position 0 and 0.25 of
        # position 1 already covered: min = [0.5, 0.25] -> 0.75; step 3 is
        # padding.
        weights = np.array(
            [[[0.75, 0.25], [0.5, 0.5], [0.0, 1.0]]], "float32"
        )
        mask = np.array([[True, True, False]])
        penalty = layer(weights, mask)
        self.assertAllClose(penalty, np.array([[0.0, 0.75, 0.0]]))
        # Mean over the 2 real steps, times the weight.
        self.assertAllClose(layer.losses[0], 2.0 * 0.75 / 2)

    def test_attending_to_new_positions_costs_nothing(self):
        weights = np.eye(3, dtype="float32")[None]  # a monotone alignment
        self.assertAllClose(CoverageLoss()(weights), np.zeros((1, 3)))

    def test_config_and_validation(self):
        layer = CoverageLoss(loss_weight=0.5)
        self.assertEqual(self.run_config_roundtrip_test(layer).loss_weight, 0.5)
        with self.assertRaisesRegex(ValueError, "loss_weight"):
            CoverageLoss(loss_weight=-1.0)
