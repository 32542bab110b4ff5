"""Preprocessor turning (source, target) strings into seq2seq model inputs."""

import keras
import keras_hub
import numpy as np
from keras_hub.src.layers.preprocessing.start_end_packer import StartEndPacker
from keras_hub.src.utils.tensor_utils import preprocessing_function
from keras_hub.src.utils.tensor_utils import tf

# Registers keras-s2s's tokenizer classes, so that a preprocessor's config
# (a preset, a `.keras` file) deserializes them.
from keras_s2s import tokenizers  # noqa: F401
from keras_s2s.utils.argument_validation import check_positive_int
from keras_s2s.utils.class_property import classproperty
from keras_s2s.utils.input_validation import check_text_inputs
from keras_s2s.utils.input_validation import check_token_ids
from keras_s2s.utils.input_validation import warn_if_truncated


def _check_tokenizer(name, tokenizer):
    missing = [
        attr
        for attr in ("pad_token_id", "start_token_id", "end_token_id")
        if not hasattr(tokenizer, attr)
    ]
    if missing or not hasattr(tokenizer, "detokenize"):
        raise ValueError(
            f"Expected {name} to be a tokenizer with `pad_token_id`, "
            "`start_token_id`, `end_token_id` and `detokenize` (e.g. a "
            "`keras_s2s.tokenizers.SentencePieceTokenizer`). "
            f"Received: {name}={tokenizer!r}"
        )


def _check_lengths(**lengths):
    for name, value in lengths.items():
        check_positive_int(name, value, allow_none=True)


def _warn_if_truncated(what, token_ids, limit, argument):
    """Warns about texts of more than `limit` tokens (eager inputs only)."""
    if isinstance(token_ids, list):
        if token_ids and isinstance(token_ids[0], (list, np.ndarray)):
            lengths = [len(row) for row in token_ids]
        else:
            lengths = [len(token_ids)]
    elif isinstance(token_ids, np.ndarray):
        lengths = [token_ids.shape[-1]] if token_ids.ndim == 1 else []
    elif tf is not None and tf.executing_eagerly():
        if isinstance(token_ids, tf.RaggedTensor):
            lengths = token_ids.row_lengths().numpy()
        elif token_ids.shape.rank == 1:
            lengths = [token_ids.shape[0]]
        else:
            return  # Padded by the tokenizer: nothing to tell apart.
    else:
        return
    warn_if_truncated(what, lengths, limit, argument)


