import doctest
import importlib

import keras
import numpy as np
from keras import ops

import keras_s2s
from keras_s2s.layers import MultiHeadAttention
from tests.test_case import TestCase

BATCH, TARGET, SOURCE, QUERY_DIM, VALUE_DIM = 3, 4, 6, 5, 7
NUM_HEADS, KEY_DIM = 2, 3
# Row 0 is full, row 1 has 2 padding positions, row 2 has a single token.
LENGTHS = np.array([6, 4, 1])


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(BATCH, TARGET, QUERY_DIM)).astype("float32")
    value = rng.normal(size=(BATCH, SOURCE, VALUE_DIM)).astype("float32")
    mask = np.arange(SOURCE)[None, :] < LENGTHS[:, None]
    return query, value, mask


def _keras_reference(layer, query, value, mask):
    """`keras.layers.MultiHeadAttention` with `layer`'s weights, heads averaged."""
    reference = keras.layers.MultiHeadAttention(
        num_heads=layer.num_heads,
        key_dim=layer.key_dim,
        value_dim=layer.value_dim,
        use_bias=layer.use_bias,
        output_shape=(value.shape[-1],),
    )
    reference.build(query.shape, value.shape)
    reference.set_weights(layer.attention.get_weights())
    attention_mask = np.broadcast_to(
        mask[:, None, :], (query.shape[0], query.shape[1], value.shape[1])
    )
    context, scores = reference(
        query, value, attention_mask=attention_mask, return_attention_scores=True
    )
    return context, ops.mean(scores, axis=1)  # scores: (batch, heads, T, S)


def _layer(weights_seed=1, **kwargs):
    kwargs = {"num_heads": NUM_HEADS, "key_dim": KEY_DIM, **kwargs}
    layer = MultiHeadAttention(**kwargs)
    query, value, _ = _inputs()
    layer(query, value)
    rng = np.random.default_rng(weights_seed)
    layer.set_weights(
        [rng.normal(size=w.shape).astype("float32") * 0.5 for w in layer.weights]
    )
    return layer


