"""WordPiece subword tokenizer with the keras-s2s special tokens."""

import keras
import keras_hub

from keras_s2s.tokenizers.preset_tokenizer import PresetTokenizerMixin
from keras_s2s.tokenizers.special_tokens import UNK_TOKEN
from keras_s2s.tokenizers.special_tokens import register_special_tokens
from keras_s2s.utils.input_validation import check_text_inputs


@keras.saving.register_keras_serializable(package="keras_s2s")
class WordPieceTokenizer(PresetTokenizerMixin, keras_hub.tokenizers.WordPieceTokenizer):
    """A WordPiece tokenizer whose special tokens are `<pad> <unk> <s> </s>`.

    A thin layer over `keras_hub.tokenizers.WordPieceTokenizer` (tf.data,
    eager Python on every backend, `vocabulary.txt` asset) that adds
    `pad_token_id`, `unk_token_id`, `start_token_id` and `end_token_id` and
    uses `<unk>` for out-of-vocabulary words. A vocabulary from
    `keras_s2s.tokenizers.train_word_piece` has them at ids 0, 1, 2, 3.

    Text is split on whitespace and punctuation before WordPiece, so
    `detokenize` returns the words joined by single spaces
    (`"Hello, world!"` comes back as `"Hello , world !"`). Unlike
    SentencePiece, detokenizing keeps special tokens; the preprocessor strips
    them before detokenizing.

    Args:
        vocabulary: a list of strings or a path to a file with one token per
            line; must contain the four special tokens.
        sequence_length: if set, outputs are padded with 0 or truncated to
            `(batch_size, sequence_length)`; otherwise ragged.
        lowercase: lowercase the input before tokenizing.
        strip_accents: remove accents before tokenizing.
        split: split on whitespace and punctuation first. `False` expects
            pre-split input.
        split_on_cjk: split CJK characters into single tokens.
        suffix_indicator: prefix of word-continuation pieces.
        dtype: integer output dtype. Defaults to `"int32"`.
        **kwargs: base layer arguments (`name`, ...).

    Example:

    >>> vocab = keras_s2s.tokenizers.train_word_piece(
    ...     ["a small dog runs.", "a big dog sleeps."], vocabulary_size=40
    ... )
    >>> tokenizer = keras_s2s.tokenizers.WordPieceTokenizer(vocab)
    >>> tokenizer.detokenize(tokenizer(["a big dog runs."]))
    ['a big dog runs .']
    """

    def __init__(
        self,
        vocabulary=None,
        sequence_length=None,
        lowercase=False,
        strip_accents=False,
        split=True,
        split_on_cjk=True,
        suffix_indicator="##",
        dtype="int32",
        **kwargs,
    ):
        # Saved by the base class config; fixed here.
        for key in ("oov_token", "special_tokens", "special_tokens_in_strings"):
            kwargs.pop(key, None)
        register_special_tokens(self)
        super().__init__(
            vocabulary=vocabulary,
            sequence_length=sequence_length,
            lowercase=lowercase,
            strip_accents=strip_accents,
            split=split,
            split_on_cjk=split_on_cjk,
            suffix_indicator=suffix_indicator,
            oov_token=UNK_TOKEN,
            dtype=dtype,
            **kwargs,
        )

    def tokenize(self, inputs, *args, **kwargs):
        check_text_inputs("inputs", inputs)
        return super().tokenize(inputs, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in ("oov_token", "special_tokens", "special_tokens_in_strings"):
            config.pop(key, None)
        config["split_on_cjk"] = self.split_on_cjk
        return config
