import doctest
import importlib

import keras
import numpy as np
from keras import ops

import keras_s2s
from keras_s2s.layers import LuongAttention
from tests.test_case import TestCase

BATCH, TARGET, SOURCE, QUERY_DIM, VALUE_DIM, UNITS = 3, 4, 6, 5, 7, 8
# Row 0 is full, row 1 has 2 padding positions, row 2 has a single token.
LENGTHS = np.array([6, 4, 1])
# (init kwargs, query_dim): "dot" needs query_dim == value_dim.
CONFIGS = [
    ({"score_mode": "dot"}, VALUE_DIM),
    ({"score_mode": "dot", "use_scale": True}, VALUE_DIM),
    ({"score_mode": "general"}, QUERY_DIM),
    ({"score_mode": "general", "use_scale": True}, QUERY_DIM),
    ({"score_mode": "concat", "units": UNITS}, QUERY_DIM),
    ({"score_mode": "concat", "units": UNITS, "use_scale": True}, QUERY_DIM),
]


def _inputs(query_dim=QUERY_DIM, seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(BATCH, TARGET, query_dim)).astype("float32")
    value = rng.normal(size=(BATCH, SOURCE, VALUE_DIM)).astype("float32")
    mask = np.arange(SOURCE)[None, :] < LENGTHS[:, None]
    return query, value, mask


