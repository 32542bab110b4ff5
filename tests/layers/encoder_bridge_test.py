import numpy as np

from keras_s2s.layers import EncoderBridge
from tests.test_case import TestCase


def encoder_states(num_layers=2, num_states=2, dim=6):
    rng = np.random.default_rng(0)
    return [
        [rng.normal(size=(3, dim)).astype("float32") for _ in range(num_states)]
        for _ in range(num_layers)
    ]


class EncoderBridgeTest(TestCase):
    def test_dense_bridge_is_tanh_projection_of_top_layer(self):
        states = encoder_states()
        bridge = EncoderBridge("dense", hidden_dim=4, num_layers=3, num_states=2)
        out = bridge(states)
        self.assertLen(out, 3)
        for i, projection in enumerate(bridge.projections):
            kernel, bias = projection.get_weights()
            expected = np.tanh(states[-1][i] @ kernel + bias)
            for layer in out:
                self.assertAllClose(layer[i], expected, atol=1e-6)

    def test_copy_bridge_is_layerwise_or_top(self):
        states = encoder_states(dim=4)
        same = EncoderBridge("copy", hidden_dim=4, num_layers=2, num_states=2)(states)
        self.assertAllClose(same, states)
        top = EncoderBridge("copy", hidden_dim=4, num_layers=3, num_states=2)(states)
        self.assertAllClose(top, [states[-1]] * 3)

    def test_zero_bridge(self):
        out = EncoderBridge("zero", hidden_dim=5, num_layers=1, num_states=1)(
            encoder_states(num_states=1)
        )
        self.assertAllClose(out, [[np.zeros((3, 5))]])

    def test_config_round_trip_and_errors(self):
        self.run_config_roundtrip_test(EncoderBridge("dense", 4, 2, 2))
        with self.assertRaisesRegex(ValueError, "Expected bridge_type in"):
            EncoderBridge("mean", 4)
        with self.assertRaisesRegex(ValueError, "bridge_type='copy'"):
            EncoderBridge("copy", hidden_dim=5, num_layers=1, num_states=2)(
                encoder_states(dim=4)
            )
