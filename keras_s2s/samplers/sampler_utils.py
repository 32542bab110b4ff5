"""Scoring and constraint helpers shared by the search samplers.

Scores are float32. The large negative used to rule out a token or a beam is
`-1e9`: it dominates any real log-probability yet stays far from float32's
limit, so sums of several of them (a dead beam extended for many steps) remain
finite and never turn into `-inf` or NaN.
"""

import math

from keras import ops

# A large finite negative for float32 scores (see module docstring).
LARGE_NEGATIVE = -1e9
# Scores at or below this are "ruled out" (a dead beam or a banned token).
DEAD_THRESHOLD = LARGE_NEGATIVE / 2
# Coverage terms are `log(min(coverage, 1))` floored at `log(COVERAGE_FLOOR)`,
# so a source position that was never attended costs a finite amount.
COVERAGE_FLOOR = 1e-10


def length_penalty_value(length, alpha):
    """GNMT length penalty `((5 + length) / 6) ** alpha` (a Python float)."""
    if alpha == 0:
        return 1.0
    return ((5.0 + length) / 6.0) ** alpha


def length_penalty_tensor(length, alpha):
    """GNMT length penalty of a float32 tensor of lengths."""
    length = ops.cast(length, "float32")
    if alpha == 0:
        return ops.ones_like(length)
    return ops.power((5.0 + length) / 6.0, alpha)


def coverage_penalty_tensor(coverage, source_mask, beta):
    """GNMT coverage penalty `beta * sum_j log(min(coverage_j, 1))`.

    Args:
        coverage: float32 `(..., source_len)`, the attention weights summed
            over the decoding steps of a hypothesis.
        source_mask: bool, broadcastable to `coverage`; only positions where
            it is True count.
        beta: float, the penalty weight.

    Returns:
        float32 `(...)`; `log(min(c, 1))` is floored at `log(1e-10)`.
    """
    clipped = ops.clip(coverage, COVERAGE_FLOOR, 1.0)
    # terms: (..., source_len), 0 on padded source positions.
    terms = ops.where(source_mask, ops.log(clipped), ops.zeros_like(clipped))
    return beta * ops.sum(terms, axis=-1)


def stop_token_columns(vocabulary_size, stop_token_ids):
    """Bool `(vocabulary_size,)`, True on the stop tokens."""
    columns = ops.arange(vocabulary_size, dtype="int32")
    is_stop = ops.zeros((vocabulary_size,), dtype="bool")
    for token in stop_token_ids:
        is_stop = ops.logical_or(is_stop, ops.equal(columns, token))
    return is_stop


def is_stop_token(token_ids, stop_token_ids):
    """Bool of the shape of `token_ids`, True where it is a stop token."""
    output = ops.zeros_like(token_ids, dtype="bool")
    for token in stop_token_ids:
        output = ops.logical_or(output, ops.equal(token_ids, token))
    return output


def relative_length_limit(source_mask, max_length_a, max_length_b, batch_size):
    """`floor(a * source_length + b)` per example, int32 `(batch_size,)`."""
    a = 0.0 if max_length_a is None else float(max_length_a)
    b = 0.0 if max_length_b is None else float(max_length_b)
    if source_mask is None:
        source_length = ops.zeros((batch_size,), dtype="float32")
    else:
        source_length = ops.sum(ops.cast(source_mask, "float32"), axis=-1)
    limit = ops.floor(a * source_length + b)
    return ops.cast(ops.maximum(limit, 0.0), "int32")


def block_repeated_ngrams(log_probs, prompt, index, ngram_size):
    """Rules out tokens that would repeat an n-gram already in `prompt`.

    Args:
        log_probs: float32 `(rows, vocabulary_size)`, scores of the token at
            position `index`.
        prompt: int `(rows, max_length)`; positions `< index` are written.
        index: int32 scalar, the position being written.
        ngram_size: int >= 1.

    Returns:
        `log_probs` with `LARGE_NEGATIVE` on every token `v` such that the
        last `ngram_size - 1` written tokens followed by `v` already occur in
        `prompt[:, :index]`.
    """
    rows = ops.shape(prompt)[0]
    max_length = prompt.shape[1]
    vocabulary_size = log_probs.shape[-1]
    n = ngram_size
    num_windows = max_length - n + 1
    if num_windows <= 0:
        return log_probs
    starts = ops.arange(num_windows, dtype="int32")
    # An n-gram counts once fully written: start + n - 1 < index.
    complete = ops.less(starts + (n - 1), index)[None, :]  # (1, num_windows)
    # follow: (rows, num_windows), the last token of each n-gram.
    follow = prompt[:, n - 1 : n - 1 + num_windows]
    if n == 1:
        match = ops.broadcast_to(complete, ops.shape(follow))
    else:
        # prefix: (rows, num_windows, n - 1)
        prefix = ops.stack(
            [prompt[:, j : j + num_windows] for j in range(n - 1)], axis=-1
        )
        suffix_start = ops.maximum(index - (n - 1), 0)
        # suffix: (rows, n - 1), the tokens just before `index`.
        suffix = ops.slice(prompt, [0, suffix_start], [rows, n - 1])
        equal = ops.all(ops.equal(prefix, suffix[:, None, :]), axis=-1)
        match = ops.logical_and(equal, complete)
        match = ops.logical_and(match, ops.greater_equal(index, n - 1))
    # banned: (rows, num_windows); `vocabulary_size` is a spare column.
    banned = ops.where(match, ops.cast(follow, "int32"), vocabulary_size)
    row_ids = ops.broadcast_to(
        ops.arange(rows, dtype="int32")[:, None], ops.shape(banned)
    )
    indices = ops.reshape(ops.stack([row_ids, banned], axis=-1), (-1, 2))
    padded = ops.concatenate(
        [log_probs, ops.zeros_like(log_probs[:, :1])], axis=-1
    )
    updates = ops.full((ops.shape(indices)[0],), LARGE_NEGATIVE, "float32")
    padded = ops.scatter_update(padded, indices, updates)
    return padded[:, :vocabulary_size]


# ---------------------------------------------------------------- validation


def check_temperature(temperature):
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not math.isfinite(temperature)
        or temperature <= 0
    ):
        raise ValueError(
            "Expected temperature to be a positive finite number. "
            f"Received: temperature={temperature!r}"
        )
    return temperature


def check_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(
            f"Expected seed to be an integer or None. Received: seed={seed!r}"
        )
    return seed
