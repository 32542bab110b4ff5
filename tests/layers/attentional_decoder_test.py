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

    def test_teacher_forced_outputs_on_right_padded_batches_equal_stepping(self):
        # The fused Luong decoder (one fused RNN call over the padded
        # targets, no mask) and the Bahdanau decoder (readout after the
        # scan) give, at every real target position of a right-padded batch,
        # the outputs of `step` run on each row alone for its length (1e-5).
        rng = np.random.default_rng(2)
        inputs = rng.normal(size=(3, 5, 4)).astype("float32")
        memory = rng.normal(size=(3, 4, 6)).astype("float32")
        memory_mask = np.array(
            [[True] * 4, [True, True, False, False], [True, False, False, False]]
        )
        # The padded target positions hold random vectors too.
        target_lengths = [5, 3, 1]
        configs = (
            dict(cell_type="gru", attention_type="luong", input_feeding=False,
                 num_layers=2),
            dict(cell_type="lstm", attention_type="luong", input_feeding=False),
            dict(cell_type="gru", attention_type="bahdanau"),
        )
        for config in configs:
            decoder = AttentionalDecoder(hidden_dim=6, output_dim=5, **config)
            initial = [
                [rng.normal(size=(3, 6)).astype("float32")] * decoder.num_states
                for _ in range(decoder.num_layers)
            ]
            outputs, weights = decoder(inputs, memory, memory_mask=memory_mask,
                                       initial_state=initial)
            self.assertEqual(decoder.uses_fused_rnn, config["attention_type"] == "luong")
            outputs = ops.convert_to_numpy(outputs)
            for row, length in enumerate(target_lengths):
                source_length = int(memory_mask[row].sum())
                row_memory = memory[row : row + 1, :source_length]
                row_mask = memory_mask[row : row + 1, :source_length]
                state = decoder.get_initial_state(
                    [[s[row : row + 1] for s in layer] for layer in initial],
                    row_memory,
                )
                keys = decoder.attention.precompute_keys(row_memory)
                for t in range(length):
                    output, step_weights, state = decoder.step(
                        inputs[row : row + 1, t], state, row_memory, keys, row_mask
                    )
                    self.assertAllClose(outputs[row : row + 1, t], output, atol=1e-5)
                    self.assertAllClose(
                        weights[row : row + 1, t, :source_length], step_weights,
                        atol=1e-5,
                    )
