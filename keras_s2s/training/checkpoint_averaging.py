"""Averaging the weights of several checkpoints."""

import numpy as np


def average_weights(weight_lists):
    """Element-wise mean of several lists of weight arrays.

    Floating-point arrays are averaged (in float64, then cast back to their
    dtype); other arrays (integer random-seed states, step counters) are
    taken from the last list, since their mean means nothing.

    Args:
        weight_lists: a non-empty list of lists of arrays, all lists with the
            same length, shapes and dtypes (e.g. the `model.variables` values
            saved after several epochs).

    Returns:
        A list of arrays.

    Raises:
        ValueError: empty input, or lists whose lengths, shapes or dtypes
            differ.

    Example:
    >>> average_weights([[np.array([1.0, 2.0], "float32")],
    ...                  [np.array([3.0, 6.0], "float32")]])
    [array([2., 4.], dtype=float32)]
    """
    weight_lists = [list(weights) for weights in weight_lists]
    if not weight_lists:
        raise ValueError("Expected at least one list of weights to average.")
    first = weight_lists[0]
    for index, weights in enumerate(weight_lists[1:], start=1):
        if len(weights) != len(first):
            raise ValueError(
                f"Expected every checkpoint to hold {len(first)} arrays; "
                f"checkpoint {index} holds {len(weights)}. Average checkpoints "
                "of one model only."
            )
    averaged = []
    for position, arrays in enumerate(zip(*weight_lists)):
        arrays = [np.asarray(a) for a in arrays]
        reference = arrays[0]
        for array in arrays[1:]:
            if array.shape != reference.shape or array.dtype != reference.dtype:
                raise ValueError(
                    f"Array {position} differs between checkpoints: "
                    f"{reference.shape} {reference.dtype} vs {array.shape} "
                    f"{array.dtype}. Average checkpoints of one model only."
                )
        if np.issubdtype(reference.dtype, np.floating):
            mean = np.mean(np.stack(arrays).astype("float64"), axis=0)
            averaged.append(mean.astype(reference.dtype))
        else:
            averaged.append(arrays[-1].copy())
    return averaged


def average_checkpoints(manager, epochs):
    """Averages the weights-only files of `epochs` in a `CheckpointManager`.

    Args:
        manager: a `keras_s2s.training.CheckpointManager`.
        epochs: list of epoch numbers whose `weights-epoch-NNNN.npz` exist.

    Returns:
        A list of arrays in `model.variables` order.
    """
    return average_weights([manager.load_weights(epoch) for epoch in epochs])
