import doctest

import keras
import numpy as np
from keras import ops

import keras_s2s
from keras_s2s.layers import GRUCell
from keras_s2s.layers import gru_cell
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


def numpy_gru_step(
    x, h, kernel, recurrent_kernel, bias, reset_after, gammas=None, eps=1e-3
):
    """Textbook GRU step (Cho et al. 2014; cuDNN variant if `reset_after`)."""
    u = UNITS
    if reset_after:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, np.zeros(3 * u)

    def norm(a, gamma, blocks):
        return a if gammas is None else layer_norm(a, blocks, eps) * gamma

    input_gamma, recurrent_gamma = gammas if gammas is not None else (None, None)
    x_proj = norm(x @ kernel, input_gamma, 3) + input_bias
    x_z, x_r, x_h = np.split(x_proj, 3, axis=-1)
    if reset_after:
        h_proj = norm(h @ recurrent_kernel, recurrent_gamma, 3) + recurrent_bias
        h_z, h_r, h_h = np.split(h_proj, 3, axis=-1)
        z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
        candidate = np.tanh(x_h + r * h_h)
    else:
        gamma_zr = None if gammas is None else recurrent_gamma[: 2 * u]
        gamma_h = None if gammas is None else recurrent_gamma[2 * u :]
        h_zr = norm(h @ recurrent_kernel[:, : 2 * u], gamma_zr, 2)
        z, r = sigmoid(x_z + h_zr[:, :u]), sigmoid(x_r + h_zr[:, u:])
        candidate = np.tanh(
            x_h + norm((r * h) @ recurrent_kernel[:, 2 * u :], gamma_h, 1)
        )
    return z * h + (1 - z) * candidate


