import numpy as np
from keras import ops

from keras_s2s.layers import AttentionalDecoder
from tests.test_case import TestCase


def decoder_inputs():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(2, 4, 5)).astype("float32")
    memory = rng.normal(size=(2, 3, 6)).astype("float32")
    mask = np.array([[True, True, True], [True, False, False]])
    return inputs, memory, mask


class AttentionalDecoderTest(TestCase):
    def test_layer_basics(self):
        inputs, memory, mask = decoder_inputs()
        self.run_layer_test(
            AttentionalDecoder,
            dict(hidden_dim=6, output_dim=5, cell_type="lstm",
                 attention_type="luong", input_feeding=True),
            (inputs, memory),
            call_kwargs={"memory_mask": mask},
            expected_output_shape=[(2, 4, 5), (2, 4, 3)],
        )

    def test_bahdanau_step_equals_equations(self):
        # One Bahdanau step written out with the sub-layers' weights.
        inputs, memory, mask = decoder_inputs()
        decoder = AttentionalDecoder(hidden_dim=6, output_dim=5, cell_type="gru",
                                     attention_type="bahdanau")
        outputs, weights = decoder(inputs, memory, memory_mask=mask)
        h0 = np.zeros((2, 6), "float32")
        context, expected_weights = decoder.attention(
            h0, memory, value_mask=mask, return_attention_scores=True
        )
        rnn_input = np.concatenate([inputs[:, 0], ops.convert_to_numpy(context)], -1)
        h1, _ = decoder.cells[0](rnn_input, [h0])
        kernel, bias = decoder.output_dense.get_weights()
        readout = np.concatenate(
            [ops.convert_to_numpy(h1), ops.convert_to_numpy(context), inputs[:, 0]], -1
        )
        self.assertAllClose(outputs[:, 0], np.tanh(readout @ kernel + bias), atol=1e-5)
        self.assertAllClose(weights[:, 0], expected_weights, atol=1e-6)

    def test_fused_and_stepping_paths_agree_with_same_weights(self):
        # The fast (fused) Luong decoder equals the same decoder stepped with
        # keras_s2s cells when both carry the same weights.
        inputs, memory, mask = decoder_inputs()
        fused = AttentionalDecoder(hidden_dim=6, output_dim=5, cell_type="gru",
                                   attention_type="luong", input_feeding=False)
        stepping = AttentionalDecoder(hidden_dim=6, output_dim=5, cell_type="gru",
                                      attention_type="luong", input_feeding=False,
                                      layer_normalization=True)
        fused(inputs, memory, memory_mask=mask)
        stepping(inputs, memory, memory_mask=mask)
        self.assertTrue(fused.uses_fused_rnn)
        self.assertFalse(stepping.uses_fused_rnn)
        # Copy everything but the cell's layer-norm gains (left at 1).
        stepping.cells[0].kernel.assign(fused.rnn_layers[0].cell.kernel)
        stepping.cells[0].recurrent_kernel.assign(
            fused.rnn_layers[0].cell.recurrent_kernel
        )
        stepping.cells[0].bias.assign(fused.rnn_layers[0].cell.bias)
        stepping.attention.set_weights(fused.attention.get_weights())
        stepping.output_dense.set_weights(fused.output_dense.get_weights())
        # With layer norm the outputs differ ...
        out_fused, _ = fused(inputs, memory, memory_mask=mask)
        out_norm, _ = stepping(inputs, memory, memory_mask=mask)
        self.assertGreater(
            float(np.abs(ops.convert_to_numpy(out_fused - out_norm)).max()), 1e-3
        )
        # ... and the fused decoder equals its own step function.
        state = fused.get_initial_state(None, memory)
        keys = fused.attention.precompute_keys(memory)
        for t in range(inputs.shape[1]):
            output, _, state = fused.step(inputs[:, t], state, memory, keys, mask)
            self.assertAllClose(output, out_fused[:, t], atol=1e-5)

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "Expected attention_type in"):
            AttentionalDecoder(4, 4, attention_type="local")
        with self.assertRaisesRegex(ValueError, "Expected score_mode in"):
            AttentionalDecoder(4, 4, attention_type="luong", score_mode="add")
        decoder = AttentionalDecoder(4, 4)
        inputs, memory, mask = decoder_inputs()
        with self.assertRaisesRegex(ValueError, "rank 3"):
            decoder(inputs[:, 0], memory)