class MultiHeadAttentionTest(TestCase):
    def test_parity_with_keras_multi_head_attention(self):
        query, value, mask = _inputs()
        for kwargs in ({}, {"value_dim": 4, "use_bias": False}):
            with self.subTest(**kwargs):
                layer = _layer(**kwargs)
                context, weights = layer(
                    query, value, value_mask=mask, return_attention_scores=True
                )
                expected_context, expected_weights = _keras_reference(
                    layer, query, value, mask
                )
                self.assertAllClose(weights, expected_weights, atol=1e-5)
                self.assertAllClose(context, expected_context, atol=1e-5)

    def test_wrapped_layer_and_weight_shapes(self):
        layer = _layer()
        self.assertIsInstance(layer.attention, keras.layers.MultiHeadAttention)
        shapes = {w.path.split("/", 2)[2]: tuple(w.shape) for w in layer.weights}
        self.assertEqual(
            shapes,
            {
                "query/kernel": (QUERY_DIM, NUM_HEADS, KEY_DIM),
                "query/bias": (NUM_HEADS, KEY_DIM),
                "key/kernel": (VALUE_DIM, NUM_HEADS, KEY_DIM),
                "key/bias": (NUM_HEADS, KEY_DIM),
                "value/kernel": (VALUE_DIM, NUM_HEADS, KEY_DIM),
                "value/bias": (NUM_HEADS, KEY_DIM),
                "attention_output/kernel": (NUM_HEADS, KEY_DIM, VALUE_DIM),
                "attention_output/bias": (VALUE_DIM,),
            },
        )

    def test_weights_are_distributions_zero_on_padding(self):
        query, value, mask = _inputs()
        layer = _layer()
        _, weights = layer(query, value, value_mask=mask, return_attention_scores=True)
        weights = ops.convert_to_numpy(weights)
        padding = np.broadcast_to(~mask[:, None, :], weights.shape)
        self.assertAllEqual(weights[padding], np.zeros(padding.sum()))
        self.assertAllClose(weights.sum(-1), np.ones((BATCH, TARGET)), atol=1e-6)

    def test_all_padding_row_gives_zero_weights(self):
        query, value, mask = _inputs()
        mask[2] = False
        layer = _layer()
        context, weights = layer(
            query, value, value_mask=mask, return_attention_scores=True
        )
        self.assertAllEqual(weights[2], np.zeros((TARGET, SOURCE)))
        # Only the output bias is left.
        self.assertAllClose(
            context[2],
            np.broadcast_to(layer.attention.output_dense.bias, (TARGET, VALUE_DIM)),
        )

    def test_one_step_query_equals_sequence_of_one(self):
        query, value, mask = _inputs()
        layer = _layer()
        step_context, step_weights = layer(
            query[:, 3], value, value_mask=mask, return_attention_scores=True
        )
        self.assertEqual(tuple(step_context.shape), (BATCH, VALUE_DIM))
        self.assertEqual(tuple(step_weights.shape), (BATCH, SOURCE))
        context, weights = layer(
            query[:, 3:4], value, value_mask=mask, return_attention_scores=True
        )
        self.assertAllClose(step_context, context[:, 0], atol=1e-6)
        self.assertAllClose(step_weights, weights[:, 0], atol=1e-6)

    def test_precomputed_keys_equal_keys_computed_in_call(self):
        query, value, mask = _inputs()
        layer = _layer()
        key = layer.precompute_keys(value)
        self.assertEqual(tuple(key.shape), (BATCH, SOURCE, NUM_HEADS, KEY_DIM))
        kernel = ops.convert_to_numpy(layer.attention.key_dense.kernel)
        bias = ops.convert_to_numpy(layer.attention.key_dense.bias)
        self.assertAllClose(
            key, np.einsum("bsd,dnh->bsnh", value, kernel) + bias, atol=1e-5
        )
        self.assertAllClose(
            layer(query, value, key=key, value_mask=mask),
            layer(query, value, value_mask=mask),
            atol=1e-6,
        )

    def test_dropout(self):
        query, value, mask = _inputs()
        layer = _layer(dropout=0.5, seed=3)
        plain = _layer()
        inference = layer(query, value, value_mask=mask)
        self.assertAllClose(inference, plain(query, value, value_mask=mask))
        trained, weights = layer(
            query,
            value,
            value_mask=mask,
            training=True,
            return_attention_scores=True,
        )
        self.assertGreater(
            np.abs(ops.convert_to_numpy(trained - inference)).max(), 1e-3
        )
        # The returned weights are taken before dropout.
        _, expected_weights = plain(
            query, value, value_mask=mask, return_attention_scores=True
        )
        self.assertAllClose(weights, expected_weights, atol=1e-6)

    def test_layer_and_config_round_trip(self):
        query, value, mask = _inputs()
        self.run_layer_test(
            MultiHeadAttention,
            {"num_heads": NUM_HEADS, "key_dim": KEY_DIM, "value_dim": 4},
            (query, value),
            expected_output_shape=[
                (BATCH, TARGET, VALUE_DIM),
                (BATCH, TARGET, SOURCE),
            ],
            expected_num_trainable_weights=8,
            call_kwargs={"value_mask": mask, "return_attention_scores": True},
        )

    def test_saving(self):
        query, value, mask = _inputs()
        self.run_layer_saving_test(_layer(), (query, value))
        layer = _layer(dropout=0.2)
        key = ops.convert_to_numpy(layer.precompute_keys(value))
        self.run_layer_saving_test(
            layer,
            (query[:, 0], value, key, mask),
            call_kwargs={"return_attention_scores": True},
        )

    def test_mixed_precision(self):
        query, value, mask = _inputs()
        layer = _layer()
        half = MultiHeadAttention(NUM_HEADS, KEY_DIM, dtype="mixed_bfloat16")
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
        for name in ("num_heads", "key_dim", "value_dim"):
            kwargs = {"num_heads": 2, "key_dim": 4, name: 0}
            with self.assertRaisesRegex(
                ValueError,
                f"Expected {name} to be a positive integer. Received: {name}=0",
            ):
                MultiHeadAttention(**kwargs)
        with self.assertRaisesRegex(ValueError, "dropout"):
            MultiHeadAttention(2, 4, dropout=1.0)
        with self.assertRaisesRegex(ValueError, "use_bias"):
            MultiHeadAttention(2, 4, use_bias="no")

    def test_invalid_ranks(self):
        query, value, _ = _inputs()
        layer = MultiHeadAttention(NUM_HEADS, KEY_DIM)
        with self.assertRaisesRegex(ValueError, "precompute_keys"):
            layer.precompute_keys(value)
        with self.assertRaisesRegex(ValueError, "`query` of rank 2 .* rank 4"):
            layer(query[..., None], value)
        with self.assertRaisesRegex(ValueError, "`value` of rank 3 .* rank 2"):
            layer(query, value[:, 0])
        layer(query, value)
        with self.assertRaisesRegex(ValueError, "`value` of rank 3 .* rank 4"):
            layer(query, value[..., None])

    def test_docstring_example(self):
        module = importlib.import_module("keras_s2s.layers.multi_head_attention")
        result = doctest.testmod(
            module, extraglobs={"np": np, "keras": keras, "keras_s2s": keras_s2s}
        )
        self.assertGreater(result.attempted, 0)
        self.assertEqual(result.failed, 0)
