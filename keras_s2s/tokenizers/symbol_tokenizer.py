"""Character / symbol tokenizer for grapheme-to-phoneme and other small alphabets."""

import os
from collections.abc import Iterable

import keras
import keras_hub
import numpy as np
from keras.src.saving import serialization_lib
from keras_hub.src.utils.tensor_utils import canonicalize_python_string_inputs
from keras_hub.src.utils.tensor_utils import canonicalize_python_token_inputs
from keras_hub.src.utils.tensor_utils import convert_to_ragged_batch
from keras_hub.src.utils.tensor_utils import is_int_dtype
from keras_hub.src.utils.tensor_utils import preprocessing_function
from keras_hub.src.utils.tensor_utils import tf

from keras_s2s.tokenizers.preset_tokenizer import PresetTokenizerMixin
from keras_s2s.tokenizers.special_tokens import register_special_tokens
from keras_s2s.utils.input_validation import check_text_inputs

VOCAB_FILENAME = "vocabulary.txt"
_SPLITS = ("characters", "whitespace")


def normalize_case(text, case):
    """`text` in upper case, lower case, or unchanged (`case` None)."""
    if case == "upper":
        return text.upper()
    if case == "lower":
        return text.lower()
    return text


@keras.saving.register_keras_serializable(package="keras_s2s")
class SymbolTokenizer(PresetTokenizerMixin, keras_hub.tokenizers.Tokenizer):
    """Maps each character, or each space-separated symbol, to an id.

    For grapheme-to-phoneme conversion: words go in as letters
    (`split="characters"`: `"CAT"` -> `C A T`), pronunciations as
    space-separated phoneme symbols (`split="whitespace"`: `"K AE T"` ->
    `K AE T`). `detokenize` joins symbols back (with `""` or `" "`), skipping
    `<pad>`, `<s>` and `</s>`, so `detokenize(tokenize(x)) == x` for text in
    the vocabulary (whitespace-split text comes back with single spaces).
    Unknown symbols map to `<unk>`.

    Built on `keras_hub.tokenizers.Tokenizer`: inside `tf.data` it runs as a
    TensorFlow lookup table; called eagerly it runs in Python on every backend.
    The vocabulary is saved as the `vocabulary.txt` asset.

    Args:
        vocabulary: a list of symbols or a path to a file with one symbol per
            line. Must contain `<pad>`, `<unk>`, `<s>`, `</s>` (see
            `compute_symbol_vocabulary`, which puts them at ids 0-3).
        split: `"characters"` (every Unicode character is a symbol) or
            `"whitespace"` (symbols are separated by whitespace).
        sequence_length: if set, outputs are padded with `pad_token_id` or
            truncated to `(batch_size, sequence_length)`; otherwise ragged.
        normalize_case: None, `"upper"` or `"lower"`: change the case of
            the input before splitting it (a G2P model trained on CMUdict's
            uppercase words reads `"cat"` as `"CAT"`).
        dtype: integer output dtype. Defaults to `"int32"`.
        **kwargs: base layer arguments (`name`, ...).

    Example:

    >>> vocab = keras_s2s.tokenizers.compute_symbol_vocabulary(["CAT", "DOG"])
    >>> letters = keras_s2s.tokenizers.SymbolTokenizer(vocab, split="characters")
    >>> letters(["CAT", "DOGE"])
    [[5, 4, 9], [6, 8, 7, 1]]
    >>> letters.detokenize([[2, 5, 4, 9, 3, 0]])
    ['CAT']
    >>> phones = keras_s2s.tokenizers.SymbolTokenizer(
    ...     ["<pad>", "<unk>", "<s>", "</s>", "AE", "K", "T"], split="whitespace"
    ... )
    >>> phones(["K AE T"])
    [[5, 4, 6]]
    """

    def __init__(
        self,
        vocabulary=None,
        split="characters",
        sequence_length=None,
        normalize_case=None,
        dtype="int32",
        **kwargs,
    ):
        if not is_int_dtype(dtype):
            raise ValueError(
                f"Expected an integer dtype. Received: dtype={dtype!r}"
            )
        if split not in _SPLITS:
            raise ValueError(
                f"Expected split in {set(_SPLITS)}. Received: split={split!r}"
            )
        if sequence_length is not None and (
            isinstance(sequence_length, bool)
            or not isinstance(sequence_length, int)
            or sequence_length <= 0
        ):
            raise ValueError(
                "Expected sequence_length to be None or a positive integer. "
                f"Received: sequence_length={sequence_length!r}"
            )
        if normalize_case not in (None, "upper", "lower"):
            raise ValueError(
                "Expected normalize_case in {None, 'upper', 'lower'}. "
                f"Received: normalize_case={normalize_case!r}"
            )
        register_special_tokens(self)
        super().__init__(dtype=dtype, **kwargs)
        self.split = split
        self.normalize_case = normalize_case
        self.sequence_length = sequence_length
        self.set_vocabulary(vocabulary)
        self.file_assets = [VOCAB_FILENAME]

    # Vocabulary ---------------------------------------------------------

    def set_vocabulary(self, vocabulary):
        """Sets the vocabulary from a list of symbols or a file path."""
        if vocabulary is None:
            self.vocabulary = None
            self._token_to_id_map = None
            self._lookup_table = None
            return
        if isinstance(vocabulary, str):
            if serialization_lib.in_safe_mode():
                raise ValueError(
                    "Requested the loading of a vocabulary file outside of the "
                    "model archive. Pass `safe_mode=False` to the loading "
                    "function if you trust the source. "
                    f"Vocabulary file: '{vocabulary}'"
                )
            with open(vocabulary, "r", encoding="utf-8") as file:
                vocabulary = [line.rstrip("\n") for line in file]
        elif not isinstance(vocabulary, Iterable):
            raise ValueError(
                "Expected vocabulary to be a list of strings or a file path. "
                f"Received: vocabulary={vocabulary!r}"
            )
        vocabulary = [str(token) for token in vocabulary]
        if len(set(vocabulary)) != len(vocabulary):
            seen, duplicates = set(), []
            for token in vocabulary:
                if token in seen:
                    duplicates.append(token)
                seen.add(token)
            raise ValueError(
                "Expected every symbol of the vocabulary to be unique. "
                f"Duplicates: {duplicates[:10]}"
            )
        if self.split == "whitespace":
            bad = [t for t in vocabulary if not t or any(c.isspace() for c in t)]
            if bad:
                raise ValueError(
                    "With split='whitespace', symbols cannot be empty or "
                    f"contain whitespace. Received: {bad[:10]}"
                )
        self.vocabulary = vocabulary
        self._token_to_id_map = {t: i for i, t in enumerate(vocabulary)}
        self._update_special_token_ids()
        # The table must exist before a `tf.data` pipeline traces `tokenize`.
        self._lookup_table = None
        if tf is not None:
            self._build_lookup_table()

    def _build_lookup_table(self):
        self._lookup_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                keys=tf.constant(self.vocabulary, dtype=tf.string),
                values=tf.range(len(self.vocabulary), dtype=tf.int64),
            ),
            default_value=self.unk_token_id,
        )

    def _check_vocabulary(self):
        if self.vocabulary is None:
            raise ValueError(
                "No vocabulary has been set for SymbolTokenizer. Pass "
                "`vocabulary=` when creating it (see "
                "`keras_s2s.tokenizers.compute_symbol_vocabulary`)."
            )

    def get_vocabulary(self):
        self._check_vocabulary()
        return list(self.vocabulary)

    def vocabulary_size(self):
        self._check_vocabulary()
        return len(self.vocabulary)

    def id_to_token(self, id):
        self._check_vocabulary()
        if id < 0 or id >= len(self.vocabulary):
            raise ValueError(
                f"Expected id in [0, {len(self.vocabulary) - 1}]. Received: {id}"
            )
        return self.vocabulary[id]

    def token_to_id(self, token):
        """Returns the id of `token`, or `unk_token_id` if it is unknown."""
        self._check_vocabulary()
        return self._token_to_id_map.get(token, self._token_to_id_map[self.unk_token])

    def save_assets(self, dir_path):
        with open(os.path.join(dir_path, VOCAB_FILENAME), "w", encoding="utf-8") as f:
            for token in self.vocabulary:
                f.write(f"{token}\n")

    def load_assets(self, dir_path):
        self.set_vocabulary(os.path.join(dir_path, VOCAB_FILENAME))

    # Tokenize -------------------------------------------------------------

    @property
    def _separator(self):
        return "" if self.split == "characters" else " "

    def _split_python(self, text):
        text = normalize_case(text, self.normalize_case)
        return list(text) if self.split == "characters" else text.split()

    def _tokenize_python(self, inputs):
        texts, batched, outer_shape = canonicalize_python_string_inputs(inputs)
        unk = self.unk_token_id
        ids = [
            [self._token_to_id_map.get(s, unk) for s in self._split_python(t)]
            for t in texts
        ]
        if self.sequence_length:
            length, pad = self.sequence_length, self.pad_token_id
            ids = [row[:length] + [pad] * (length - len(row)) for row in ids]
            ids = np.array(ids, dtype=self.compute_dtype).reshape(-1, length)
        if outer_shape is not None:
            raise ValueError(
                "Expected a string or a rank-1 batch of strings. Received an "
                f"input of shape {outer_shape}."
            )
        if not batched:
            ids = np.asarray(ids[0], dtype=self.compute_dtype)
        return ids

    @preprocessing_function
    def _tokenize_tf(self, inputs):
        if self._lookup_table is None:
            self._build_lookup_table()
        inputs = tf.convert_to_tensor(inputs)
        unbatched = inputs.shape.rank == 0
        if unbatched:
            inputs = tf.expand_dims(inputs, 0)
        if self.normalize_case == "upper":
            inputs = tf.strings.upper(inputs, encoding="utf-8")
        elif self.normalize_case == "lower":
            inputs = tf.strings.lower(inputs, encoding="utf-8")
        if self.split == "characters":
            symbols = tf.strings.unicode_split(inputs, "UTF-8")
        else:
            symbols = tf.strings.split(inputs)
        ids = tf.ragged.map_flat_values(self._lookup_table.lookup, symbols)
        ids = tf.cast(ids, self.compute_dtype)
        if self.sequence_length:
            shape = ids.shape.as_list()
            shape[-1] = self.sequence_length
            ids = ids.to_tensor(shape=shape, default_value=self.pad_token_id)
        if unbatched:
            ids = tf.squeeze(ids, 0)
        return ids

    def tokenize(self, inputs):
        """Strings `(batch_size,)` -> ids `(batch_size, symbols)` (ragged or padded)."""
        self._check_vocabulary()
        check_text_inputs("inputs", inputs)
        if self._use_tf_workflow():
            return self._tokenize_tf(inputs)
        return self._tokenize_python(inputs)

    # Detokenize -----------------------------------------------------------

    def _skipped_ids(self):
        return {self.pad_token_id, self.start_token_id, self.end_token_id}

    def _detokenize_python(self, inputs):
        rows, batched = canonicalize_python_token_inputs(inputs)
        skipped = self._skipped_ids()
        outputs = [
            self._separator.join(
                self.id_to_token(int(i)) for i in row if int(i) not in skipped
            )
            for row in rows
        ]
        return outputs if batched else outputs[0]

    @preprocessing_function
    def _detokenize_tf(self, inputs):
        inputs, unbatched, _ = convert_to_ragged_batch(inputs)
        inputs = tf.cast(inputs, "int32")
        keep = tf.ones_like(inputs, dtype="bool")
        for skipped in self._skipped_ids():
            keep = keep & tf.not_equal(inputs, skipped)
        inputs = tf.ragged.boolean_mask(inputs, keep)
        vocabulary = tf.constant(self.vocabulary, dtype=tf.string)
        symbols = tf.ragged.map_flat_values(
            lambda ids: tf.gather(vocabulary, ids), inputs
        )
        outputs = tf.strings.reduce_join(symbols, axis=-1, separator=self._separator)
        if unbatched:
            outputs = tf.squeeze(outputs, 0)
        return outputs

    def detokenize(self, inputs):
        """Ids `(batch_size, symbols)` -> strings `(batch_size,)`."""
        self._check_vocabulary()
        if self._use_tf_workflow():
            return self._detokenize_tf(inputs)
        return self._detokenize_python(inputs)

    def call(self, inputs, *args, training=None, **kwargs):
        return self.tokenize(inputs, *args, **kwargs)

    def compute_output_spec(self, input_spec):
        return keras.KerasTensor(
            input_spec.shape + (self.sequence_length,), dtype=self.compute_dtype
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": None,  # Saved as an asset.
                "split": self.split,
                "sequence_length": self.sequence_length,
                "normalize_case": self.normalize_case,
            }
        )
        return config
