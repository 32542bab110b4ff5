"""An ensemble of `Seq2SeqLM`s that decodes with their averaged log-probabilities."""

import keras
import keras_hub
from keras import ops

from keras_s2s.models.seq2seq_lm import Seq2SeqLM

CACHE_KEY_SEPARATOR = "/"


def _member_key(index, key):
    """The ensemble cache key of member `index`'s cache entry `key`."""
    return f"member_{index}{CACHE_KEY_SEPARATOR}{key}"


def _tokenizer_identity(tokenizer):
    """What decides how a tokenizer maps text to ids and back.

    The class, the config (without the layer's name, trainability, dtype
    policy and preset file name, which do not change ids), the vocabulary and, for
    SentencePiece, the serialized model (its piece scores decide the
    segmentation). The last two are None while assets are not loaded (a
    tokenizer being restored from a saved model).
    """
    config = {
        k: v
        for k, v in tokenizer.get_config().items()
        if k not in ("name", "trainable", "dtype", "config_file")
    }
    try:
        vocabulary = list(tokenizer.get_vocabulary())
    except Exception:
        vocabulary = None
    return {
        "class": type(tokenizer).__name__,
        "config": repr(sorted(config.items())),
        "vocabulary": vocabulary,
        "proto": getattr(tokenizer, "proto", None),
    }


def same_tokenization(tokenizer, other):
    """True if two tokenizers give the same ids for the same text.

    What is not known yet on either side (assets not loaded) is not
    compared.
    """
    ours, theirs = _tokenizer_identity(tokenizer), _tokenizer_identity(other)
    return all(
        ours[key] == theirs[key]
        for key in ours
        if ours[key] is not None and theirs[key] is not None
    )


def _average(logits):
    """The mean of the members' log-softmax; one member's logits unchanged.

    Args:
        logits: a list of float `(batch_size, ..., vocabulary_size)`, one per
            member.

    Returns:
        float32 `(batch_size, ..., vocabulary_size)`.
    """
    if len(logits) == 1:
        return ops.cast(logits[0], "float32")
    log_probs = [ops.log_softmax(ops.cast(x, "float32"), axis=-1) for x in logits]
    return ops.mean(ops.stack(log_probs, axis=0), axis=0)


class _MemberAverage(keras.layers.Layer):
    """Calls every member on the same inputs and averages them (`_average`).

    Internal to `Seq2SeqEnsembleLM`, which serializes the members itself.
    """

    def __init__(self, members, **kwargs):
        super().__init__(**kwargs)
        self.members = list(members)

    def call(self, inputs, training=False):
        # logits: M x (batch_size, target_len, vocabulary_size)
        logits = [member(inputs, training=training) for member in self.members]
        return _average(logits)

    def compute_output_spec(self, inputs, training=False):
        spec = self.members[0].compute_output_spec(inputs)
        return keras.KerasTensor(spec.shape, dtype="float32")


def _check_members(members):
    if isinstance(members, (Seq2SeqLM, str)) or not isinstance(members, (list, tuple)):
        raise ValueError(
            "Expected `members` to be a list of keras_s2s.models.Seq2SeqLM. "
            f"Received: members={members!r}"
        )
    if not members:
        raise ValueError(
            "Expected at least one member model. Received: members=[]"
        )
    for index, member in enumerate(members):
        if not isinstance(member, Seq2SeqLM):
            raise ValueError(
                "Expected every member to be a keras_s2s.models.Seq2SeqLM. "
                f"Received: members[{index}] of type {type(member).__name__}"
            )
    first = members[0].backbone
    for index, member in enumerate(members[1:], start=1):
        for side in ("decoder", "encoder"):
            name = f"{side}_vocabulary_size"
            size, expected = getattr(member.backbone, name), getattr(first, name)
            if size != expected:
                raise ValueError(
                    f"Ensemble members must share their {side} vocabulary: "
                    f"members[0] has {name}={expected}, members[{index}] has "
                    f"{name}={size}. Ensemble models trained with the same "
                    "tokenizer (e.g. the same recipe with different seeds)."
                )


def _check_tokenizers(members, preprocessor):
    """Raises `ValueError` unless all preprocessors tokenize alike."""
    reference = preprocessor
    described = "the ensemble's preprocessor"
    for index, member in enumerate(members):
        other = member.preprocessor
        if other is None:
            continue
        if reference is None:
            reference, described = other, f"members[{index}]"
            continue
        for side, attribute in (("target", "decoder_tokenizer"),
                                ("source", "encoder_tokenizer")):
            ours = getattr(reference, attribute, None)
            theirs = getattr(other, attribute, None)
            if ours is None or theirs is None:
                continue
            if not same_tokenization(ours, theirs):
                raise ValueError(
                    f"Ensemble members must share the {side} tokenizer: "
                    f"members[{index}]'s {attribute} differs from that of "
                    f"{described} (class, configuration or vocabulary). Their "
                    "token ids would mean different tokens. Ensemble models "
                    "trained with the same tokenizer."
                )


