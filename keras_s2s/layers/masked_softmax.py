"""Masked softmax and input checks shared by the attention layers."""

import keras
from keras import ops


def _large_negative(dtype):
    """A large finite negative number representable in `dtype`."""
    if keras.backend.standardize_dtype(dtype) == "float16":
        return -3e4
    return -1e9


def masked_softmax(scores, mask, axis=-1):
    """Softmax over `axis` that gives padding exactly zero probability.

    The softmax runs in at least float32 (float16 and bfloat16 scores are cast
    up), so the result is float32 (or float64 for float64 scores). Masked
    positions get a large finite negative score before the softmax, never
    `-inf`, and exactly `0` after it. A row with every position masked gets all
    zeros, not NaN and not a uniform distribution.

    Args:
        scores: float tensor of attention scores, e.g.
            `(batch_size, target_len, source_len)`.
        mask: boolean tensor broadcastable to `scores`, `True` = keep, e.g.
            `(batch_size, 1, source_len)`; or `None` for a plain softmax.
        axis: int, the axis to normalize over. Defaults to `-1`.

    Returns:
        A float32 tensor of the shape of `scores`: probabilities that sum to 1
        over the kept positions of each row (0 for all-masked rows) and are
        exactly 0 on masked positions.

    Example:

    >>> scores = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    >>> mask = np.array([[True, True, False], [False, False, False]])
    >>> weights = keras.ops.convert_to_numpy(masked_softmax(scores, mask))
    >>> print(np.round(weights, 4))
    [[0.2689 0.7311 0.    ]
     [0.     0.     0.    ]]
    """
    scores = ops.convert_to_tensor(scores)
    dtype = keras.backend.result_type(scores.dtype, "float32")
    scores = ops.cast(scores, dtype)
    if mask is None:
        return ops.softmax(scores, axis=axis)
    mask = ops.cast(mask, "bool")
    scores = ops.where(mask, scores, _large_negative(dtype))
    weights = ops.softmax(scores, axis=axis)
    return ops.where(mask, weights, ops.zeros((), dtype=dtype))


def check_attention_ranks(layer_name, query_shape, value_shape):
    """Raises `ValueError` unless `query` has rank 2 or 3 and `value` rank 3.

    Args:
        layer_name: str, the class name used in the message.
        query_shape: shape of `query`.
        value_shape: shape of `value`.
    """
    query_rank = len(query_shape)
    if query_rank not in (2, 3):
        raise ValueError(
            f"{layer_name} expects `query` of rank 2 `(batch_size, query_dim)` "
            "or rank 3 `(batch_size, target_len, query_dim)`. Received: "
            f"query of rank {query_rank} with shape {tuple(query_shape)}."
        )
    value_rank = len(value_shape)
    if value_rank != 3:
        raise ValueError(
            f"{layer_name} expects `value` of rank 3 "
            "`(batch_size, source_len, value_dim)`. Received: value of rank "
            f"{value_rank} with shape {tuple(value_shape)}."
        )


def check_built(layer):
    """Raises `ValueError` unless the attention `layer` is built.

    `precompute_keys()` reads the layer's weights, which exist only once the
    layer has seen the shapes of its inputs.
    """
    if not layer.built:
        raise ValueError(
            f"{layer.__class__.__name__} '{layer.name}' must be built before "
            "`precompute_keys()`: call the layer once, or "
            "`layer.build(query_shape, value_shape)`."
        )


def weighted_context(scores, value, value_mask, compute_dtype, single_step):
    """Attention weights from scores, and the context they select.

    The shared tail of the additive and multiplicative attention layers.

    Args:
        scores: float32 `(batch_size, target_len, source_len)`.
        value: the memory, `(batch_size, source_len, value_dim)`.
        value_mask: bool `(batch_size, source_len)` or None.
        compute_dtype: dtype of the returned tensors.
        single_step: whether the query was one step (rank 2): the target
            axis is then dropped from both results.

    Returns:
        `(context, weights)`: `(batch_size, [target_len,] value_dim)` and
        `(batch_size, [target_len,] source_len)`.
    """
    mask = None
    if value_mask is not None:
        mask = ops.expand_dims(value_mask, 1)  # (batch_size, 1, S)
    weights = masked_softmax(scores, mask)  # (batch_size, T, S) float32
    weights = ops.cast(weights, compute_dtype)
    context = ops.matmul(weights, value)  # (batch_size, T, value_dim)
    if single_step:
        context = ops.squeeze(context, 1)  # (batch_size, value_dim)
        weights = ops.squeeze(weights, 1)  # (batch_size, source_len)
    return context, weights
