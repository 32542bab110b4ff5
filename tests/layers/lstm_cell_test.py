import doctest

import keras
import numpy as np
from keras import ops

import keras_s2s
from keras_s2s.layers import LSTMCell
from keras_s2s.layers import lstm_cell
from tests.test_case import TestCase
from tests.test_case import to_numpy

BATCH, TIME, INPUT_DIM, UNITS = 3, 6, 4, 5


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def layer_norm(x, num_blocks, epsilon):
    """Normalizes each of `num_blocks` slices of the last axis of `x`."""
    blocks = x.reshape(x.shape[0], num_blocks, -1)
    mean = blocks.mean(-1, keepdims=True)
    var = blocks.var(-1, keepdims=True)
    return ((blocks - mean) / np.sqrt(var + epsilon)).reshape(x.shape)


def numpy_lstm_step(x, h, c, kernel, recurrent_kernel, bias, ln=None, eps=1e-3):
    """Textbook LSTM step; `ln` holds the layer-norm weights if enabled."""
    x_proj, h_proj = x @ kernel, h @ recurrent_kernel
    if ln is not None:
        x_proj = layer_norm(x_proj, 4, eps) * ln["input_norm_gamma"]
        h_proj = layer_norm(h_proj, 4, eps) * ln["recurrent_norm_gamma"]
    a_i, a_f, a_c, a_o = np.split(x_proj + h_proj + bias, 4, axis=-1)
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)
    c_new = f * c + i * np.tanh(a_c)
    c_out = c_new
    if ln is not None:
        c_out = (
            layer_norm(c_new, 1, eps) * ln["cell_norm_gamma"] + ln["cell_norm_beta"]
        )
    h_new = o * np.tanh(c_out)
    return h_new, c_new


