"""Training a WordPiece vocabulary with the keras-s2s special-token layout."""

from keras_s2s.tokenizers.special_tokens import RESERVED_TOKENS


def train_word_piece(
    texts,
    vocabulary_size,
    lowercase=False,
    strip_accents=False,
    split=True,
    split_on_cjk=True,
    suffix_indicator="##",
):
    """Learns a WordPiece vocabulary from strings (keras-hub's trainer).

    Wraps `keras_hub.tokenizers.compute_word_piece_vocabulary` and puts the
    keras-s2s special tokens first: `<pad>` = 0, `<unk>` = 1, `<s>` = 2,
    `</s>` = 3. Pass the same `lowercase`, `strip_accents`, `split` and
    `split_on_cjk` to `keras_s2s.tokenizers.WordPieceTokenizer`.

    Args:
        texts: an iterable of strings.
        vocabulary_size: int, the maximum vocabulary size including the 4
            special tokens.
        lowercase, strip_accents, split, split_on_cjk, suffix_indicator: as
            in `WordPieceTokenizer`.

    Returns:
        A list of strings, the vocabulary in id order.

    Example:

    >>> vocab = train_word_piece(["a dog .", "a cat ."], vocabulary_size=20)
    >>> vocab[:4]
    ['<pad>', '<unk>', '<s>', '</s>']
    """
    import keras_hub
    import tensorflow as tf

    if (
        isinstance(vocabulary_size, bool)
        or not isinstance(vocabulary_size, int)
        or vocabulary_size <= len(RESERVED_TOKENS)
    ):
        raise ValueError(
            "Expected vocabulary_size to be an integer > 4 (4 ids are special). "
            f"Received: vocabulary_size={vocabulary_size!r}"
        )
    if isinstance(texts, str):
        raise ValueError(
            "Expected texts to be an iterable of strings, not a single string."
        )
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("Expected texts to contain at least one non-empty string.")
    data = tf.data.Dataset.from_tensor_slices(texts)
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        data,
        vocabulary_size,
        lowercase=lowercase,
        strip_accents=strip_accents,
        split=split,
        split_on_cjk=split_on_cjk,
        suffix_indicator=suffix_indicator,
        reserved_tokens=list(RESERVED_TOKENS),
    )
