import numpy as np
from keras import ops

from keras_s2s.layers import AttentionalDecoder
from keras_s2s.layers import CoverageAttentionalDecoder
from tests.test_case import TestCase


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(2, 4, 5)).astype("float32")
    memory = rng.normal(size=(2, 6, 8)).astype("float32")
    mask = np.array([[True] * 6, [True] * 3 + [False] * 3])
    return inputs, memory, mask


class CoverageAttentionalDecoderTest(TestCase):
    def test_zero_coverage_kernel_equals_the_plain_decoder(self):
        inputs, memory, mask = make_data()
        plain = AttentionalDecoder(hidden_dim=8, output_dim=6)
        covered = CoverageAttentionalDecoder(hidden_dim=8, output_dim=6)
        expected = plain(inputs, memory, memory_mask=mask)
        covered(inputs, memory, memory_mask=mask)
        others = [w for w in covered.weights if "coverage_kernel" not in w.path]
        self.assertEqual(len(others), len(plain.weights))
        for target, source in zip(others, plain.weights):
            target.assign(source)
        covered.coverage_kernel.assign(np.zeros(covered.coverage_kernel.shape))
        self.assertAllClose(covered(inputs, memory, memory_mask=mask), expected, atol=1e-6)
        # A non-zero kernel changes the attention from the second step on.
        covered.coverage_kernel.assign(np.ones(covered.coverage_kernel.shape))
        _, weights = covered(inputs, memory, memory_mask=mask)
        self.assertAllClose(weights[:, 0], expected[1][:, 0], atol=1e-6)
        self.assertGreater(
            np.abs(ops.convert_to_numpy(weights - expected[1])).max(), 1e-4
        )

    def test_steps_equal_the_sequence_and_coverage_sums_weights(self):
        inputs, memory, mask = make_data(1)
        decoder = CoverageAttentionalDecoder(hidden_dim=8, output_dim=6)
        outputs, weights = decoder(inputs, memory, memory_mask=mask)
        state = decoder.get_initial_state(None, memory)
        keys = decoder.attention.precompute_keys(memory)
        for t in range(4):
            output, w, state = decoder.step(inputs[:, t], state, memory, keys, mask)
            self.assertAllClose(output, outputs[:, t], atol=1e-5)
        self.assertAllClose(
            state["coverage"], ops.sum(weights, axis=1), atol=1e-5
        )

    def test_config_saving_and_validation(self):
        inputs, memory, mask = make_data()
        decoder = CoverageAttentionalDecoder(hidden_dim=8, output_dim=6)
        decoder(inputs, memory, memory_mask=mask)
        self.run_config_roundtrip_test(decoder)
        self.run_layer_saving_test(decoder, (inputs, memory), atol=1e-5)
        with self.assertRaisesRegex(ValueError, "attention_type"):
            CoverageAttentionalDecoder(8, 6, attention_type="luong")