@keras.saving.register_keras_serializable(package="keras_s2s")
class Seq2SeqEnsembleLM(Seq2SeqLM):
    """An ensemble of `Seq2SeqLM`s decoding with averaged log-probabilities.

    At every decoding step each member computes its next-token distribution
    from the same prefix; the ensemble's scores are the mean of the members'
    log-probabilities,

        scores(y | Y_<t, X) = 1/M * sum_m log P_m(y | Y_<t, X),

    which every sampler (greedy, beam, exact, sampling) renormalizes with its
    own `log_softmax` (with its temperature): the ensemble decodes from the
    normalized geometric mean of the members' distributions (log-linear
    interpolation, as Marian and Nematus ensembles do). Members with copy
    attention contribute the log-probabilities of their copy mixture. An
    ensemble of one member returns that member's logits unchanged, so it
    decodes exactly as the member does. The attention weights passed to
    coverage penalties are the members' mean.

    The decoding cache is a flat dict holding every member's cache entries
    under `"member_<i>/<key>"`; each member's beam-invariant entries (encoder
    memory, keys, masks) stay beam-invariant (see
    `beam_invariant_cache_keys`), so `BeamSampler` never reorders them.

    Calling the ensemble on teacher-forced inputs returns the members' mean
    log-probabilities `(batch_size, target_len, vocabulary_size)` (a single
    member's logits for an ensemble of one), for scoring and evaluation.

    `generate()`, `compile(sampler=...)`, `export_saved_model()` and the
    other `Seq2SeqLM` methods work as they do for one model. The members
    must share the source and target vocabularies (the same tokenizers,
    checked: a `ValueError` names the member that differs); they may differ
    in anything else (architecture, size, cell, attention). An ensemble is
    for decoding: train its members, not the ensemble.

    Args:
        members: a list of `keras_s2s.models.Seq2SeqLM` (at least one).
        preprocessor: a `Seq2SeqLMPreprocessor`, or None to use the first
            member's preprocessor that exists (the members share it). With
            one, `generate()` takes and returns strings.
        **kwargs: base model arguments (`name`, ...).

    Raises:
        ValueError: `members` is empty or not a list of `Seq2SeqLM`, or the
            members' vocabularies or tokenizers differ.

    Example:
    >>> def member():
    ...     return keras_s2s.models.Seq2SeqLM(keras_s2s.models.Seq2SeqBackbone(
    ...         encoder_vocabulary_size=12, embedding_dim=8, hidden_dim=16))
    >>> ensemble = Seq2SeqEnsembleLM([member(), member()])
    >>> ensemble.compile(sampler="beam")
    >>> out = ensemble.generate({
    ...     "encoder_token_ids": np.array([[4, 5, 6, 3]]),
    ...     "encoder_padding_mask": np.array([[1, 1, 1, 1]], dtype=bool),
    ...     "decoder_token_ids": np.array([[2, 0, 0, 0, 0]]),
    ...     "decoder_padding_mask": np.array([[1, 0, 0, 0, 0]], dtype=bool)},
    ...     stop_token_ids=[3])
    >>> out["decoder_token_ids"].shape
    (1, 5)
    """

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Loads an ensemble from a list of preset names or directories.

        Args:
            preset: a list of presets (names of
                `keras_s2s.presets.list_presets()` or preset directories),
                one per member, each loaded with `Seq2SeqLM.from_preset`
                (files verified against their checksums). The first member's
                preprocessor becomes the ensemble's, and the search its
                preset records the ensemble's compiled search.
            load_weights: if False, the weights stay randomly initialized.
            **kwargs: passed to each member's `from_preset` (e.g. `dtype`).

        Example:

        ```python
        ensemble = keras_s2s.models.Seq2SeqEnsembleLM.from_preset(
            ["my_en_de_seed1", "my_en_de_seed2"])
        ensemble.generate(["A dog runs."])
        ```
        """
        if isinstance(preset, (str, bytes)) or not isinstance(preset, (list, tuple)):
            raise ValueError(
                "Expected `preset` to be a list of preset names or directories, "
                f"one per member. Received: preset={preset!r}. For one model, "
                "use keras_s2s.models.Seq2SeqLM.from_preset."
            )
        members = [
            Seq2SeqLM.from_preset(name, load_weights=load_weights, **kwargs)
            for name in preset
        ]
        ensemble = cls(members)
        # The first member's recorded search, as `keras-s2s translate
        # --preset A --preset B` uses it.
        object.__setattr__(ensemble, "preset_search", members[0].preset_search)
        if ensemble.preset_search is not None:
            ensemble.compile(sampler="auto")
        return ensemble

    def __init__(self, members, preprocessor=None, **kwargs):
        _check_members(members)
        _check_tokenizers(members, preprocessor)
        if preprocessor is None:
            preprocessor = next(
                (m.preprocessor for m in members if m.preprocessor is not None),
                None,
            )
        # === Functional model ===
        # (Functional like every keras-hub task: keras-hub resets the task
        # class hierarchy whenever a subclassed task is built.)
        inputs = {
            name: keras.Input(shape=(None,), dtype=dtype, name=name)
            for name, dtype in (
                ("encoder_token_ids", "int32"),
                ("encoder_padding_mask", "bool"),
                ("decoder_token_ids", "int32"),
                ("decoder_padding_mask", "bool"),
            )
        }
        # outputs: (batch_size, target_len, vocabulary_size), float32. One
        # layer calls the members: their names need not be unique (presets
        # saved from default-named models all load as "seq2_seq_lm").
        outputs = _MemberAverage(members, name="member_average")(inputs)
        keras_hub.models.Seq2SeqLM.__init__(
            self, inputs=inputs, outputs=outputs, compile=False, **kwargs
        )
        # === Layers ===
        self.members = list(members)
        self.preprocessor = preprocessor
        self.compile()

    @property
    def backbone(self):
        """The first member's backbone: its vocabulary sizes are the ensemble's.

        An ensemble has no single backbone; use `members[i].backbone` for a
        member's own.
        """
        members = getattr(self, "members", None)
        return members[0].backbone if members else None

    @backbone.setter
    def backbone(self, value):
        if value is not None:
            raise AttributeError(
                "An ensemble's backbone is its first member's; set `members`."
            )

    @property
    def beam_invariant_cache_keys(self):
        """The cache entries every member keeps equal across beams."""
        return tuple(
            _member_key(index, key)
            for index, member in enumerate(self.members)
            for key in member.beam_invariant_cache_keys
        )

    # ------------------------------------------------------------ generation

    def build_cache(self, encoder_token_ids, encoder_padding_mask):
        """Encodes the source with every member; returns their caches.

        Returns:
            A flat dict: member `i`'s `Seq2SeqLM.build_cache` entries under
            `"member_<i>/<key>"`.
        """
        cache = {}
        for index, member in enumerate(self.members):
            member_cache = member.build_cache(encoder_token_ids, encoder_padding_mask)
            for key, value in member_cache.items():
                cache[_member_key(index, key)] = value
        return cache

    def call_decoder_step(self, token_ids, cache):
        """One decoding step of every member from the previous tokens.

        Args:
            token_ids: int `(batch_size,)`, the previous output tokens.
            cache: the dict from `build_cache` or a previous step.

        Returns:
            A tuple `(scores, attention_weights, cache)`: `scores`
            `(batch_size, vocabulary_size)` float32, the members' mean
            log-probabilities (a single member's logits for an ensemble of
            one); `attention_weights` `(batch_size, source_len)`, the
            members' mean; and the updated cache.
        """
        logits, weights, new_cache = [], [], {}
        for index, member in enumerate(self.members):
            prefix = _member_key(index, "")
            member_cache = {
                key[len(prefix):]: value
                for key, value in cache.items()
                if key.startswith(prefix)
            }
            member_logits, member_weights, member_cache = member.call_decoder_step(
                token_ids, member_cache
            )
            logits.append(member_logits)
            weights.append(member_weights)
            for key, value in member_cache.items():
                new_cache[_member_key(index, key)] = value
        if len(weights) == 1:
            attention = weights[0]
        else:
            attention = ops.mean(ops.stack(weights, axis=0), axis=0)
        return _average(logits), attention, new_cache

    # ------------------------------------------------------------- saving

    def get_config(self):
        return {
            "members": [keras.layers.serialize(m) for m in self.members],
            "preprocessor": keras.layers.serialize(self.preprocessor),
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["members"] = [
            keras.layers.deserialize(m) if isinstance(m, dict) else m
            for m in config["members"]
        ]
        if isinstance(config.get("preprocessor"), dict):
            config["preprocessor"] = keras.layers.deserialize(config["preprocessor"])
        return cls(**config)

    def save_to_preset(self, preset_dir, max_shard_size=10):
        """Not supported: an ensemble is saved as one preset per member.

        Raises:
            ValueError: always, saying what to do instead.
        """
        raise ValueError(
            "An ensemble is not saved as one preset: save each member "
            "(`ensemble.members[i].save_to_preset(dir_i)`) and load them with "
            "Seq2SeqEnsembleLM.from_preset([dir_0, dir_1, ...]). "
            "`.keras` files (`ensemble.save(path)`) hold the whole ensemble."
        )
