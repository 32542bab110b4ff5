import doctest

import keras
import numpy as np
from keras import ops

import keras_s2s
from keras_s2s.layers import SimpleRNNCell
from keras_s2s.layers import simple_rnn_cell
from tests.test_case import TestCase
from tests.test_case import to_numpy

BATCH, TIME, INPUT_DIM, UNITS = 3, 6, 4, 5


def layer_norm(x, epsilon):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + epsilon)


def numpy_elman_step(x, h, kernel, recurrent_kernel, bias, gammas=None, eps=1e-3):
    """Textbook Elman step; `gammas` are the layer-norm gains if enabled."""
    x_proj, h_proj = x @ kernel, h @ recurrent_kernel
    if gammas is not None:
        x_proj = layer_norm(x_proj, eps) * gammas[0]
        h_proj = layer_norm(h_proj, eps) * gammas[1]
    return np.tanh(x_proj + h_proj + bias)


class SimpleRNNCellTest(TestCase):
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
        cell = SimpleRNNCell(UNITS, **kwargs)
        cell.build((BATCH, INPUT_DIM))
        return cell

    # Parity with `keras.layers.SimpleRNN`.

    def call_variants(self):
        """Call arguments: plain, padding mask, mask and initial state."""
        return [
            {},
            {"mask": self.mask},
            {"mask": self.mask, "initial_state": [self.h0]},
        ]

    def run_parity(self, ours_to_keras, variants):
        ours = keras.layers.RNN(
            SimpleRNNCell(UNITS), return_sequences=True, return_state=True
        )
        theirs = keras.layers.SimpleRNN(
            UNITS, return_sequences=True, return_state=True
        )
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
                self.assertLen(actual, 2)  # sequences, h
                self.assertGreater(np.abs(to_numpy(expected[0])).max(), 0.1)
                self.assertAllClose(actual, expected, atol=1e-5, rtol=1e-5)

    def test_matches_keras_simple_rnn(self):
        self.run_parity(False, self.call_variants())

    def test_weights_move_into_keras_simple_rnn(self):
        self.run_parity(True, self.call_variants()[-1:])

    def test_weight_layout(self):
        cell = self.built_cell(layer_normalization=True)
        keras_cell = keras.layers.SimpleRNNCell(UNITS)
        keras_cell.build((BATCH, INPUT_DIM))
        names = [w.path.split("/")[-1] for w in cell.weights]
        self.assertEqual(
            names[:3], [w.path.split("/")[-1] for w in keras_cell.weights]
        )
        self.assertEqual(names[3:], ["input_norm_gamma", "recurrent_norm_gamma"])
        self.assertEqual(
            [tuple(w.shape) for w in cell.weights],
            [(INPUT_DIM, UNITS), (UNITS, UNITS), (UNITS,), (UNITS,), (UNITS,)],
        )

    # Golden values.

    def test_one_step_matches_numpy(self):
        for layer_normalization in (False, True):
            with self.subTest(layer_normalization=layer_normalization):
                cell = self.built_cell(layer_normalization=layer_normalization)
                weights = self.random_weights(cell.get_weights())
                weights[3:] = [w + 1.0 for w in weights[3:]]  # gains near 1
                cell.set_weights(weights)
                x = self.x[:, 0]
                output, (h,) = cell(x, [self.h0])
                expected = numpy_elman_step(
                    x,
                    self.h0,
                    *weights[:3],
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

    def test_layer_normalized_projections_have_zero_mean_unit_variance(self):
        # With a linear activation and zero bias, h = LN(x W) + LN(h0 U); a
        # zero U (or W) leaves the other normalized projection alone.
        cell = self.built_cell(
            activation=None, layer_normalization=True, layer_norm_epsilon=1e-6
        )
        kernel, recurrent_kernel = self.random_weights(cell.get_weights()[:2])
        for name, weights in [
            ("input", [kernel, np.zeros_like(recurrent_kernel)]),
            ("recurrent", [np.zeros_like(kernel), recurrent_kernel]),
        ]:
            with self.subTest(projection=name):
                cell.set_weights(
                    weights + [np.zeros(UNITS)] + cell.get_weights()[3:]
                )
                h = to_numpy(cell(self.x[:, 0], [self.h0])[0])
                self.assertAllClose(h.mean(-1), np.zeros(BATCH), atol=1e-5)
                self.assertAllClose(h.var(-1), np.ones(BATCH), atol=1e-4)

    def test_layer_normalization_is_invariant_to_weight_scale(self):
        cell = self.built_cell(layer_normalization=True, layer_norm_epsilon=1e-9)
        weights = self.random_weights(cell.get_weights())
        cell.set_weights(weights)
        args = (self.x[:, 0], [self.h0])
        expected = cell(*args)
        cell.set_weights([7.0 * weights[0], 0.2 * weights[1]] + weights[2:])
        self.assertAllClose(cell(*args), expected, atol=1e-5)

    # Dropout.

    def test_dropout_only_in_training_and_inference_is_deterministic(self):
        rnn = keras.layers.RNN(
            SimpleRNNCell(UNITS, dropout=0.5, recurrent_dropout=0.5, seed=1),
            return_sequences=True,
        )
        reference = keras.layers.RNN(SimpleRNNCell(UNITS), return_sequences=True)
        rnn.build(self.x.shape)
        reference.build(self.x.shape)
        reference.set_weights(rnn.get_weights())
        inference = rnn(self.x, training=False)
        self.assertAllClose(rnn(self.x, training=False), inference)
        self.assertAllClose(reference(self.x), inference, atol=1e-6)
        training = to_numpy(rnn(self.x, training=True))
        self.assertGreater(np.abs(training - to_numpy(inference)).max(), 1e-2)

    def test_input_dropout_mask_is_shared_across_timesteps(self):
        # With a linear activation and no recurrence, each step outputs
        # (x_t * mask) @ W; a constant x_t then gives the same output at every
        # step exactly when the mask is the same.
        rate = 0.5
        x = np.ones((BATCH, TIME, INPUT_DIM), "float32")
        rnn = keras.layers.RNN(
            SimpleRNNCell(UNITS, activation=None, dropout=rate, seed=3),
            return_sequences=True,
        )
        rnn.build(x.shape)
        rnn.set_weights(
            [
                np.eye(INPUT_DIM, UNITS, dtype="float32"),
                np.zeros((UNITS, UNITS), "float32"),
                np.zeros(UNITS, "float32"),
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
        # With a linear activation, W = 0, U = I and b = 1,
        # h_t = 1 + s * m * h_{t-1} for a recurrent mask m in {0, 1} and
        # s = 1 / (1 - rate): a dropped unit stays at 1, a kept one follows
        # 1, 1 + s, 1 + s + s^2, ...
        rate = 0.5
        s = 1 / (1 - rate)
        rnn = keras.layers.RNN(
            SimpleRNNCell(UNITS, activation=None, recurrent_dropout=rate, seed=4),
            return_sequences=True,
        )
        rnn.build(self.x.shape)
        rnn.set_weights(
            [
                np.zeros((INPUT_DIM, UNITS), "float32"),
                np.eye(UNITS, dtype="float32"),
                np.ones(UNITS, "float32"),
            ]
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
            SimpleRNNCell(UNITS, layer_normalization=True),
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
        cell = SimpleRNNCell(UNITS)
        states = cell.get_initial_state(batch_size=BATCH)
        self.assertAllEqual(states, [np.zeros((BATCH, UNITS))])
        self.assertEqual(cell.state_size, UNITS)
        self.assertEqual(cell.output_size, UNITS)

    # Serialization.

    def test_config_roundtrip(self):
        self.run_layer_test(
            SimpleRNNCell,
            {
                "units": UNITS,
                "activation": "relu",
                "recurrent_regularizer": "l2",
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
        cell = SimpleRNNCell(UNITS, dropout=0.3, layer_normalization=True)
        rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
        rnn.build(self.x.shape)
        rnn.set_weights(self.random_weights(rnn.get_weights()))
        restored = self.run_layer_saving_test(rnn, self.x, atol=1e-6)
        self.assertIsInstance(restored.layers[-1].cell, SimpleRNNCell)

    def test_docstring_example(self):
        result = doctest.testmod(
            simple_rnn_cell,
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
                    SimpleRNNCell(**kwargs)
