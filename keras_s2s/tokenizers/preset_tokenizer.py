"""Loading keras-s2s tokenizers from presets, keras-hub style."""

from keras_s2s.utils.class_property import classproperty


class PresetTokenizerMixin:
    """`presets` and `from_preset` for the keras-s2s tokenizer classes.

    Mixed in before the keras-hub base class, so that
    `SentencePieceTokenizer.presets` lists the shipped presets whose
    tokenizer is a `SentencePieceTokenizer` (`SymbolTokenizer.presets` the
    grapheme-to-phoneme ones) and `from_preset(name)` loads them offline,
    with the checksums of `keras_s2s.presets` verified.
    """

    @classproperty
    def presets(cls):
        """The shipped presets with a tokenizer of this class, by name."""
        from keras_s2s.presets.preset_registry import presets_for_class

        return presets_for_class(cls, "tokenizer")

    @classmethod
    def from_preset(cls, preset, config_file=None, **kwargs):
        """Loads the tokenizer of a shipped preset name or a preset directory.

        Args:
            preset: a name of `cls.presets` or a preset directory.
            config_file: `"tokenizer.json"` (the target, or joint,
                tokenizer) or `"encoder_tokenizer.json"` (the source
                tokenizer of a preset with separate vocabularies). None:
                the first of them that is of this class.
            **kwargs: passed to the tokenizer's constructor.

        Example:

        ```python
        tokenizer = keras_s2s.tokenizers.SentencePieceTokenizer.from_preset(
            "multi30k_en_de_gru_bahdanau"
        )
        tokenizer.detokenize(tokenizer(["A dog runs."]))
        ```
        """
        from keras_s2s.presets.preset_loading import load_preset_tokenizer

        return load_preset_tokenizer(cls, preset, config_file=config_file, **kwargs)

    def save_to_preset(self, preset_dir):
        """Saves the tokenizer (config and assets) to a preset directory.

        As keras-hub's `save_to_preset`, then the sha256 of every file of
        the directory is recorded in its `metadata.json`, so that
        `from_preset(preset_dir)` verifies and loads it.
        """
        from keras_s2s.presets.preset_integrity import record_checksums

        super().save_to_preset(preset_dir)
        record_checksums(preset_dir)
