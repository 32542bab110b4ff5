"""Validation of user inputs (text and token ids), with messages that say what to do.

The checks run on eager Python and NumPy inputs before they are converted to
tensors, where a wrong input would otherwise fail deep inside TensorFlow,
SentencePiece or the model with a message that does not name it. Symbolic
tensors (inside `tf.data.Dataset.map` or a traced function) are passed
through unchecked.
"""

import warnings

import numpy as np


def _values_of(inputs):
    """`inputs` as a NumPy array if it is an eager tensor, else None."""
    if not (hasattr(inputs, "numpy") or hasattr(inputs, "__array__")):
        return None
    try:
        if hasattr(inputs, "numpy"):
            return np.asarray(inputs.numpy())
        return np.asarray(inputs)
    except Exception:
        # A symbolic tensor: nothing to check eagerly.
        return None


def _check_text(name, text):
    """Raises `ValueError` unless `text` (str or bytes) is valid UTF-8 text."""
    if isinstance(text, bytes):
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{name} is not valid UTF-8: byte 0x{text[error.start]:02x} at "
                f"position {error.start} ({error.reason}). Expected UTF-8 text; "
                "decode the bytes yourself first, e.g. "
                "`data.decode('utf-8', errors='replace')`, or fix the input "
                "encoding."
            ) from None
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"{name} is not valid Unicode: lone surrogate "
            f"U+{ord(text[error.start]):04X} at position {error.start}. Expected "
            "text that can be encoded as UTF-8; remove the surrogate or read "
            "the text with `errors='replace'`."
        ) from None


def check_text_inputs(name, inputs, allow_empty_batch=True):
    """Checks that `inputs` is a string or a flat batch of valid UTF-8 strings.

    Accepted: a `str`, UTF-8 `bytes`, a list or tuple of them, a NumPy array
    of rank 0 or 1 holding them, or an eager `tf.Tensor` of strings. Symbolic
    tensors pass unchecked.

    Args:
        name: the argument name used in error messages.
        inputs: the value to check.
        allow_empty_batch: if False, an empty list is an error.

    Returns:
        The number of strings, or None for a single string or a symbolic
        tensor.

    Raises:
        TypeError: `inputs`, or one of its elements, is not a string.
        ValueError: a nested batch (rank > 1), an empty batch when not
            allowed, bytes that are not UTF-8, or a lone surrogate.

    Example:
    >>> check_text_inputs("inputs", ["a dog", b"two cats"])
    2
    >>> check_text_inputs("inputs", [b"caf\\xe9"])
    Traceback (most recent call last):
    ValueError: inputs[0] is not valid UTF-8: byte 0xe9 at position 3 ...
    """
    if isinstance(inputs, (str, bytes)):
        _check_text(name, inputs)
        return None
    if isinstance(inputs, (list, tuple)):
        values = list(inputs)
        shape = (len(values),)
    else:
        array = _values_of(inputs)
        if array is None:
            if hasattr(inputs, "shape") and hasattr(inputs, "dtype"):
                return None  # A symbolic tensor.
            raise TypeError(
                f"Expected {name} to be a string or a list of strings. "
                f"Received: {name} of type {type(inputs).__name__}: "
                f"{_short_repr(inputs)}"
            )
        if array.dtype.kind not in "USO":
            raise TypeError(
                f"Expected {name} to hold strings. Received an array of dtype "
                f"{array.dtype} and shape {array.shape}."
            )
        if array.ndim == 0:
            _check_text(name, array.item())
            return None
        shape = array.shape
        values = array.reshape(-1).tolist() if array.ndim == 1 else None
    if len(shape) > 1 or (values is None):
        raise ValueError(
            f"Expected {name} to be a string or a flat batch of strings, shape "
            f"(batch_size,). Received shape {tuple(shape)}."
        )
    if not values and not allow_empty_batch:
        raise ValueError(
            f"Expected at least one string in {name}. Received an empty batch."
        )
    for index, value in enumerate(values):
        if isinstance(value, (list, tuple, np.ndarray)):
            raise ValueError(
                f"Expected {name} to be a string or a flat batch of strings, "
                f"shape (batch_size,). {name}[{index}] is a nested "
                f"{type(value).__name__}."
            )
        if not isinstance(value, (str, bytes)):
            raise TypeError(
                f"Expected {name} to hold only strings. {name}[{index}] is "
                f"{type(value).__name__}: {_short_repr(value)}"
            )
        _check_text(f"{name}[{index}]", value)
    return len(values)


def check_token_ids(name, token_ids, vocabulary_size):
    """Checks eager token ids: an integer dtype and values in `[0, vocabulary_size)`.

    Symbolic tensors and ragged inputs pass unchecked.

    Raises:
        TypeError: the ids are not integers.
        ValueError: an id is outside the vocabulary.

    Example:
    >>> check_token_ids("token_ids", [[2, 5, 3]], vocabulary_size=4)
    Traceback (most recent call last):
    ValueError: token_ids holds ids outside [0, 4): min 2, max 5. ...
    """
    if hasattr(token_ids, "flat_values"):
        token_ids = token_ids.flat_values  # A ragged tensor.
    if isinstance(token_ids, (list, tuple)):
        array = np.asarray(list(_flatten(token_ids)))
    else:
        array = _values_of(token_ids)
        if array is None:
            return
    if array.size == 0:
        return
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"Expected integer token ids in {name}. Received dtype {array.dtype}."
        )
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= vocabulary_size:
        raise ValueError(
            f"{name} holds ids outside [0, {vocabulary_size}): min {low}, max "
            f"{high}. The ids must come from the vocabulary of this tokenizer "
            "(the one the model was trained with)."
        )


def warn_if_truncated(what, lengths, limit, argument):
    """Warns that `what` longer than `limit` tokens were truncated.

    Args:
        what: plural noun for the texts, e.g. `"source texts"`.
        lengths: token counts, one per text.
        limit: how many tokens fit.
        argument: the setting that sets the limit, e.g.
            `"encoder_sequence_length=64"`.
    """
    lengths = np.asarray(lengths).reshape(-1)
    longer = lengths > limit
    if not np.any(longer):
        return
    warnings.warn(
        f"{int(np.sum(longer))} of {lengths.size} {what} have more tokens than "
        f"fit ({int(np.max(lengths))} tokens; {limit} fit with {argument}) and "
        f"were truncated to the first {limit}. Pass a larger value to keep "
        "more.",
        UserWarning,
        stacklevel=4,
    )


def _flatten(values):
    """The scalars of nested lists, tuples and arrays (ragged rows allowed)."""
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from _flatten(value)
        elif isinstance(value, (str, bytes)):
            raise TypeError(
                f"Expected integer token ids. Received a string: {value!r}"
            )
        elif np.ndim(value):
            yield from np.asarray(value).reshape(-1).tolist()
        else:
            yield value


def _short_repr(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
