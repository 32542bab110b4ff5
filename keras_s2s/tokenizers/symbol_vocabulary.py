"""Building a `SymbolTokenizer` vocabulary from text."""

import collections

from keras_s2s.tokenizers.special_tokens import RESERVED_TOKENS

_SPLITS = ("characters", "whitespace")


def compute_symbol_vocabulary(texts, split="characters", min_frequency=1):
    """Collects the symbols of `texts` into a `SymbolTokenizer` vocabulary.

    Args:
        texts: an iterable of strings.
        split: `"characters"` or `"whitespace"`, as in `SymbolTokenizer`.
        min_frequency: symbols seen fewer times are left out (they become
            `<unk>`).

    Returns:
        A list of strings: `<pad>`, `<unk>`, `<s>`, `</s>` (ids 0-3), then the
        symbols in sorted order (so the same text always gives the same ids).

    Example:

    >>> compute_symbol_vocabulary(["K AE T", "D AO G"], split="whitespace")
    ['<pad>', '<unk>', '<s>', '</s>', 'AE', 'AO', 'D', 'G', 'K', 'T']
    """
    if split not in _SPLITS:
        raise ValueError(
            f"Expected split in {set(_SPLITS)}. Received: split={split!r}"
        )
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or (
        min_frequency < 1
    ):
        raise ValueError(
            "Expected min_frequency to be a positive integer. "
            f"Received: min_frequency={min_frequency!r}"
        )
    if isinstance(texts, str):
        raise ValueError(
            "Expected texts to be an iterable of strings, not a single string."
        )
    counts = collections.Counter()
    for text in texts:
        counts.update(list(text) if split == "characters" else text.split())
    symbols = sorted(
        s for s, n in counts.items() if n >= min_frequency and s not in RESERVED_TOKENS
    )
    return list(RESERVED_TOKENS) + symbols
