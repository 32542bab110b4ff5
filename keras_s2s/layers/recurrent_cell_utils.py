"""Layer normalization shared by the recurrent cells."""

import keras
from keras import ops


def layer_norm_blocks(x, gamma, num_blocks, epsilon, beta=None):
    """Layer-normalizes each of `num_blocks` equal slices of the last axis.

    The last axis of `x` holds `num_blocks` gate blocks of `units` features
    each, laid out `[gate_0 | gate_1 | ...]` as in the cell kernels. Every block
    is normalized on its own to zero mean and unit variance over its `units`
    features, then scaled by `gamma` and, if given, shifted by `beta`.
    Statistics are computed in float32 for half-precision inputs.

    Args:
        x: tensor of shape `(batch_size, num_blocks * units)`.
        gamma: tensor of shape `(num_blocks * units,)`.
        num_blocks: Python int, the number of gate blocks in `x`.
        epsilon: Python float added to the variance.
        beta: `None` or a tensor of shape `(num_blocks * units,)`.

    Returns:
        A tensor with the shape and dtype of `x`.
    """
    dtype = keras.backend.standardize_dtype(x.dtype)
    width = x.shape[-1]
    units = width // num_blocks
    compute_dtype = "float32" if dtype in ("float16", "bfloat16") else dtype
    blocks = ops.reshape(
        ops.cast(x, compute_dtype), (-1, num_blocks, units)
    )  # (batch_size, num_blocks, units)
    mean = ops.mean(blocks, axis=-1, keepdims=True)  # (batch_size, num_blocks, 1)
    centered = blocks - mean  # (batch_size, num_blocks, units)
    variance = ops.mean(ops.square(centered), axis=-1, keepdims=True)
    normalized = centered * ops.rsqrt(variance + epsilon)
    normalized = ops.reshape(normalized, (-1, width))  # (batch_size, width)
    normalized = ops.cast(normalized, dtype) * ops.cast(gamma, dtype)
    if beta is not None:
        normalized = normalized + ops.cast(beta, dtype)
    return normalized
