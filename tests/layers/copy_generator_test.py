import numpy as np
from keras import ops

from keras_s2s.layers import CopyGenerator
from keras_s2s.layers.copy_generator import copy_log_probabilities
from tests.test_case import TestCase


class CopyGeneratorTest(TestCase):
    def test_mixture_golden_values(self):
        # Uniform vocabulary distribution over 4 ids, p_gen = 0.5, attention
        # 0.75 / 0.25 on source ids 1 and 3:
        # P = 0.5 * 0.25 + 0.5 * [0, 0.75, 0, 0.25].
        log_p = copy_log_probabilities(
            np.zeros((1, 4), "float32"),
            np.array([0.5], "float32"),
            np.array([[0.75, 0.25]], "float32"),
            np.array([[1, 3]], "int32"),
        )
        self.assertAllClose(
            np.exp(ops.convert_to_numpy(log_p)), np.array([[0.125, 0.5, 0.125, 0.25]])
        )

    def test_repeated_source_ids_add_up_and_padding_gets_nothing(self):
        # Two source positions hold id 2; the padded position (weight 0) id 0.
        log_p = copy_log_probabilities(
            np.zeros((1, 1, 3), "float32"),
            np.array([[0.0]], "float32"),
            np.array([[[0.4, 0.6, 0.0]]], "float32"),
            np.array([[2, 2, 0]], "int32"),
        )
        p = np.exp(ops.convert_to_numpy(log_p))
        self.assertAllClose(p, np.array([[[0.0, 0.0, 1.0]]]), atol=1e-6)

    def test_switch_matches_numpy_and_one_step_matches_sequence(self):
        layer = CopyGenerator()
        rng = np.random.default_rng(0)
        outputs = rng.normal(size=(2, 3, 4)).astype("float32")
        weights = rng.dirichlet(np.ones(5), size=(2, 3)).astype("float32")
        memory = rng.normal(size=(2, 5, 6)).astype("float32")
        inputs = rng.normal(size=(2, 3, 7)).astype("float32")
        switch = ops.convert_to_numpy(layer(outputs, weights, memory, inputs))
        kernel, bias = layer.switch_dense.get_weights()
        context = np.einsum("bts,bsd->btd", weights, memory)
        features = np.concatenate([outputs, context, inputs], -1)
        expected = 1 / (1 + np.exp(-(features @ kernel + bias)[..., 0]))
        self.assertAllClose(switch, expected, atol=1e-5)
        step = layer(outputs[:, 1], weights[:, 1], memory, inputs[:, 1])
        self.assertAllClose(step, expected[:, 1], atol=1e-5)

    def test_config_and_saving_round_trip(self):
        layer = CopyGenerator()
        rng = np.random.default_rng(1)
        data = (
            rng.normal(size=(2, 3, 4)).astype("float32"),
            rng.dirichlet(np.ones(5), size=(2, 3)).astype("float32"),
            rng.normal(size=(2, 5, 6)).astype("float32"),
            rng.normal(size=(2, 3, 7)).astype("float32"),
        )
        layer(*data)
        self.run_config_roundtrip_test(layer)
        self.run_layer_saving_test(layer, data, atol=1e-5)
