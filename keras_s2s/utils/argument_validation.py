"""Validation of user-facing arguments, with messages that say what to do."""

import math
import numbers


def check_choice(name, value, allowed):
    """Raises `ValueError` unless `value` is one of `allowed`.

    Example: `check_choice("cell_type", "rnn", ("gru", "lstm"))` raises
    `Expected cell_type in {'gru', 'lstm'}. Received: cell_type='rnn'`.
    """
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(
            f"Expected {name} in {{{choices}}}. Received: {name}={value!r}"
        )
    return value


def check_positive_int(name, value, allow_none=False):
    """Raises `ValueError` unless `value` is an int > 0 (or None if allowed)."""
    if value is None and allow_none:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"Expected {name} to be a positive integer. Received: {name}={value!r}"
        )
    return value


def check_rate(name, value):
    """Raises `ValueError` unless `0 <= value < 1` (a dropout-like rate)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        0.0 <= value < 1.0
    ):
        raise ValueError(
            f"Expected {name} to be a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def check_int_at_least(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"Expected {name} to be an integer >= {minimum}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_float_at_least(name, value, minimum, allow_none=False):
    if value is None and allow_none:
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < minimum
    ):
        raise ValueError(
            f"Expected {name} to be a finite number >= {minimum}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_stop_token_ids(value, vocabulary_size):
    """Raises `ValueError` unless `value` is `"auto"`, None or ids in the vocabulary.

    Example: `check_stop_token_ids([3, 40], 32)` raises `Expected
    stop_token_ids to be "auto", None or a list of token ids in [0, 32).
    Received: stop_token_ids=[3, 40]`.
    """
    if value is None or (isinstance(value, str) and value == "auto"):
        return value
    valid = not isinstance(value, (str, bytes, dict)) and hasattr(value, "__len__")
    if valid:
        ids = list(value)
        valid = bool(ids) and all(
            isinstance(i, numbers.Integral)
            and not isinstance(i, bool)
            and 0 <= i < vocabulary_size
            for i in ids
        )
    if not valid:
        raise ValueError(
            'Expected stop_token_ids to be "auto", None or a list of token ids '
            f"in [0, {vocabulary_size}). Received: stop_token_ids={value!r}"
        )
    return value
