import doctest
import importlib

import keras
import numpy as np
from keras import ops

import keras_s2s
from keras_s2s.layers.masked_softmax import check_attention_ranks
from keras_s2s.layers.masked_softmax import masked_softmax
from tests.test_case import TestCase

# `keras_s2s.layers.masked_softmax` is the function; this is its module.
masked_softmax_module = importlib.import_module("keras_s2s.layers.masked_softmax")


def _np_masked_softmax(scores, mask, axis=-1):
    scores = np.where(mask, scores, -np.inf)
    shifted = scores - np.max(scores, axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=axis, keepdims=True)


class MaskedSoftmaxTest(TestCase):
    def test_equals_numpy_and_zero_on_padding(self):
        rng = np.random.default_rng(0)
        scores = rng.normal(size=(3, 2, 6)).astype("float32")
        mask = np.array(
            [[True] * 6, [True] * 4 + [False] * 2, [True] + [False] * 5]
        )[:, None, :]
        weights = masked_softmax(scores, mask)
        self.assertEqual(keras.backend.standardize_dtype(weights.dtype), "float32")
        expected = _np_masked_softmax(scores, np.broadcast_to(mask, scores.shape))
        self.assertAllClose(weights, expected, atol=1e-6)
        weights = ops.convert_to_numpy(weights)
        self.assertAllEqual(weights[np.broadcast_to(~mask, scores.shape)], 0.0)
        self.assertAllClose(weights.sum(-1), np.ones((3, 2)), atol=1e-6)

    def test_no_mask_is_softmax(self):
        scores = np.array([[0.5, -1.0, 2.0]], dtype="float32")
        self.assertAllClose(
            masked_softmax(scores, None),
            _np_masked_softmax(scores, np.ones_like(scores, bool)),
        )

    def test_other_axis(self):
        rng = np.random.default_rng(1)
        scores = rng.normal(size=(2, 4, 3)).astype("float32")
        mask = np.array([[True, True, False, False], [True, True, True, True]])
        mask = mask[:, :, None]
        weights = masked_softmax(scores, mask, axis=1)
        expected = _np_masked_softmax(
            scores, np.broadcast_to(mask, scores.shape), axis=1
        )
        self.assertAllClose(weights, expected, atol=1e-6)

    def test_all_masked_row_is_zero_not_nan(self):
        scores = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype="float32")
        mask = np.array([[False, False, False], [True, False, True]])
        weights = ops.convert_to_numpy(masked_softmax(scores, mask))
        self.assertAllEqual(weights[0], np.zeros(3))
        self.assertTrue(np.all(np.isfinite(weights)))
        expected = np.array([1 / (1 + np.e**2), 0.0, 1 - 1 / (1 + np.e**2)])
        self.assertAllClose(weights[1], expected)

    def test_half_precision_scores_are_computed_in_float32(self):
        # 70000 overflows float16; the float32 softmax is still exact.
        scores = np.array([[70000.0, 69999.0, 0.0]], dtype="float32")
        mask = np.array([[True, True, False]])
        weights = masked_softmax(ops.cast(scores, "bfloat16"), mask)
        self.assertEqual(keras.backend.standardize_dtype(weights.dtype), "float32")
        weights = ops.convert_to_numpy(weights)
        self.assertAllEqual(weights[0, 2], 0.0)
        self.assertAllClose(weights.sum(), 1.0, atol=1e-6)

    def test_single_kept_position_gets_all_weight(self):
        scores = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32")
        mask = np.array([[False, False], [True, False]])
        weights = ops.convert_to_numpy(masked_softmax(scores, mask))
        self.assertAllEqual(weights, np.array([[0.0, 0.0], [1.0, 0.0]]))

    def test_rank_checks(self):
        with self.assertRaisesRegex(ValueError, "`query` of rank 2 .* rank 4"):
            check_attention_ranks("Layer", (1, 2, 3, 4), (1, 2, 3))
        with self.assertRaisesRegex(ValueError, "`value` of rank 3 .* rank 2"):
            check_attention_ranks("Layer", (1, 2), (1, 2))

    def test_docstring_example(self):
        result = doctest.testmod(
            masked_softmax_module,
            extraglobs={"np": np, "keras": keras, "keras_s2s": keras_s2s},
            optionflags=doctest.NORMALIZE_WHITESPACE,
        )
        self.assertGreater(result.attempted, 0)
        self.assertEqual(result.failed, 0)