def _np_softmax(scores, mask):
    scores = np.where(mask, scores, -np.inf)
    exp = np.exp(scores - scores.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def _np_luong(query, value, mask, score_mode, w):
    """Luong attention in NumPy (float64), rank-3 query."""
    if score_mode == "dot":
        scores = query @ np.swapaxes(value, 1, 2)
    elif score_mode == "general":
        keys = value @ w["key_dense/kernel"]  # (batch, source, query_dim)
        scores = query @ np.swapaxes(keys, 1, 2)
    else:
        hidden = (query @ w["query_dense/kernel"])[:, :, None, :] + (
            value @ w["key_dense/kernel"]
        )[:, None, :, :]
        scores = np.tanh(hidden) @ w["attention_v"]
    scores = scores * w.get("scale", 1.0)
    weights = _np_softmax(scores, mask[:, None, :])
    return weights @ value, weights


def _set_random_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") for w in layer.weights]
    if "scale" in [w.path.split("/", 1)[1] for w in layer.weights]:
        # Keep the scores in a range where the softmax is not one-hot.
        weights = [x if x.shape else np.float32(0.7) for x in weights]
    layer.set_weights(weights)
    # Keyed by the path inside the layer, e.g. "key_dense/kernel".
    return {w.path.split("/", 1)[1]: x for w, x in zip(layer.weights, weights)}


class LuongAttentionTest(TestCase):
    def _layer(self, kwargs, query_dim):
        layer = LuongAttention(**kwargs)
        query, value, _ = _inputs(query_dim)
        layer(query, value)
        return layer, _set_random_weights(layer)

    def test_golden_values(self):
        for kwargs, query_dim in CONFIGS:
            with self.subTest(**kwargs):
                query, value, mask = _inputs(query_dim)
                layer, w = self._layer(kwargs, query_dim)
                context, weights = layer(
                    query, value, value_mask=mask, return_attention_scores=True
                )
                expected_context, expected_weights = _np_luong(
                    query.astype("float64"),
                    value.astype("float64"),
                    mask,
                    kwargs["score_mode"],
                    w,
                )
                self.assertAllClose(weights, expected_weights, atol=1e-5)
                self.assertAllClose(context, expected_context, atol=1e-5)

    def test_weight_names_and_shapes(self):
        expected = {
            "dot": {},
            "general": {"key_dense/kernel": (VALUE_DIM, QUERY_DIM)},
            "concat": {
                "attention_v": (UNITS,),
                "query_dense/kernel": (QUERY_DIM, UNITS),
                "key_dense/kernel": (VALUE_DIM, UNITS),
            },
        }
        for kwargs, query_dim in CONFIGS:
            with self.subTest(**kwargs):
                layer, _ = self._layer(kwargs, query_dim)
                shapes = {
                    w.path.split("/", 1)[1]: tuple(w.shape) for w in layer.weights
                }
                want = dict(expected[kwargs["score_mode"]])
                if kwargs.get("use_scale"):
                    want["scale"] = ()
                self.assertEqual(shapes, want)
        layer = LuongAttention(use_scale=True)
        layer.build((BATCH, VALUE_DIM), (BATCH, SOURCE, VALUE_DIM))
        self.assertAllClose(layer.scale, 1.0)

    def test_weights_are_distributions_zero_on_padding(self):
        for kwargs, query_dim in CONFIGS:
            with self.subTest(**kwargs):
                query, value, mask = _inputs(query_dim)
                layer, _ = self._layer(kwargs, query_dim)
                _, weights = layer(
                    query, value, value_mask=mask, return_attention_scores=True
                )
                weights = ops.convert_to_numpy(weights)
                padding = np.broadcast_to(~mask[:, None, :], weights.shape)
                self.assertAllEqual(weights[padding], np.zeros(padding.sum()))
                self.assertAllClose(
                    weights.sum(-1), np.ones((BATCH, TARGET)), atol=1e-6
                )

    def test_all_padding_row_gives_zero_weights_and_context(self):
        query, value, mask = _inputs()
        mask[0] = False
        layer, _ = self._layer({"score_mode": "general"}, QUERY_DIM)
        context, weights = layer(
            query, value, value_mask=mask, return_attention_scores=True
        )
        self.assertAllEqual(weights[0], np.zeros((TARGET, SOURCE)))
        self.assertAllEqual(context[0], np.zeros((TARGET, VALUE_DIM)))

    def test_one_step_query_equals_sequence_of_one(self):
        for kwargs, query_dim in CONFIGS:
            with self.subTest(**kwargs):
                query, value, mask = _inputs(query_dim)
                layer, _ = self._layer(kwargs, query_dim)
                step_context, step_weights = layer(
                    query[:, 2], value, value_mask=mask, return_attention_scores=True
                )
                self.assertEqual(tuple(step_context.shape), (BATCH, VALUE_DIM))
                self.assertEqual(tuple(step_weights.shape), (BATCH, SOURCE))
                context, weights = layer(
                    query[:, 2:3],
                    value,
                    value_mask=mask,
                    return_attention_scores=True,
                )
                self.assertAllClose(step_context, context[:, 0], atol=1e-6)
                self.assertAllClose(step_weights, weights[:, 0], atol=1e-6)

    def test_precomputed_keys_equal_keys_computed_in_call(self):
        key_shapes = {
            "dot": (BATCH, SOURCE, VALUE_DIM),
            "general": (BATCH, SOURCE, QUERY_DIM),
            "concat": (BATCH, SOURCE, UNITS),
        }
        for kwargs, query_dim in CONFIGS:
            with self.subTest(**kwargs):
                query, value, mask = _inputs(query_dim)
                layer, w = self._layer(kwargs, query_dim)
                key = layer.precompute_keys(value)
                self.assertEqual(
                    tuple(key.shape), key_shapes[kwargs["score_mode"]]
                )
                if kwargs["score_mode"] == "dot":
                    self.assertAllEqual(key, value)
                else:
                    self.assertAllClose(
                        key, value @ w["key_dense/kernel"], atol=1e-5
                    )
                self.assertAllClose(
                    layer(query, value, key=key, value_mask=mask),
                    layer(query, value, value_mask=mask),
                    atol=1e-6,
                )

    def test_layer_and_config_round_trip(self):
        num_weights = {"dot": 0, "general": 1, "concat": 3}
        for kwargs, query_dim in CONFIGS:
            with self.subTest(**kwargs):
                query, value, mask = _inputs(query_dim)
                self.run_layer_test(
                    LuongAttention,
                    kwargs,
                    (query, value),
                    expected_output_shape=[
                        (BATCH, TARGET, VALUE_DIM),
                        (BATCH, TARGET, SOURCE),
                    ],
                    expected_num_trainable_weights=num_weights[
                        kwargs["score_mode"]
                    ]
                    + int(kwargs.get("use_scale", False)),
                    call_kwargs={
                        "value_mask": mask,
                        "return_attention_scores": True,
                    },
                )

    def test_saving(self):
        for kwargs, query_dim in CONFIGS[1::2]:
            with self.subTest(**kwargs):
                query, value, mask = _inputs(query_dim)
                layer, _ = self._layer(kwargs, query_dim)
                key = ops.convert_to_numpy(layer.precompute_keys(value))
                self.run_layer_saving_test(
                    layer,
                    (query[:, 0], value, key, mask),
                    call_kwargs={"return_attention_scores": True},
                )
        query, value, _ = _inputs()
        layer, _ = self._layer({"score_mode": "concat", "units": UNITS}, QUERY_DIM)
        self.run_layer_saving_test(layer, (query, value))

    def test_mixed_precision(self):
        kwargs = {"score_mode": "concat", "units": UNITS, "use_scale": True}
        query, value, mask = _inputs()
        layer, _ = self._layer(kwargs, QUERY_DIM)
        half = LuongAttention(**kwargs, dtype="mixed_bfloat16")
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
        with self.assertRaisesRegex(
            ValueError,
            r"^Expected score_mode in \{'dot', 'general', 'concat'\}\. "
            r"Received: score_mode='add'$",
        ):
            LuongAttention(score_mode="add")
        with self.assertRaisesRegex(ValueError, "units=None"):
            LuongAttention(score_mode="concat")
        for units in (0, -1, 1.5):
            with self.assertRaisesRegex(
                ValueError,
                f"Expected units to be a positive integer. Received: units={units}",
            ):
                LuongAttention(score_mode="concat", units=units)
        with self.assertRaisesRegex(ValueError, "only by score_mode='concat'"):
            LuongAttention(score_mode="general", units=4)
        with self.assertRaisesRegex(ValueError, "use_scale"):
            LuongAttention(use_scale=1)

    def test_dot_needs_equal_dims(self):
        query, value, _ = _inputs(QUERY_DIM)
        with self.assertRaisesRegex(
            ValueError,
            f"score_mode='dot' needs query_dim == value_dim.*"
            f"query_dim={QUERY_DIM}, value_dim={VALUE_DIM}",
        ):
            LuongAttention()(query, value)

    def test_invalid_ranks(self):
        query, value, _ = _inputs()
        layer = LuongAttention(score_mode="general")
        with self.assertRaisesRegex(ValueError, "precompute_keys"):
            layer.precompute_keys(value)
        with self.assertRaisesRegex(ValueError, "`query` of rank 2 .* rank 4"):
            layer(query[..., None], value)
        with self.assertRaisesRegex(ValueError, "`value` of rank 3 .* rank 2"):
            layer(query, value[:, 0])
        layer(query, value)
        with self.assertRaisesRegex(ValueError, "`query` of rank 2 .* rank 1"):
            layer(query[0, 0], value)

    def test_docstring_example(self):
        module = importlib.import_module("keras_s2s.layers.luong_attention")
        result = doctest.testmod(
            module, extraglobs={"np": np, "keras": keras, "keras_s2s": keras_s2s}
        )
        self.assertGreater(result.attempted, 0)
        self.assertEqual(result.failed, 0)
