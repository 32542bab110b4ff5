import doctest
import importlib

import keras
import numpy as np
from keras import ops

import keras_s2s
from keras_s2s.layers import BahdanauAttention
from tests.test_case import TestCase

BATCH, TARGET, SOURCE, QUERY_DIM, VALUE_DIM, UNITS = 3, 4, 6, 5, 7, 8
# Row 0 is full, row 1 has 2 padding positions, row 2 has a single token.
LENGTHS = np.array([6, 4, 1])


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(BATCH, TARGET, QUERY_DIM)).astype("float32")
    value = rng.normal(size=(BATCH, SOURCE, VALUE_DIM)).astype("float32")
    mask = np.arange(SOURCE)[None, :] < LENGTHS[:, None]
    return query, value, mask


def _np_softmax(scores, mask):
    scores = np.where(mask, scores, -np.inf)
    exp = np.exp(scores - scores.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def _np_bahdanau(query, value, mask, w_q, w_k, v, g=None, b=None):
    """Additive attention in NumPy (float64), rank-3 query."""
    hidden = (query @ w_q)[:, :, None, :] + (value @ w_k)[:, None, :, :]
    if g is not None:
        hidden = hidden + b
        v = g * v / np.linalg.norm(v)
    scores = np.tanh(hidden) @ v  # (batch, target, source)
    weights = _np_softmax(scores, mask[:, None, :])
    return weights @ value, weights


def _set_random_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    # Keyed by the path inside the layer, e.g. "query_dense/kernel".
    return {w.path.split("/", 1)[1]: x for w, x in zip(layer.weights, weights)}


class BahdanauAttentionTest(TestCase):
    def _layer(self, normalize=False):
        layer = BahdanauAttention(UNITS, normalize=normalize)
        query, value, _ = _inputs()
        layer(query, value)
        return layer, _set_random_weights(layer)

    def test_golden_values(self):
        query, value, mask = _inputs()
        for normalize in (False, True):
            with self.subTest(normalize=normalize):
                layer, w = self._layer(normalize)
                context, weights = layer(
                    query, value, value_mask=mask, return_attention_scores=True
                )
                extra = (
                    (w["attention_g"], w["attention_b"]) if normalize else ()
                )
                expected_context, expected_weights = _np_bahdanau(
                    query.astype("float64"),
                    value.astype("float64"),
                    mask,
                    w["query_dense/kernel"],
                    w["key_dense/kernel"],
                    w["attention_v"],
                    *extra,
                )
                self.assertAllClose(weights, expected_weights, atol=1e-5)
                self.assertAllClose(context, expected_context, atol=1e-5)

    def test_weight_names_and_shapes(self):
        layer, _ = self._layer(normalize=True)
        shapes = {w.path.split("/", 1)[1]: tuple(w.shape) for w in layer.weights}
        self.assertEqual(
            shapes,
            {
                "attention_v": (UNITS,),
                "attention_g": (),
                "attention_b": (UNITS,),
                "query_dense/kernel": (QUERY_DIM, UNITS),
                "key_dense/kernel": (VALUE_DIM, UNITS),
            },
        )
        # Weight normalization starts at g = sqrt(1 / units), b = 0.
        fresh = BahdanauAttention(UNITS, normalize=True)
        fresh.build((BATCH, QUERY_DIM), (BATCH, SOURCE, VALUE_DIM))
        self.assertAllClose(fresh.attention_g, np.sqrt(1.0 / UNITS))
        self.assertAllEqual(fresh.attention_b, np.zeros(UNITS))

    def test_weights_are_distributions_zero_on_padding(self):
        query, value, mask = _inputs()
        layer, _ = self._layer()
        _, weights = layer(query, value, value_mask=mask, return_attention_scores=True)
        weights = ops.convert_to_numpy(weights)
        padding = np.broadcast_to(~mask[:, None, :], weights.shape)
        self.assertAllEqual(weights[padding], np.zeros(padding.sum()))
        self.assertAllClose(weights.sum(-1), np.ones((BATCH, TARGET)), atol=1e-6)
        # A single real token takes all the weight.
        self.assertAllClose(weights[2, :, 0], np.ones(TARGET), atol=1e-6)

    def test_all_padding_row_gives_zero_weights_and_context(self):
        query, value, mask = _inputs()
        mask[1] = False
        layer, _ = self._layer()
        context, weights = layer(
            query, value, value_mask=mask, return_attention_scores=True
        )
        self.assertAllEqual(weights[1], np.zeros((TARGET, SOURCE)))
        self.assertAllEqual(context[1], np.zeros((TARGET, VALUE_DIM)))

    def test_one_step_query_equals_sequence_of_one(self):
        query, value, mask = _inputs()
        layer, _ = self._layer()
        step_context, step_weights = layer(
            query[:, 1], value, value_mask=mask, return_attention_scores=True
        )
        self.assertEqual(tuple(step_context.shape), (BATCH, VALUE_DIM))
        self.assertEqual(tuple(step_weights.shape), (BATCH, SOURCE))
        context, weights = layer(
            query[:, 1:2], value, value_mask=mask, return_attention_scores=True
        )
        self.assertAllClose(step_context, context[:, 0], atol=1e-6)
        self.assertAllClose(step_weights, weights[:, 0], atol=1e-6)

    def test_precomputed_keys_equal_keys_computed_in_call(self):
        query, value, mask = _inputs()
        for normalize in (False, True):
            layer, w = self._layer(normalize)
            key = layer.precompute_keys(value)
            self.assertAllClose(key, value @ w["key_dense/kernel"], atol=1e-5)
            self.assertAllClose(
                layer(query, value, key=key, value_mask=mask),
                layer(query, value, value_mask=mask),
                atol=1e-6,
            )

    def test_layer_and_config_round_trip(self):
        query, value, mask = _inputs()
        for normalize, num_weights in ((False, 3), (True, 5)):
            self.run_layer_test(
                BahdanauAttention,
                {"units": UNITS, "normalize": normalize},
                (query, value),
                expected_output_shape=[
                    (BATCH, TARGET, VALUE_DIM),
                    (BATCH, TARGET, SOURCE),
                ],
                expected_num_trainable_weights=num_weights,
                call_kwargs={"value_mask": mask, "return_attention_scores": True},
            )

    def test_saving(self):
        query, value, mask = _inputs()
        layer, _ = self._layer(normalize=True)
        self.run_layer_saving_test(layer, (query, value))
        # A fresh layer: a functional graph requires every call of a layer to
        # return the same structure as its first.
        layer, _ = self._layer(normalize=True)
        key = ops.convert_to_numpy(layer.precompute_keys(value))
        self.run_layer_saving_test(
            layer,
            (query[:, 0], value, key, mask),
            call_kwargs={"return_attention_scores": True},
        )

    def test_mixed_precision(self):
        query, value, mask = _inputs()
        layer, _ = self._layer()
        half = BahdanauAttention(UNITS, dtype="mixed_bfloat16")
        half(query, value)
        half.set_weights(layer.get_weights())
        context, weights = half(
            query, value, value_mask=mask, return_attention_scores=True
        )
        self.assertEqual(keras.backend.standardize_dtype(context.dtype), "bfloat16")
        weights = ops.convert_to_numpy(ops.cast(weights, "float32"))
        self.assertAllEqual(weights[1, :, 4:], np.zeros((TARGET, 2)))
        self.assertAllClose(weights.sum(-1), np.ones((BATCH, TARGET)), atol=2e-2)
        expected = layer(query, value, value_mask=mask)
        self.assertAllClose(
            ops.cast(context, "float32"), expected, atol=0.1, rtol=0.05
        )

    def test_invalid_arguments(self):
        for units in (0, -3, 2.5, None):
            with self.assertRaisesRegex(
                ValueError, f"Expected units to be a positive integer. Received: units={units}"
            ):
                BahdanauAttention(units)
        with self.assertRaisesRegex(ValueError, "normalize"):
            BahdanauAttention(4, normalize="yes")

    def test_invalid_ranks(self):
        query, value, _ = _inputs()
        layer = BahdanauAttention(UNITS)
        with self.assertRaisesRegex(ValueError, "precompute_keys"):
            layer.precompute_keys(value)
        with self.assertRaisesRegex(ValueError, "`query` of rank 2 .* rank 4"):
            layer(query[..., None], value)
        with self.assertRaisesRegex(ValueError, "`value` of rank 3 .* rank 2"):
            layer(query, value[:, 0])
        layer(query, value)
        with self.assertRaisesRegex(ValueError, "`query` of rank 2 .* rank 1"):
            layer(query[0, 0], value)
        with self.assertRaisesRegex(ValueError, "`value` of rank 3 .* rank 4"):
            layer(query, value[..., None])

    def test_docstring_example(self):
        module = importlib.import_module("keras_s2s.layers.bahdanau_attention")
        result = doctest.testmod(
            module, extraglobs={"np": np, "keras": keras, "keras_s2s": keras_s2s}
        )
        self.assertGreater(result.attempted, 0)
        self.assertEqual(result.failed, 0)