class LSTMCellTest(TestCase):
    def setUp(self):
        super().setUp()
        self.rng = np.random.default_rng(0)
        self.x = self.rng.normal(size=(BATCH, TIME, INPUT_DIM)).astype("float32")
        self.h0 = self.rng.normal(size=(BATCH, UNITS)).astype("float32")
        self.c0 = self.rng.normal(size=(BATCH, UNITS)).astype("float32")
        # Right-padded: lengths 6, 4 and 1.
        self.mask = np.arange(TIME)[None, :] < np.array([[6], [4], [1]])

    def random_weights(self, weights, scale=0.5):
        return [
            (scale * self.rng.normal(size=w.shape)).astype("float32")
            for w in weights
        ]

    def built_cell(self, **kwargs):
        cell = LSTMCell(UNITS, **kwargs)
        cell.build((BATCH, INPUT_DIM))
        return cell

    # Parity with `keras.layers.LSTM`.

    def call_variants(self):
        """Call arguments: plain, padding mask, mask and initial state."""
        initial_state = [self.h0, self.c0]
        return [
            {},
            {"mask": self.mask},
            {"mask": self.mask, "initial_state": initial_state},
        ]

    def run_parity(self, ours_to_keras, variants):
        ours = keras.layers.RNN(
            LSTMCell(UNITS), return_sequences=True, return_state=True
        )
        theirs = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True)
        ours.build(self.x.shape)
        theirs.build(self.x.shape)
        source, target = (ours, theirs) if ours_to_keras else (theirs, ours)
        source.set_weights(self.random_weights(source.get_weights()))
        target.set_weights(source.get_weights())
        for kwargs in variants:
            with self.subTest(
                ours_to_keras=ours_to_keras, call_arguments=sorted(kwargs)
            ):
                actual = ours(self.x, **kwargs)
                expected = theirs(self.x, **kwargs)
                self.assertLen(actual, 3)  # sequences, h, c
                self.assertGreater(np.abs(to_numpy(expected[0])).max(), 0.1)
                self.assertAllClose(actual, expected, atol=1e-5, rtol=1e-5)

    def test_matches_keras_lstm(self):
        self.run_parity(False, self.call_variants())

    def test_weights_move_into_keras_lstm(self):
        self.run_parity(True, self.call_variants()[-1:])

    def test_weight_layout(self):
        cell = self.built_cell(layer_normalization=True)
        keras_cell = keras.layers.LSTMCell(UNITS)
        keras_cell.build((BATCH, INPUT_DIM))
        names = [w.path.split("/")[-1] for w in cell.weights]
        self.assertEqual(
            names[:3], [w.path.split("/")[-1] for w in keras_cell.weights]
        )
        self.assertEqual(
            names[3:],
            [
                "input_norm_gamma",
                "recurrent_norm_gamma",
                "cell_norm_gamma",
                "cell_norm_beta",
            ],
        )
        self.assertEqual(
            [tuple(w.shape) for w in cell.weights],
            [
                (INPUT_DIM, 4 * UNITS),
                (UNITS, 4 * UNITS),
                (4 * UNITS,),
                (4 * UNITS,),
                (4 * UNITS,),
                (UNITS,),
                (UNITS,),
            ],
        )
        # unit_forget_bias: ones on the forget block (order i, f, c, o).
        bias = to_numpy(cell.bias)
        self.assertAllEqual(bias[UNITS : 2 * UNITS], np.ones(UNITS))
        self.assertAllEqual(bias[2 * UNITS :], np.zeros(2 * UNITS))

    # Golden values.

    def test_one_step_matches_numpy(self):
        cell = self.built_cell()
        weights = self.random_weights(cell.get_weights())
        cell.set_weights(weights)
        x = self.x[:, 0]
        output, (h, c) = cell(x, [self.h0, self.c0])
        expected_h, expected_c = numpy_lstm_step(x, self.h0, self.c0, *weights)
        self.assertAllClose(output, expected_h, atol=1e-5)
        self.assertAllClose(h, expected_h, atol=1e-5)
        self.assertAllClose(c, expected_c, atol=1e-5)

    def test_one_step_with_layer_normalization_matches_numpy(self):
        cell = self.built_cell(layer_normalization=True)
        weights = self.random_weights(cell.get_weights())
        weights[3:] = [w + 1.0 for w in weights[3:]]  # gains near 1
        cell.set_weights(weights)
        names = ["input_norm_gamma", "recurrent_norm_gamma"]
        names += ["cell_norm_gamma", "cell_norm_beta"]
        ln = dict(zip(names, weights[3:]))
        x = self.x[:, 0]
        _, (h, c) = cell(x, [self.h0, self.c0])
        expected_h, expected_c = numpy_lstm_step(
            x, self.h0, self.c0, *weights[:3], ln=ln
        )
        self.assertAllClose(h, expected_h, atol=1e-5)
        self.assertAllClose(c, expected_c, atol=1e-5)

    # Layer normalization.

    def test_layer_normalization_changes_output(self):
        plain = self.built_cell()
        normed = self.built_cell(layer_normalization=True)
        plain.set_weights(self.random_weights(plain.get_weights()))
        normed.set_weights(plain.get_weights() + normed.get_weights()[3:])
        args = (self.x[:, 0], [self.h0, self.c0])
        difference = np.abs(to_numpy(plain(*args)[0] - normed(*args)[0]))
        self.assertGreater(difference.max(), 1e-2)

    def test_layer_normalized_blocks_have_zero_mean_unit_variance(self):
        # Gates forced to 1 and linear activations expose the normalized
        # values: c = c0 + LN(x W_c) + LN(h0 U_c) and h = LN(c).
        cell = self.built_cell(
            layer_normalization=True,
            layer_norm_epsilon=1e-6,
            activation=None,
            recurrent_activation=lambda t: ops.ones_like(t),
        )
        kernel, recurrent_kernel = self.random_weights(cell.get_weights()[:2])
        zeros = np.zeros_like
        x = self.x[:, 0]
        for name, weights in [
            ("input", [kernel, zeros(recurrent_kernel)]),
            ("recurrent", [zeros(kernel), recurrent_kernel]),
        ]:
            with self.subTest(projection=name):
                cell.set_weights(
                    weights + [np.zeros(4 * UNITS)] + cell.get_weights()[3:]
                )
                h, (_, c) = cell(x, [self.h0, self.c0])
                for values in (to_numpy(c) - self.c0, to_numpy(h)):
                    self.assertAllClose(
                        values.mean(-1), np.zeros(BATCH), atol=1e-5
                    )
                    self.assertAllClose(values.var(-1), np.ones(BATCH), atol=1e-4)

    def test_layer_normalization_is_invariant_to_weight_scale(self):
        cell = self.built_cell(layer_normalization=True, layer_norm_epsilon=1e-9)
        weights = self.random_weights(cell.get_weights())
        cell.set_weights(weights)
        args = (self.x[:, 0], [self.h0, self.c0])
        expected = cell(*args)
        cell.set_weights([7.0 * weights[0], 0.2 * weights[1]] + weights[2:])
        self.assertAllClose(cell(*args), expected, atol=1e-5)

    # Dropout.

    def test_dropout_only_in_training_and_inference_is_deterministic(self):
        rnn = keras.layers.RNN(
            LSTMCell(UNITS, dropout=0.5, recurrent_dropout=0.5, seed=1),
            return_sequences=True,
        )
        reference = keras.layers.RNN(LSTMCell(UNITS), return_sequences=True)
        rnn.build(self.x.shape)
        reference.build(self.x.shape)
        reference.set_weights(rnn.get_weights())
        inference = rnn(self.x, training=False)
        self.assertAllClose(rnn(self.x, training=False), inference)
        self.assertAllClose(reference(self.x), inference, atol=1e-6)
        training = to_numpy(rnn(self.x, training=True))
        self.assertGreater(np.abs(training - to_numpy(inference)).max(), 1e-2)

    def saturated_gate_weights(self, kernel_c, recurrent_c, bias_c):
        """Weights with i = o = 1, f = 0 and the given candidate block."""
        kernel = np.zeros((INPUT_DIM, 4 * UNITS), "float32")
        recurrent_kernel = np.zeros((UNITS, 4 * UNITS), "float32")
        kernel[:, 2 * UNITS : 3 * UNITS] = kernel_c
        recurrent_kernel[:, 2 * UNITS : 3 * UNITS] = recurrent_c
        bias = np.concatenate(
            [np.full(UNITS, 100.0), np.full(UNITS, -100.0), bias_c,
             np.full(UNITS, 100.0)]
        ).astype("float32")
        return [kernel, recurrent_kernel, bias]

    def test_input_dropout_mask_is_shared_across_timesteps(self):
        # With f = 0, i = o = 1, linear activation and no recurrence, each
        # step outputs (x_t * mask) @ W_c; a constant x_t then gives the same
        # output at every step exactly when the mask is the same.
        rate = 0.5
        rnn = keras.layers.RNN(
            LSTMCell(UNITS, activation=None, dropout=rate, seed=3),
            return_sequences=True,
        )
        x = np.ones((BATCH, TIME, INPUT_DIM), "float32")
        rnn.build(x.shape)
        kernel_c = np.eye(INPUT_DIM, UNITS, dtype="float32")
        rnn.set_weights(
            self.saturated_gate_weights(kernel_c, 0.0, np.zeros(UNITS))
        )
        outputs = to_numpy(rnn(x, training=True))
        self.assertAllClose(
            outputs, np.repeat(outputs[:, :1], TIME, axis=1), atol=1e-6
        )
        kept = outputs[:, 0, :INPUT_DIM]
        self.assertAllClose(np.minimum(kept, 1 / (1 - rate) - kept), 0 * kept)
        self.assertTrue(0 < (kept > 0).sum() < kept.size)

    def test_recurrent_dropout_mask_is_shared_across_timesteps(self):
        # With f = 0, i = o = 1 and linear activation, h_t = 1 + s * m * h_{t-1}
        # for a recurrent mask m in {0, 1} and s = 1 / (1 - rate): a dropped
        # unit stays at 1, a kept one follows 1, 1 + s, 1 + s + s^2, ...
        rate = 0.5
        s = 1 / (1 - rate)
        rnn = keras.layers.RNN(
            LSTMCell(UNITS, activation=None, recurrent_dropout=rate, seed=4),
            return_sequences=True,
        )
        rnn.build(self.x.shape)
        rnn.set_weights(
            self.saturated_gate_weights(0.0, np.eye(UNITS), np.ones(UNITS))
        )
        outputs = to_numpy(rnn(self.x, training=True))
        kept = outputs[:, 1] > 1.5  # (batch_size, units)
        geometric = np.cumsum(s ** np.arange(TIME))  # (time,)
        expected = np.where(kept[:, None, :], geometric[None, :, None], 1.0)
        self.assertAllClose(outputs, expected, atol=1e-4, rtol=1e-5)
        self.assertTrue(0 < kept.sum() < kept.size)

    # Step-by-step use.

    def test_stepping_with_scan_matches_rnn(self):
        rnn = keras.layers.RNN(
            LSTMCell(UNITS, layer_normalization=True),
            return_sequences=True,
            return_state=True,
        )
        expected = rnn(self.x, initial_state=[self.h0, self.c0])
        cell = rnn.cell

        def step(states, x_t):
            _, new_states = cell(x_t, states)
            # The TensorFlow `scan` needs per-step outputs shaped like the carry.
            return new_states, new_states

        (h, c), (all_h, _) = ops.scan(
            step,
            [ops.convert_to_tensor(self.h0), ops.convert_to_tensor(self.c0)],
            ops.transpose(ops.convert_to_tensor(self.x), (1, 0, 2)),
        )
        self.assertAllClose(
            [ops.transpose(all_h, (1, 0, 2)), h, c], list(expected), atol=1e-5
        )

    def test_stepping_in_python_loop_matches_rnn(self):
        rnn = keras.layers.RNN(LSTMCell(UNITS), return_sequences=True)
        expected = rnn(self.x, initial_state=[self.h0, self.c0])
        states = [self.h0, self.c0]
        outputs = []
        for t in range(TIME):
            output, states = rnn.cell(self.x[:, t], states)
            outputs.append(output)
        self.assertAllClose(ops.stack(outputs, axis=1), expected, atol=1e-5)

    def test_get_initial_state(self):
        cell = LSTMCell(UNITS)
        states = cell.get_initial_state(batch_size=BATCH)
        self.assertAllEqual(states, [np.zeros((BATCH, UNITS))] * 2)
        self.assertEqual(cell.state_size, [UNITS, UNITS])
        self.assertEqual(cell.output_size, UNITS)

    # Serialization.

    def test_config_roundtrip(self):
        self.run_layer_test(
            LSTMCell,
            {
                "units": UNITS,
                "recurrent_activation": "hard_sigmoid",
                "unit_forget_bias": False,
                "kernel_regularizer": "l2",
                "dropout": 0.2,
                "recurrent_dropout": 0.1,
                "seed": 5,
                "layer_normalization": True,
                "layer_norm_epsilon": 1e-5,
            },
            input_data=(self.x[:, 0], [self.h0, self.c0]),
            expected_output_shape=[(BATCH, UNITS)] * 3,  # output, states
            expected_num_trainable_weights=7,
        )

    def test_saving(self):
        cell = LSTMCell(UNITS, dropout=0.3, layer_normalization=True)
        rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
        rnn.build(self.x.shape)
        rnn.set_weights(self.random_weights(rnn.get_weights()))
        restored = self.run_layer_saving_test(rnn, self.x, atol=1e-6)
        self.assertIsInstance(restored.layers[-1].cell, LSTMCell)

    def test_docstring_example(self):
        result = doctest.testmod(
            lstm_cell,
            extraglobs={"keras": keras, "keras_s2s": keras_s2s, "np": np},
            optionflags=doctest.NORMALIZE_WHITESPACE,
        )
        self.assertGreater(result.attempted, 0)
        self.assertEqual(result.failed, 0)

    # Argument validation.

    def test_invalid_arguments(self):
        for kwargs, argument in [
            ({"units": 0}, "units"),
            ({"units": -3}, "units"),
            ({"units": 2.5}, "units"),
            ({"units": UNITS, "dropout": 1.0}, "dropout"),
            ({"units": UNITS, "dropout": -0.1}, "dropout"),
            ({"units": UNITS, "recurrent_dropout": 1.5}, "recurrent_dropout"),
        ]:
            with self.subTest(**kwargs):
                with self.assertRaisesRegex(ValueError, f"Received: {argument}="):
                    LSTMCell(**kwargs)
