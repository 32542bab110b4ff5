"""Training a SentencePiece model with the keras-s2s special-token layout."""

import io
import os

from keras_s2s.tokenizers.special_tokens import END_TOKEN
from keras_s2s.tokenizers.special_tokens import PAD_TOKEN
from keras_s2s.tokenizers.special_tokens import START_TOKEN
from keras_s2s.tokenizers.special_tokens import UNK_TOKEN

_MODEL_TYPES = ("unigram", "bpe", "char", "word")


def train_sentencepiece(
    texts,
    vocabulary_size,
    model_type="unigram",
    character_coverage=1.0,
    normalization_rule_name="nmt_nfkc",
    **trainer_kwargs,
):
    """Trains a SentencePiece model on strings and returns its proto bytes.

    The special pieces are fixed for every model trained here: `<pad>` = 0,
    `<unk>` = 1, `<s>` = 2, `</s>` = 3, so that ids are the same for every
    keras-s2s tokenizer. The result goes straight into
    `keras_s2s.tokenizers.SentencePieceTokenizer(proto)`.

    Args:
        texts: an iterable of strings (one sentence each). For a joint
            vocabulary, pass source and target sentences together.
        vocabulary_size: int, the number of pieces including the 4 special
            ones.
        model_type: one of `"unigram"`, `"bpe"`, `"char"`, `"word"`.
        character_coverage: fraction of characters covered by the model;
            1.0 keeps every character seen (right for Latin scripts with
            diacritics).
        normalization_rule_name: SentencePiece normalization, `"nmt_nfkc"`
            (default) or `"identity"` for byte-exact round trips.
        **trainer_kwargs: any other `sentencepiece.SentencePieceTrainer`
            option (e.g. `user_defined_symbols`, `input_sentence_size`).

    Returns:
        `bytes`, the serialized model proto.

    Example:

    >>> proto = train_sentencepiece(["a dog .", "a cat ."] * 20, vocabulary_size=12)
    >>> keras_s2s.tokenizers.SentencePieceTokenizer(proto).vocabulary_size()
    12
    """
    import sentencepiece as spm

    if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, int):
        raise ValueError(
            "Expected vocabulary_size to be an integer > 4. "
            f"Received: vocabulary_size={vocabulary_size!r}"
        )
    if vocabulary_size <= 4:
        raise ValueError(
            "Expected vocabulary_size to be an integer > 4 (4 ids are special). "
            f"Received: vocabulary_size={vocabulary_size}"
        )
    if model_type not in _MODEL_TYPES:
        raise ValueError(
            f"Expected model_type in {set(_MODEL_TYPES)}. "
            f"Received: model_type={model_type!r}"
        )
    if isinstance(texts, str):
        raise ValueError(
            "Expected texts to be an iterable of strings, not a single string."
        )
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("Expected texts to contain at least one non-empty string.")
    options = dict(
        vocab_size=vocabulary_size,
        model_type=model_type,
        character_coverage=character_coverage,
        normalization_rule_name=normalization_rule_name,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece=PAD_TOKEN,
        unk_piece=UNK_TOKEN,
        bos_piece=START_TOKEN,
        eos_piece=END_TOKEN,
        num_threads=os.cpu_count() or 1,
        minloglevel=2,
    )
    options.update(trainer_kwargs)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, **options
    )
    return model.getvalue()
