"""SentencePiece subword tokenizer with the keras-s2s special tokens."""

import keras
import keras_hub

from keras_s2s.tokenizers.preset_tokenizer import PresetTokenizerMixin
from keras_s2s.tokenizers.special_tokens import register_special_tokens
from keras_s2s.utils.input_validation import check_text_inputs
from keras_s2s.utils.input_validation import check_token_ids


@keras.saving.register_keras_serializable(package="keras_s2s")
class SentencePieceTokenizer(PresetTokenizerMixin, keras_hub.tokenizers.SentencePieceTokenizer):
    """A SentencePiece tokenizer whose special tokens are `<pad> <unk> <s> </s>`.

    A thin layer over `keras_hub.tokenizers.SentencePieceTokenizer` (which runs
    in `tf.data` pipelines, in eager Python on every backend, and saves its
    proto as the `vocabulary.spm` asset). It adds the special-token attributes a
    sequence-to-sequence preprocessor needs: `pad_token_id`, `unk_token_id`,
    `start_token_id` and `end_token_id`. A proto trained with
    `keras_s2s.tokenizers.train_sentencepiece` has them at ids 0, 1, 2, 3.

    The tokenizer itself never adds bos/eos; the preprocessor does.
    Detokenizing drops `<pad>`, `<s>` and `</s>` (SentencePiece control
    symbols) and renders `<unk>` as ` ⁇ `.

    Inputs must be valid UTF-8 text and ids must be in the vocabulary
    (`TypeError` / `ValueError` naming the bad element otherwise).

    Args:
        proto: a path to a SentencePiece model file or its serialized bytes.
            `None` leaves the tokenizer empty until `load_assets()`.
        sequence_length: if set, outputs are padded with `pad_token_id` or
            truncated to this length: `(batch_size, sequence_length)`.
            Otherwise outputs are ragged.
        dtype: integer output dtype. Defaults to `"int32"`.
        **kwargs: base layer arguments (`name`, ...).

    Example:

    >>> proto = keras_s2s.tokenizers.train_sentencepiece(
    ...     ["a small dog runs .", "a big dog sleeps ."] * 50, vocabulary_size=20
    ... )
    >>> tokenizer = keras_s2s.tokenizers.SentencePieceTokenizer(proto)
    >>> tokenizer.get_vocabulary()[:4]
    ['<pad>', '<unk>', '<s>', '</s>']
    >>> tokenizer.detokenize(tokenizer(["a big dog runs ."]))
    ['a big dog runs .']
    """

    def __init__(self, proto=None, sequence_length=None, dtype="int32", **kwargs):
        register_special_tokens(self)
        super().__init__(
            proto=proto,
            sequence_length=sequence_length,
            dtype=dtype,
            **kwargs,
        )

    def tokenize(self, inputs, *args, **kwargs):
        check_text_inputs("inputs", inputs)
        return super().tokenize(inputs, *args, **kwargs)

    def detokenize(self, inputs, *args, **kwargs):
        if self.proto is not None:
            check_token_ids("inputs", inputs, self.vocabulary_size())
        return super().detokenize(inputs, *args, **kwargs)