@keras.saving.register_keras_serializable(package="keras_s2s")
class Seq2SeqLMPreprocessor(keras_hub.models.Seq2SeqLMPreprocessor):
    """Tokenizes and packs (source, target) strings for a `Seq2SeqLM`.

    Follows `keras_hub.models.Seq2SeqLMPreprocessor`, with two changes: the
    source and the target may use different tokenizers, and the encoder input
    carries no start token. For a batch of `batch_size` pairs it returns
    `(x, y, sample_weight)`:

    - `x["encoder_token_ids"]`: int32 `(batch_size, encoder_sequence_length)`,
      the source tokens followed by `</s>`, right-padded with `<pad>` (0);
      longer sources are truncated, keeping the final `</s>`.
    - `x["encoder_padding_mask"]`: bool, same shape, True on real tokens.
    - `x["decoder_token_ids"]`: int32 `(batch_size, decoder_sequence_length)`,
      `<s>` followed by the target tokens (teacher forcing input).
    - `x["decoder_padding_mask"]`: bool, same shape.
    - `y`: int32 `(batch_size, decoder_sequence_length)`, the decoder ids
      shifted left by one: the target tokens followed by `</s>`.
    - `sample_weight`: bool, `y`'s padding mask.

    Inputs are `{"encoder_text": ..., "decoder_text": ...}` or a
    `(source, target)` tuple of strings or string batches; already packed
    inputs pass through unchanged. The layer runs eagerly on every backend
    and inside `tf.data.Dataset.map`.

    For generation, `generate_preprocess(sources)` packs the sources and a
    decoder prompt of `<s>` followed by padding, and `generate_postprocess`
    turns generated ids back into strings.

    Args:
        tokenizer: a tokenizer shared by source and target (joint
            vocabulary). Give either `tokenizer` or both `encoder_tokenizer`
            and `decoder_tokenizer`.
        encoder_tokenizer: the source tokenizer (separate vocabularies).
        decoder_tokenizer: the target tokenizer (separate vocabularies).
        encoder_sequence_length: int, padded length of the encoder input.
        decoder_sequence_length: int, padded length of the decoder input and
            of the labels.
        **kwargs: base layer arguments (`name`, ...).

    Any keras-s2s tokenizer works (`SentencePieceTokenizer`,
    `WordPieceTokenizer`, `SymbolTokenizer`): each has `pad_token_id`,
    `start_token_id` and `end_token_id`. With separate tokenizers of the same
    class, the encoder tokenizer's preset file is renamed
    `encoder_tokenizer.json` so both can live in one preset directory.

    Example:

    >>> vocab = keras_s2s.tokenizers.compute_symbol_vocabulary(["ab"])  # a=4, b=5
    >>> preprocessor = keras_s2s.models.Seq2SeqLMPreprocessor(
    ...     tokenizer=keras_s2s.tokenizers.SymbolTokenizer(vocab),
    ...     encoder_sequence_length=4,
    ...     decoder_sequence_length=4,
    ... )
    >>> x, y, sample_weight = preprocessor(
    ...     {"encoder_text": ["ab"], "decoder_text": ["ba"]}
    ... )
    >>> keras.ops.convert_to_numpy(x["encoder_token_ids"]).tolist()
    [[4, 5, 3, 0]]
    >>> keras.ops.convert_to_numpy(x["decoder_token_ids"]).tolist()
    [[2, 5, 4, 3]]
    >>> keras.ops.convert_to_numpy(y).tolist()
    [[5, 4, 3, 0]]
    >>> keras.ops.convert_to_numpy(sample_weight).tolist()
    [[True, True, True, False]]
    >>> preprocessor.generate_postprocess(
    ...     {"decoder_token_ids": [[2, 5, 4, 3, 4]],
    ...      "decoder_padding_mask": [[True] * 5]}
    ... )
    ['ba']
    """

    @classproperty
    def presets(cls):
        """The shipped presets, by name, with their metadata (keras-hub style)."""
        from keras_s2s.presets.preset_registry import presets_for_class

        return presets_for_class(cls, "preprocessor")

    def save_to_preset(self, preset_dir):
        """Saves to a preset directory, with the sha256 of its files recorded.

        As keras-hub's `save_to_preset`, then every file of the directory is
        recorded in its `metadata.json` (see
        `keras_s2s.presets.preset_integrity.record_checksums`), so that
        `from_preset(preset_dir)` verifies and loads it.
        """
        from keras_s2s.presets.preset_integrity import record_checksums

        super().save_to_preset(preset_dir)
        record_checksums(preset_dir)

    @classmethod
    def from_preset(cls, preset, config_file="preprocessor.json", **kwargs):
        """Loads the preprocessor (and its tokenizers) of a preset.

        Args:
            preset: a name of `Seq2SeqLMPreprocessor.presets` or a preset
                directory; its files are verified as for
                `Seq2SeqLM.from_preset`.
            config_file: the preprocessor config in the preset.
            **kwargs: override config arguments (e.g.
                `encoder_sequence_length`).
        """
        from keras_s2s.presets.preset_loading import load_preset_preprocessor

        return load_preset_preprocessor(cls, preset, config_file=config_file, **kwargs)

    def __init__(
        self,
        tokenizer=None,
        encoder_tokenizer=None,
        decoder_tokenizer=None,
        encoder_sequence_length=64,
        decoder_sequence_length=64,
        **kwargs,
    ):
        joint = tokenizer is not None
        if joint and (encoder_tokenizer is not None or decoder_tokenizer is not None):
            raise ValueError(
                "Pass either `tokenizer` (one vocabulary for source and target) "
                "or both `encoder_tokenizer` and `decoder_tokenizer`, not both. "
                f"Received: tokenizer={tokenizer!r}, "
                f"encoder_tokenizer={encoder_tokenizer!r}, "
                f"decoder_tokenizer={decoder_tokenizer!r}"
            )
        if not joint:
            if encoder_tokenizer is None or decoder_tokenizer is None:
                raise ValueError(
                    "Expected `tokenizer`, or both `encoder_tokenizer` and "
                    "`decoder_tokenizer`. Received: "
                    f"encoder_tokenizer={encoder_tokenizer!r}, "
                    f"decoder_tokenizer={decoder_tokenizer!r}"
                )
            if encoder_tokenizer is decoder_tokenizer:
                tokenizer, encoder_tokenizer, decoder_tokenizer = (
                    encoder_tokenizer,
                    None,
                    None,
                )
                joint = True
        if joint:
            _check_tokenizer("tokenizer", tokenizer)
        else:
            _check_tokenizer("encoder_tokenizer", encoder_tokenizer)
            _check_tokenizer("decoder_tokenizer", decoder_tokenizer)
            # Two tokenizers in one preset directory need two config files
            # (and two asset folders, named after the config file).
            encoder_file = getattr(encoder_tokenizer, "config_file", None)
            if encoder_file is not None and encoder_file == getattr(
                decoder_tokenizer, "config_file", None
            ):
                encoder_tokenizer.config_file = "encoder_tokenizer.json"
        check_positive_int("encoder_sequence_length", encoder_sequence_length)
        check_positive_int("decoder_sequence_length", decoder_sequence_length)

        super().__init__(
            tokenizer=tokenizer if joint else decoder_tokenizer,
            encoder_sequence_length=encoder_sequence_length,
            decoder_sequence_length=decoder_sequence_length,
            **kwargs,
        )
        # `self.tokenizer` (the target tokenizer) is what generation code reads
        # stop tokens from; the two below are what this layer tokenizes with.
        self.joint = joint
        self.encoder_tokenizer = tokenizer if joint else encoder_tokenizer
        self.decoder_tokenizer = tokenizer if joint else decoder_tokenizer

    def build(self, input_shape):
        # Deferred to `build()` so that tokenizer assets are loaded (special
        # ids known) when restoring a saved preprocessor.
        self.encoder_packer = StartEndPacker(
            start_value=None,
            end_value=self.encoder_tokenizer.end_token_id,
            pad_value=self.encoder_tokenizer.pad_token_id,
            sequence_length=self.encoder_sequence_length,
            return_padding_mask=True,
        )
        self.decoder_packer = StartEndPacker(
            start_value=self.decoder_tokenizer.start_token_id,
            end_value=self.decoder_tokenizer.end_token_id,
            pad_value=self.decoder_tokenizer.pad_token_id,
            sequence_length=self.decoder_sequence_length,
            return_padding_mask=True,
        )
        self.built = True

    @staticmethod
    def _split_inputs(x, y):
        """Returns `(encoder_text, decoder_text)` from a dict or a pair."""
        if isinstance(x, dict):
            if y is not None:
                raise ValueError(
                    "Labels are computed from `decoder_text`; `y` must be None "
                    "when `x` is a dict. Received a `y` as well."
                )
            missing = {"encoder_text", "decoder_text"} - set(x)
            if missing:
                raise ValueError(
                    "Expected x to have keys 'encoder_text' and 'decoder_text'. "
                    f"Missing: {sorted(missing)}. Received keys: {sorted(x)}"
                )
            return x["encoder_text"], x["decoder_text"]
        if y is not None:
            return x, y
        if isinstance(x, tuple) and len(x) == 2:
            return x
        raise ValueError(
            "Expected x to be {'encoder_text': ..., 'decoder_text': ...} or a "
            f"(source, target) tuple. Received: x={x!r}"
        )

    def call(
        self,
        x,
        y=None,
        sample_weight=None,
        *,
        encoder_sequence_length=None,
        decoder_sequence_length=None,
        sequence_length=None,
    ):
        """Packs a batch (or one pair) of strings for training.

        Args:
            x: `{"encoder_text": strings, "decoder_text": strings}` or a
                `(source, target)` tuple; strings are `(batch_size,)` or
                scalars.
            y: the target strings when `x` holds the sources (this is how a
                `tf.data` dataset of `(source, target)` pairs is mapped).
            sample_weight: ignored; computed from the target padding.
            encoder_sequence_length: overrides the configured length.
            decoder_sequence_length: overrides the configured length
                (`sequence_length` is an alias).

        Returns:
            `(x, y, sample_weight)` as described in the class docstring.
            Inputs that are already packed (a dict holding
            `"encoder_token_ids"`, e.g. a batch of
            `keras_s2s.datasets.make_dataset(..., preprocessor)`) are returned
            unchanged, so a pre-packed dataset can be given to the `fit()` of
            a model that preprocesses its data itself.

            Strings must be valid UTF-8 (`TypeError` / `ValueError` naming
            the bad element otherwise). Texts longer than the sequence
            lengths are truncated; called eagerly, the layer warns when it
            truncates (inside `tf.data` it cannot, and truncates silently).
        """
        if isinstance(x, dict) and "encoder_token_ids" in x:
            return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)
        encoder_text, decoder_text = self._split_inputs(x, y)
        sources = check_text_inputs("encoder_text", encoder_text)
        targets = check_text_inputs("decoder_text", decoder_text)
        if sources != targets and sources is not None and targets is not None:
            raise ValueError(
                f"Expected as many targets as sources. Received {sources} "
                f"encoder_text strings and {targets} decoder_text strings."
            )
        _check_lengths(
            encoder_sequence_length=encoder_sequence_length,
            decoder_sequence_length=decoder_sequence_length,
            sequence_length=sequence_length,
        )
        return self._pack(
            x,
            y,
            sample_weight,
            encoder_sequence_length=encoder_sequence_length,
            decoder_sequence_length=decoder_sequence_length,
            sequence_length=sequence_length,
        )

    @preprocessing_function
    def _pack(
        self,
        x,
        y=None,
        sample_weight=None,
        *,
        encoder_sequence_length=None,
        decoder_sequence_length=None,
        sequence_length=None,
    ):
        encoder_text, decoder_text = self._split_inputs(x, y)
        if encoder_sequence_length is None:
            encoder_sequence_length = self.encoder_sequence_length
        decoder_sequence_length = decoder_sequence_length or sequence_length
        if decoder_sequence_length is None:
            decoder_sequence_length = self.decoder_sequence_length

        encoder_tokens = self.encoder_tokenizer(encoder_text)
        decoder_tokens = self.decoder_tokenizer(decoder_text)
        # `</s>` (and `<s>`) take one position each.
        _warn_if_truncated(
            "source texts", encoder_tokens, encoder_sequence_length - 1,
            f"encoder_sequence_length={encoder_sequence_length}",
        )
        _warn_if_truncated(
            "target texts", decoder_tokens, decoder_sequence_length - 1,
            f"decoder_sequence_length={decoder_sequence_length}",
        )
        encoder_token_ids, encoder_padding_mask = self.encoder_packer(
            encoder_tokens,
            sequence_length=encoder_sequence_length,
        )
        # One position longer than the model input, so that inputs and
        # labels are two views of the same packed sequence.
        decoder_token_ids, decoder_padding_mask = self.decoder_packer(
            decoder_tokens,
            sequence_length=decoder_sequence_length + 1,
        )
        x = {
            "encoder_token_ids": encoder_token_ids,
            "encoder_padding_mask": encoder_padding_mask,
            "decoder_token_ids": decoder_token_ids[..., :-1],
            "decoder_padding_mask": decoder_padding_mask[..., :-1],
        }
        y = decoder_token_ids[..., 1:]
        sample_weight = decoder_padding_mask[..., 1:]
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def generate_preprocess(
        self,
        x,
        *,
        encoder_sequence_length=None,
        decoder_sequence_length=None,
        sequence_length=None,
    ):
        """Packs source strings and an empty decoder prompt for generation.

        Args:
            x: source strings `(batch_size,)` (or one string), or a dict with
                `"encoder_text"` and an optional `"decoder_text"` prompt (the
                prompt gets `<s>` in front and no `</s>`).
            encoder_sequence_length: overrides the configured length.
            decoder_sequence_length: overrides the configured length (the
                maximum generated length); `sequence_length` is an alias.

        Returns:
            A dict with `"encoder_token_ids"`, `"encoder_padding_mask"`
            `(batch_size, encoder_sequence_length)` and `"decoder_token_ids"`
            (`<s>` then `<pad>`s), `"decoder_padding_mask"` (True on `<s>`
            and on any prompt tokens) `(batch_size, decoder_sequence_length)`.

        Raises:
            TypeError: a source is not a string.
            ValueError: an empty batch, bytes that are not UTF-8, a nested
                batch, or a length that is not a positive integer.

        A source longer than `encoder_sequence_length - 1` tokens is
        truncated (its `</s>` kept), with a warning when called eagerly. An
        empty or whitespace-only source is encoded as `</s>` alone.
        """
        if isinstance(x, dict):
            if "encoder_text" not in x:
                raise ValueError(
                    "Expected x to have the key 'encoder_text' (and optionally "
                    f"'decoder_text'). Received keys: {sorted(x)}"
                )
            check_text_inputs("encoder_text", x["encoder_text"], False)
            if x.get("decoder_text") is not None:
                check_text_inputs("decoder_text", x["decoder_text"], False)
        else:
            check_text_inputs("inputs", x, allow_empty_batch=False)
        _check_lengths(
            encoder_sequence_length=encoder_sequence_length,
            decoder_sequence_length=decoder_sequence_length,
            sequence_length=sequence_length,
        )
        return self._generate_pack(
            x,
            encoder_sequence_length=encoder_sequence_length,
            decoder_sequence_length=decoder_sequence_length,
            sequence_length=sequence_length,
        )

    @preprocessing_function
    def _generate_pack(
        self,
        x,
        *,
        encoder_sequence_length=None,
        decoder_sequence_length=None,
        sequence_length=None,
    ):
        if not self.built:
            self.build(None)
        if isinstance(x, dict):
            encoder_text = x["encoder_text"]
            decoder_text = x.get("decoder_text")
        else:
            encoder_text, decoder_text = x, None
        if decoder_text is None:
            decoder_text = self._empty_decoder_text(encoder_text)
        if encoder_sequence_length is None:
            encoder_sequence_length = self.encoder_sequence_length
        decoder_sequence_length = decoder_sequence_length or sequence_length
        if decoder_sequence_length is None:
            decoder_sequence_length = self.decoder_sequence_length

        encoder_tokens = self.encoder_tokenizer(encoder_text)
        _warn_if_truncated(
            "source texts", encoder_tokens, encoder_sequence_length - 1,
            f"encoder_sequence_length={encoder_sequence_length}",
        )
        encoder_token_ids, encoder_padding_mask = self.encoder_packer(
            encoder_tokens,
            sequence_length=encoder_sequence_length,
        )
        decoder_token_ids, decoder_padding_mask = self.decoder_packer(
            self.decoder_tokenizer(decoder_text),
            sequence_length=decoder_sequence_length,
            add_end_value=False,
        )
        return {
            "encoder_token_ids": encoder_token_ids,
            "encoder_padding_mask": encoder_padding_mask,
            "decoder_token_ids": decoder_token_ids,
            "decoder_padding_mask": decoder_padding_mask,
        }

    def _strip_python(self, token_ids, padding_mask):
        token_ids = np.asarray(keras.ops.convert_to_numpy(token_ids))
        padding_mask = np.asarray(keras.ops.convert_to_numpy(padding_mask), bool)
        unbatched = token_ids.ndim == 1
        if unbatched:
            token_ids, padding_mask = token_ids[None], padding_mask[None]
        tokenizer = self.decoder_tokenizer
        start, end, pad = (
            tokenizer.start_token_id,
            tokenizer.end_token_id,
            tokenizer.pad_token_id,
        )
        rows = []
        for ids, mask in zip(token_ids.tolist(), padding_mask.tolist()):
            row = []
            for position, (token, keep) in enumerate(zip(ids, mask)):
                if token == end and position > 0:
                    break
                if keep and token not in (start, pad, end):
                    row.append(token)
            rows.append(row)
        return rows[0] if unbatched else rows

    def _strip_tf(self, token_ids, padding_mask):
        tokenizer = self.decoder_tokenizer
        token_ids = tf.convert_to_tensor(token_ids)
        padding_mask = tf.cast(padding_mask, "bool")
        unbatched = token_ids.shape.rank == 1
        if unbatched:
            token_ids = token_ids[tf.newaxis]
            padding_mask = padding_mask[tf.newaxis]
        # Everything from the first `</s>` after position 0 on is dropped.
        positions = tf.range(tf.shape(token_ids)[-1])[tf.newaxis]
        is_end = tf.equal(token_ids, tokenizer.end_token_id) & (positions > 0)
        after_end = tf.cast(tf.cumsum(tf.cast(is_end, "int32"), axis=-1), "bool")
        keep = padding_mask & ~after_end
        for special in (tokenizer.start_token_id, tokenizer.pad_token_id):
            keep = keep & tf.not_equal(token_ids, special)
        keep = keep & tf.not_equal(token_ids, tokenizer.end_token_id)
        rows = tf.ragged.boolean_mask(token_ids, keep)
        return rows[0] if unbatched else rows

    def generate_postprocess(self, x):
        """Turns generated decoder ids back into strings.

        Drops the leading `<s>`, cuts each row at its first `</s>`, drops
        positions where `decoder_padding_mask` is False and `<pad>`s, then
        detokenizes with the target tokenizer.

        Args:
            x: a dict with `"decoder_token_ids"` and `"decoder_padding_mask"`,
                `(batch_size, decoder_sequence_length)` (or unbatched).

        Returns:
            A list of `batch_size` strings (one string if unbatched).

        Raises:
            ValueError: `x` lacks a key, or holds ids outside the target
                vocabulary.
            TypeError: the ids are not integers.
        """
        missing = [
            key
            for key in ("decoder_token_ids", "decoder_padding_mask")
            if not isinstance(x, dict) or key not in x
        ]
        if missing:
            raise ValueError(
                "Expected x to be a dict with 'decoder_token_ids' and "
                f"'decoder_padding_mask'. Missing: {missing}."
            )
        try:
            vocabulary_size = self.decoder_tokenizer.vocabulary_size()
        except Exception:
            vocabulary_size = None  # Assets not loaded yet: left to the tokenizer.
        if vocabulary_size:
            check_token_ids(
                "decoder_token_ids", x["decoder_token_ids"], vocabulary_size
            )
        return self._generate_unpack(x)

    @preprocessing_function
    def _generate_unpack(self, x):
        if not self.built:
            self.build(None)
        token_ids, padding_mask = x["decoder_token_ids"], x["decoder_padding_mask"]
        if self.decoder_tokenizer._use_tf_workflow():
            rows = self._strip_tf(token_ids, padding_mask)
        else:
            rows = self._strip_python(token_ids, padding_mask)
        return self.decoder_tokenizer.detokenize(rows)

    def get_config(self):
        config = super().get_config()
        serialize = keras.layers.serialize
        config.update(
            {
                "tokenizer": serialize(self.encoder_tokenizer) if self.joint else None,
                "encoder_tokenizer": None
                if self.joint
                else serialize(self.encoder_tokenizer),
                "decoder_tokenizer": None
                if self.joint
                else serialize(self.decoder_tokenizer),
                "encoder_sequence_length": self.encoder_sequence_length,
                "decoder_sequence_length": self.decoder_sequence_length,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder_tokenizer", "decoder_tokenizer"):
            if isinstance(config.get(key), dict):
                config[key] = keras.layers.deserialize(config[key])
        return super().from_config(config)