class GRUCellTest(TestCase):
    def setUp(self):
        super().setUp()
        self.rng = np.random.default_rng(0)
        self.x = self.rng.normal(size=(BATCH, TIME, INPUT_DIM)).astype("float32")
        self.h0 = self.rng.normal(size=(BATCH, UNITS)).astype("float32")
        # Right-padded: lengths 6, 4 and 1.
        self.mask = np.arange(TIME)[None, :] < np.array([[6], [4], [1]])

    def random_weights(self, weights, scale=0.5):
        return [
            (scale * self.rng.normal(size=w.shape)).astype("float32")
            for w in weights
        ]

    def built_cell(self, **kwargs):
        cell = GRUCell(UNITS, **kwargs)
        cell.build((BATCH, INPUT_DIM))
        return cell

    # Parity with `keras.layers.GRU`.

    def call_variants(self):
        """Call arguments: plain, padding mask, mask and initial state."""
        initial_state = [self.h0]
        return [
            {},
            {"mask": self.mask},
            {"mask": self.mask, "initial_state": initial_state},
        ]

    def run_parity(self, reset_after, ours_to_keras, variants):
        ours = keras.layers.RNN(
            GRUCell(UNITS, reset_after=reset_after),
            return_sequences=True,
            return_state=True,
        )
        theirs = keras.layers.GRU(
            UNITS,
            reset_after=reset_after,
            return_sequences=True,
            return_state=True,
        )
        ours.build(self.x.shape)
        theirs.build(self.x.shape)
        source, target = (ours, theirs) if ours_to_keras else (theirs, ours)
        source.set_weights(self.random_weights(source.get_weights()))
        target.set_weights(source.get_weights())
        for kwargs in variants:
            with self.subTest(
                reset_after=reset_after,
                ours_to_keras=ours_to_keras,
                call_arguments=sorted(kwargs),
            ):
                actual = ours(self.x, **kwargs)
                expected = theirs(self.x, **kwargs)
                self.assertLen(actual, 2)  # sequences, h
                self.assertGreater(np.abs(to_numpy(expected[0])).max(), 0.1)
                self.assertAllClose(actual, expected, atol=1e-5, rtol=1e-5)

    def test_matches_keras_gru(self):
        for reset_after in (True, False):
            self.run_parity(reset_after, False, self.call_variants())

    def test_weights_move_into_keras_gru(self):
        for reset_after in (True, False):
            self.run_parity(reset_after, True, self.call_variants()[-1:])

    def test_weight_layout(self):
        for reset_after, bias_shape in [(True, (2, 3 * UNITS)), (False, (3 * UNITS,))]:
            with self.subTest(reset_after=reset_after):
                cell = self.built_cell(
                    reset_after=reset_after, layer_normalization=True
                )
                keras_cell = keras.layers.GRUCell(UNITS, reset_after=reset_after)
                keras_cell.build((BATCH, INPUT_DIM))
                names = [w.path.split("/")[-1] for w in cell.weights]
                self.assertEqual(
                    names[:3], [w.path.split("/")[-1] for w in keras_cell.weights]
                )
                self.assertEqual(
                    names[3:], ["input_norm_gamma", "recurrent_norm_gamma"]
                )
                self.assertEqual(
                    [tuple(w.shape) for w in cell.weights],
                    [
                        (INPUT_DIM, 3 * UNITS),
                        (UNITS, 3 * UNITS),
                        bias_shape,
                        (3 * UNITS,),
                        (3 * UNITS,),
                    ],
                )

    # Golden values.

    def test_one_step_matches_numpy(self):
        for reset_after in (True, False):
            for layer_normalization in (False, True):
                with self.subTest(
                    reset_after=reset_after, layer_normalization=layer_normalization
                ):
                    cell = self.built_cell(
                        reset_after=reset_after,
                        layer_normalization=layer_normalization,
                    )
                    weights = self.random_weights(cell.get_weights())
                    weights[3:] = [w + 1.0 for w in weights[3:]]  # gains near 1
                    cell.set_weights(weights)
                    x = self.x[:, 0]
                    output, (h,) = cell(x, [self.h0])
                    expected = numpy_gru_step(
                        x,
                        self.h0,
                        *weights[:3],
                        reset_after=reset_after,
                        gammas=weights[3:] if layer_normalization else None,
                    )
                    self.assertAllClose(output, expected, atol=1e-5)
                    self.assertAllClose(h, expected, atol=1e-5)

    def test_tensor_state_gives_tensor_state(self):
        cell = self.built_cell()
        output, state = cell(self.x[:, 0], self.h0)
        self.assertFalse(isinstance(state, (list, tuple)))
        self.assertAllClose(state, output)

    # Layer normalization.

    def test_layer_normalization_changes_output(self):
        plain = self.built_cell()
        normed = self.built_cell(layer_normalization=True)
        plain.set_weights(self.random_weights(plain.get_weights()))
        normed.set_weights(plain.get_weights() + normed.get_weights()[3:])
        args = (self.x[:, 0], [self.h0])
        difference = np.abs(to_numpy(plain(*args)[0] - normed(*args)[0]))
        self.assertGreater(difference.max(), 1e-2)

    def gate_bias(self, reset_after, candidate_bias):
        """Bias with z = 0, r = 1 (saturated) and the given candidate bias."""
        input_bias = np.concatenate(
            [np.full(UNITS, -100.0), np.full(UNITS, 100.0), candidate_bias]
        ).astype("float32")
        if not reset_after:
            return input_bias
        return np.stack([input_bias, np.zeros(3 * UNITS, "float32")])

    def test_layer_normalized_blocks_have_zero_mean_unit_variance(self):
        # With z = 0, r = 1 and a linear activation, h equals the normalized
        # candidate projection: LN(x W_h) if U = 0, LN(h0 U_h) if W = 0.
        x = self.x[:, 0]
        for reset_after in (True, False):
            cell = self.built_cell(
                reset_after=reset_after,
                activation=None,
                layer_normalization=True,
                layer_norm_epsilon=1e-6,
            )
            kernel, recurrent_kernel = self.random_weights(cell.get_weights()[:2])
            bias = self.gate_bias(reset_after, np.zeros(UNITS))
            for name, weights in [
                ("input", [kernel, np.zeros_like(recurrent_kernel)]),
                ("recurrent", [np.zeros_like(kernel), recurrent_kernel]),
            ]:
                with self.subTest(reset_after=reset_after, projection=name):
                    cell.set_weights(weights + [bias] + cell.get_weights()[3:])
                    h = to_numpy(cell(x, [self.h0])[0])
                    self.assertAllClose(h.mean(-1), np.zeros(BATCH), atol=1e-5)
                    self.assertAllClose(h.var(-1), np.ones(BATCH), atol=1e-4)

    def test_layer_normalization_is_invariant_to_weight_scale(self):
        for reset_after in (True, False):
            with self.subTest(reset_after=reset_after):
                cell = self.built_cell(
                    reset_after=reset_after,
                    layer_normalization=True,
                    layer_norm_epsilon=1e-9,
                )
                weights = self.random_weights(cell.get_weights())
                cell.set_weights(weights)
                args = (self.x[:, 0], [self.h0])
                expected = cell(*args)
                cell.set_weights(
                    [7.0 * weights[0], 0.2 * weights[1]] + weights[2:]
                )
                self.assertAllClose(cell(*args), expected, atol=1e-5)

    # Dropout.

    def test_dropout_only_in_training_and_inference_is_deterministic(self):
        rnn = keras.layers.RNN(
            GRUCell(UNITS, dropout=0.5, recurrent_dropout=0.5, seed=1),
            return_sequences=True,
        )
        reference = keras.layers.RNN(GRUCell(UNITS), return_sequences=True)
        rnn.build(self.x.shape)
        reference.build(self.x.shape)
        reference.set_weights(rnn.get_weights())
        inference = rnn(self.x, training=False)
        self.assertAllClose(rnn(self.x, training=False), inference)
        self.assertAllClose(reference(self.x), inference, atol=1e-6)
        training = to_numpy(rnn(self.x, training=True))
        self.assertGreater(np.abs(training - to_numpy(inference)).max(), 1e-2)

    def test_input_dropout_mask_is_shared_across_timesteps(self):
        # With z = 0, r = 1, linear activation and no recurrence, each step
        # outputs (x_t * mask) @ W_h; a constant x_t then gives the same output
        # at every step exactly when the mask is the same.
        rate = 0.5
        x = np.ones((BATCH, TIME, INPUT_DIM), "float32")
        for reset_after in (True, False):
            with self.subTest(reset_after=reset_after):
                rnn = keras.layers.RNN(
                    GRUCell(
                        UNITS,
                        activation=None,
                        dropout=rate,
                        reset_after=reset_after,
                        seed=3,
                    ),
                    return_sequences=True,
                )
                rnn.build(x.shape)
                kernel = np.zeros((INPUT_DIM, 3 * UNITS), "float32")
                kernel[:, 2 * UNITS :] = np.eye(INPUT_DIM, UNITS)
                rnn.set_weights(
                    [
                        kernel,
                        np.zeros((UNITS, 3 * UNITS), "float32"),
                        self.gate_bias(reset_after, np.zeros(UNITS)),
                    ]
                )
                outputs = to_numpy(rnn(x, training=True))
                self.assertAllClose(
                    outputs, np.repeat(outputs[:, :1], TIME, axis=1), atol=1e-6
                )
                kept = outputs[:, 0, :INPUT_DIM]
                self.assertAllClose(
                    np.minimum(kept, 1 / (1 - rate) - kept), 0 * kept, atol=1e-6
                )
                self.assertTrue(0 < (kept > 0.5).sum() < kept.size)

    def test_recurrent_dropout_mask_is_shared_across_timesteps(self):
        # With z = 0, r = 1 and linear activation, h_t = 1 + s * m * h_{t-1}
        # for a recurrent mask m in {0, 1} and s = 1 / (1 - rate): a dropped
        # unit stays at 1, a kept one follows 1, 1 + s, 1 + s + s^2, ...
        rate = 0.5
        s = 1 / (1 - rate)
        geometric = np.cumsum(s ** np.arange(TIME))  # (time,)
        for reset_after in (True, False):
            with self.subTest(reset_after=reset_after):
                rnn = keras.layers.RNN(
                    GRUCell(
                        UNITS,
                        activation=None,
                        recurrent_dropout=rate,
                        reset_after=reset_after,
                        seed=4,
                    ),
                    return_sequences=True,
                )
                rnn.build(self.x.shape)
                recurrent_kernel = np.zeros((UNITS, 3 * UNITS), "float32")
                recurrent_kernel[:, 2 * UNITS :] = np.eye(UNITS)
                rnn.set_weights(
                    [
                        np.zeros((INPUT_DIM, 3 * UNITS), "float32"),
                        recurrent_kernel,
                        self.gate_bias(reset_after, np.ones(UNITS)),
                    ]
                )
                outputs = to_numpy(rnn(self.x, training=True))
                kept = outputs[:, 1] > 1.5  # (batch_size, units)
                expected = np.where(
                    kept[:, None, :], geometric[None, :, None], 1.0
                )
                self.assertAllClose(outputs, expected, atol=1e-4, rtol=1e-5)
                self.assertTrue(0 < kept.sum() < kept.size)

    # Step-by-step use.

    def test_stepping_with_scan_matches_rnn(self):
        rnn = keras.layers.RNN(
            GRUCell(UNITS, layer_normalization=True),
            return_sequences=True,
            return_state=True,
        )
        expected = rnn(self.x, initial_state=[self.h0])
        cell = rnn.cell

        def step(states, x_t):
            _, new_states = cell(x_t, states)
            # The TensorFlow `scan` needs per-step outputs shaped like the carry.
            return new_states, new_states

        (h,), (all_h,) = ops.scan(
            step,
            [ops.convert_to_tensor(self.h0)],
            ops.transpose(ops.convert_to_tensor(self.x), (1, 0, 2)),
        )
        self.assertAllClose(
            [ops.transpose(all_h, (1, 0, 2)), h], list(expected), atol=1e-5
        )

    def test_get_initial_state(self):
        cell = GRUCell(UNITS)
        states = cell.get_initial_state(batch_size=BATCH)
        self.assertAllEqual(states, [np.zeros((BATCH, UNITS))])
        self.assertEqual(cell.state_size, UNITS)
        self.assertEqual(cell.output_size, UNITS)

    # Serialization.

    def test_config_roundtrip(self):
        for reset_after in (True, False):
            with self.subTest(reset_after=reset_after):
                self.run_layer_test(
                    GRUCell,
                    {
                        "units": UNITS,
                        "recurrent_activation": "hard_sigmoid",
                        "reset_after": reset_after,
                        "bias_regularizer": "l2",
                        "dropout": 0.2,
                        "recurrent_dropout": 0.1,
                        "seed": 5,
                        "layer_normalization": True,
                        "layer_norm_epsilon": 1e-5,
                    },
                    input_data=(self.x[:, 0], [self.h0]),
                    expected_output_shape=[(BATCH, UNITS)] * 2,  # output, states
                    expected_num_trainable_weights=5,
                )

    def test_saving(self):
        cell = GRUCell(UNITS, dropout=0.3, layer_normalization=True)
        rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
        rnn.build(self.x.shape)
        rnn.set_weights(self.random_weights(rnn.get_weights()))
        restored = self.run_layer_saving_test(rnn, self.x, atol=1e-6)
        self.assertIsInstance(restored.layers[-1].cell, GRUCell)

    def test_docstring_example(self):
        result = doctest.testmod(
            gru_cell,
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
                    GRUCell(**kwargs)
