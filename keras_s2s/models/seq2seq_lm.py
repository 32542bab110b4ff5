import inspect
import re
import warnings

import keras
import keras_hub
import numpy as np
from keras import ops

from keras_s2s import samplers
from keras_s2s.layers.copy_generator import copy_log_probabilities
from keras_s2s.losses.sparse_crossentropy import SparseCrossentropy
from keras_s2s.models.seq2seq_backbone import Seq2SeqBackbone
from keras_s2s.utils.argument_validation import check_positive_int
from keras_s2s.utils.argument_validation import check_stop_token_ids
from keras_s2s.utils.blank_inputs import is_blank
from keras_s2s.utils.class_property import classproperty

# Examples per compiled `generate()` call; longer batches are chunked.
DEFAULT_GENERATE_CHUNK_SIZE = 256
# Inputs are sorted by length inside windows of this many chunks.
SORT_WINDOW_CHUNKS = 8
GENERATE_INPUT_KEYS = (
    "encoder_token_ids",
    "encoder_padding_mask",
    "decoder_token_ids",
    "decoder_padding_mask",
)


def _any_equal(inputs, values, padding_mask):
    """True where `inputs` equals any of `values` and `padding_mask` is True."""
    output = ops.equal(inputs, values[0])
    for value in values[1:]:
        output = ops.logical_or(output, ops.equal(inputs, value))
    return ops.logical_and(output, padding_mask)


@keras.saving.register_keras_serializable(package="keras_s2s")
class Seq2SeqLM(keras_hub.models.Seq2SeqLM):
    """Attentional RNN encoder-decoder for conditional generation.

    Wraps a `Seq2SeqBackbone` (and optionally a `Seq2SeqLMPreprocessor`) and
    follows keras-hub's `Seq2SeqLM` conventions: `fit()` on
    `(x, y, sample_weight)` where `x` holds `"encoder_token_ids"`,
    `"encoder_padding_mask"`, `"decoder_token_ids"` (starting with the start
    token) and `"decoder_padding_mask"`, `y` the decoder ids shifted left and
    `sample_weight` its padding mask; `generate()` runs a compiled decoding loop
    (`tf.function` / `jax.jit` / `torch.no_grad`) driven by a sampler that only
    sees `next(prompt, cache, index)`.

    The generation cache is a pytree: the decoder state (per-layer RNN states,
    the input-feeding vector), the encoder memory, its mask and its projected
    attention keys. `next()` returns the step's attention weights
    `(batch_size, source_len)` as its `hidden_states`, for coverage penalties.

    Args:
        backbone: a `keras_s2s.models.Seq2SeqBackbone`.
        preprocessor: a `keras_s2s.models.Seq2SeqLMPreprocessor` or None. With
            one, `fit()` and `generate()` take raw strings.

    Example:
    >>> backbone = Seq2SeqBackbone(encoder_vocabulary_size=12, embedding_dim=8,
    ...                            hidden_dim=16)
    >>> model = Seq2SeqLM(backbone)
    >>> model.compile(sampler="greedy")
    >>> out = model.generate({
    ...     "encoder_token_ids": np.array([[4, 5, 6, 3]]),
    ...     "encoder_padding_mask": np.array([[1, 1, 1, 1]], dtype=bool),
    ...     "decoder_token_ids": np.array([[2, 0, 0, 0, 0]]),
    ...     "decoder_padding_mask": np.array([[1, 0, 0, 0, 0]], dtype=bool)},
    ...     stop_token_ids=[3])
    >>> out["decoder_token_ids"].shape
    (1, 5)
    """

    backbone_cls = Seq2SeqBackbone
    preprocessor_cls = None
    # Entries of `build_cache()`'s cache that are the same for every beam of
    # an example: `BeamSampler` tiles them once and never reorders them.
    beam_invariant_cache_keys = ("memory", "memory_mask", "keys", "source_ids")

    # The search `compile(sampler="auto")` picks: the one a preset's scores
    # were measured with (set by `from_preset`), else greedy search.
    preset_search = None

    @classproperty
    def presets(cls):
        """The shipped presets, by name, with their metadata (keras-hub style).

        Each entry is `{"metadata": {...}, "path": directory, "classes":
        {...}}`; the metadata holds `description`, `params`, `task`,
        `languages`, `dataset`, `domain`, `headline_score` and `search`.
        """
        from keras_s2s.presets.preset_registry import presets_for_class

        return presets_for_class(cls.backbone_cls, "backbone")

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Loads a model from a shipped preset name or a preset directory.

        Names are those of `Seq2SeqLM.presets` (loaded offline from
        `keras_s2s/presets/<name>/`). Every file is first checked against
        the sha256 recorded in the preset's `metadata.json` (an altered,
        missing or unrecorded file raises a `ValueError` naming it), then
        keras-hub's loader rebuilds the model, its configs deserialized in
        Keras safe mode. See `keras_s2s.presets.load_preset_task`.

        The model comes compiled with the search its scores were measured
        with (the preset's recorded `evaluation_search`, e.g. beam search
        with 5 beams), so `generate()` gives what the model card reports and
        what `keras-s2s translate`, the exported SavedModel and the server
        give. Replace it with `compile(sampler=...)`, or per call with
        `generate(..., sampler=...)`.

        Args:
            preset: a preset name or a path to a preset directory.
            load_weights: if False, the weights stay randomly initialized.
            **kwargs: passed to keras-hub's task loader (e.g. `dtype`).
        """
        from keras_s2s.presets import load_preset_task

        model = load_preset_task(cls, preset, load_weights=load_weights, **kwargs)
        if model.preset_search is not None:
            model.compile(sampler="auto")
        return model

    def __init__(self, backbone, preprocessor=None, **kwargs):
        if not isinstance(backbone, Seq2SeqBackbone):
            raise ValueError(
                "Expected `backbone` to be a keras_s2s.models.Seq2SeqBackbone. "
                f"Received: {type(backbone).__name__}"
            )
        _check_vocabulary_sizes(backbone, preprocessor)
        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor

        # === Functional model ===
        inputs = backbone.input
        backbone_outputs = backbone(inputs)
        hidden_states = backbone_outputs["decoder_sequence_output"]
        # logits: (batch_size, target_len, decoder_vocabulary_size), float32.
        logits = backbone.token_embedding(hidden_states, reverse=True)
        if backbone.copy_attention:
            # With copying, the "logits" are the mixture's log-probabilities.
            logits = copy_log_probabilities(
                logits,
                backbone_outputs["copy_switch"],
                backbone_outputs["attention_weights"],
                inputs["encoder_token_ids"],
            )
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        weighted_metrics="auto",
        sampler="auto",
        label_smoothing=0.0,
        **kwargs,
    ):
        """Configures training and generation.

        Args:
            optimizer: `"auto"` (Adam, learning rate 1e-3, gradients clipped
                to a global norm of 5), a name or a `keras.Optimizer`.
            loss: `"auto"` (`keras_s2s.losses.SparseCrossentropy` on logits,
                with `label_smoothing`), or any Keras loss.
            weighted_metrics: `"auto"` (token accuracy and perplexity over
                real target tokens) or a list of metrics.
            sampler: the search used by `generate()`: a name (`"greedy"`,
                `"beam"`, `"top_k"`, `"top_p"`, `"random"`, `"exact"`), a
                config dict or a sampler instance; see
                `keras_s2s.samplers.get`. `"auto"`: the search a preset's
                scores were measured with (for a model from `from_preset`),
                else `"greedy"`.
            label_smoothing: float in [0, 1), for the `"auto"` loss.
            **kwargs: passed to `keras.Model.compile`. Under TensorFlow,
                `generate()` is XLA-compiled unless `jit_compile=False` is
                passed, on CPU as well, where Keras's `"auto"` leaves
                training uncompiled: greedy and beam search run about 1.25x
                faster (`tools/benchmark_seq2seq.py`).
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3, global_clipnorm=5.0)
        if loss == "auto":
            loss = SparseCrossentropy(label_smoothing=label_smoothing, from_logits=True)
        if weighted_metrics == "auto":
            weighted_metrics = [
                keras.metrics.SparseCategoricalAccuracy(name="token_accuracy"),
                keras_hub.metrics.Perplexity(from_logits=True, name="perplexity"),
            ]
        super().compile(
            optimizer=optimizer,
            loss=loss,
            weighted_metrics=weighted_metrics,
            sampler=samplers.get(self._resolve_sampler(sampler)),
            **kwargs,
        )
        self.label_smoothing = label_smoothing
        self._generate_jit_compile = kwargs.get("jit_compile", "auto")

    def _resolve_sampler(self, sampler):
        if isinstance(sampler, str) and sampler == "auto":
            return self.preset_search if self.preset_search is not None else "greedy"
        return sampler

    def make_generate_function(self):
        """The compiled generation function (XLA under TensorFlow; see `compile`)."""
        if self.generate_function is not None:
            return self.generate_function
        if keras.config.backend() != "tensorflow" or self.run_eagerly:
            return super().make_generate_function()
        import tensorflow as tf

        jit_compile = getattr(self, "_generate_jit_compile", "auto")
        if jit_compile == "auto":
            jit_compile = all(layer.supports_jit for layer in self._flatten_layers())
        self.generate_function = tf.function(self.generate_step, jit_compile=bool(jit_compile))
        return self.generate_function

    def get_compile_config(self):
        """The compile arguments saved in `.keras` files, with the sampler."""
        config = super().get_compile_config()
        if config is None:
            return None
        config = dict(config)
        config["sampler"] = samplers.serialize(self.sampler)
        config["label_smoothing"] = getattr(self, "label_smoothing", 0.0)
        return config

    def compile_from_config(self, config):
        """Re-compiles a loaded model: optimizer, loss, metrics and sampler."""
        config = dict(config)
        sampler = config.pop("sampler", "greedy")
        label_smoothing = config.pop("label_smoothing", 0.0)
        config = keras.saving.deserialize_keras_object(config)
        self.compile(sampler=sampler, label_smoothing=label_smoothing, **config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def export_saved_model(self, filepath, **kwargs):
        """Writes a string-in, string-out SavedModel of `generate()`.

        See `keras_s2s.export.export_saved_model` for the arguments
        (`sampler`, `max_length`, `overwrite`, ...). Returns the path.
        """
        from keras_s2s.export import export_saved_model

        return export_saved_model(self, filepath, **kwargs)

    def save_to_preset(self, preset_dir, max_shard_size=10):
        """Saves the model as a preset directory, atomically, with checksums.

        keras-hub's files (configs, weights, tokenizer assets) are written
        into a temporary directory next to `preset_dir` with a
        `metadata.json` recording the sha256 of each, then moved into place:
        an existing preset there is replaced in one step, and an interrupted
        save leaves it intact. `from_preset` verifies the checksums. See
        `keras_s2s.training.write_preset` (which also writes a model card and
        metadata, and refuses to replace a directory holding other files).

        Args:
            preset_dir: the preset directory (created or replaced).
            max_shard_size: GB per weights file, as in keras-hub.

        Returns:
            The absolute path of the preset directory.
        """
        from keras_s2s.training.preset_writer import write_preset

        return write_preset(
            self, preset_dir, overwrite=True, max_shard_size=max_shard_size
        )

    # ------------------------------------------------------------ generation

    def build_cache(self, encoder_token_ids, encoder_padding_mask):
        """Encodes the source and returns the decoding cache (a pytree).

        Returns:
            A dict with `"state"` (the decoder state before the first step),
            `"memory"` `(batch_size, source_len, memory_dim)`, `"memory_mask"`
            `(batch_size, source_len)`, `"keys"` (the memory's projected
            attention keys) and, with copy attention, `"source_ids"`
            `(batch_size, source_len)`.
        """
        memory, memory_mask, initial_state = self.backbone.encode(
            encoder_token_ids, encoder_padding_mask
        )
        decoder = self.backbone.decoder
        cache = {
            "state": decoder.get_initial_state(initial_state, memory),
            "memory": memory,
            "memory_mask": memory_mask,
            "keys": decoder.attention.precompute_keys(memory),
        }
        if self.backbone.copy_attention:
            cache["source_ids"] = ops.cast(encoder_token_ids, "int32")
        return cache

    def call_decoder_step(self, token_ids, cache):
        """One decoding step from the previous tokens.

        Args:
            token_ids: int `(batch_size,)`, the previous output tokens.
            cache: the pytree from `build_cache` or a previous step.

        Returns:
            A tuple `(logits, attention_weights, cache)`: `logits`
            `(batch_size, vocabulary_size)` in float32 (with copy attention,
            the log-probabilities of the copy mixture), `attention_weights`
            `(batch_size, source_len)`, and the updated cache.
        """
        decoder = self.backbone.decoder
        # inputs: (batch_size, embedding_dim)
        inputs = self.backbone.token_embedding(token_ids)
        output, weights, state = decoder.step(
            inputs, cache["state"], cache["memory"], cache["keys"], cache["memory_mask"]
        )
        logits = self.backbone.token_embedding(output, reverse=True)
        if self.backbone.copy_attention:
            switch = self.backbone.copy_generator(
                output, weights, cache["memory"], inputs
            )
            logits = copy_log_probabilities(
                logits, switch, weights, cache["source_ids"]
            )
        new_cache = dict(cache)
        new_cache["state"] = state
        return ops.cast(logits, "float32"), ops.cast(weights, "float32"), new_cache

    def generate_step(self, inputs, stop_token_ids=None):
        """A compilable generation function for one batch of token ids.

        Args:
            inputs: dict with `"encoder_token_ids"`, `"encoder_padding_mask"`,
                `"decoder_token_ids"` `(batch_size, max_length)` (the prompt:
                the start token, optionally a forced prefix, then padding) and
                `"decoder_padding_mask"` (True on the prompt).
            stop_token_ids: tuple of ids that end a sequence, or None.

        Returns:
            A dict with `"decoder_token_ids"` and `"decoder_padding_mask"`
            (True up to and including each sequence's stop token). With an
            n-best sampler (`BeamSampler(return_all_beams=True)`) both are
            `(batch_size, num_beams, max_length)` and `"scores"`
            `(batch_size, num_beams)` is added; a sampler returning a dict
            (`ExactSampler`) adds its entries (`"scores"`, `"proven_optimal"`).
        """
        decoder_token_ids = inputs["decoder_token_ids"]
        decoder_padding_mask = ops.cast(inputs["decoder_padding_mask"], "bool")
        cache = self.build_cache(
            inputs["encoder_token_ids"], inputs["encoder_padding_mask"]
        )

        def next(prompt, cache, index):
            # The RNN consumes the previous token; forced prompt tokens are
            # restored by the sampler wherever `decoder_padding_mask` is True.
            batch_size = ops.shape(prompt)[0]
            previous = ops.slice(prompt, [0, index - 1], [batch_size, 1])[:, 0]
            return self.call_decoder_step(previous, cache)

        extra = {}
        if _accepts_keyword(self.sampler, "source_mask"):
            # For length limits relative to the source and coverage penalties.
            extra["source_mask"] = ops.cast(inputs["encoder_padding_mask"], "bool")
        result = self.sampler(
            next=next,
            prompt=decoder_token_ids,
            cache=cache,
            # Step from the first position: the RNN state must consume every
            # prompt token in order, so start right after the start token.
            index=1,
            mask=decoder_padding_mask,
            stop_token_ids=stop_token_ids,
            hidden_states=None,
            model=self,
            **extra,
        )
        # A sampler returns token ids, `(token_ids, scores)` (n-best) or a
        # dict with "token_ids" and per-example extras (scores, flags).
        extras = {}
        if isinstance(result, dict):
            extras = {k: v for k, v in result.items() if k != "token_ids"}
            decoder_token_ids = result["token_ids"]
        elif isinstance(result, (tuple, list)):
            decoder_token_ids, extras["scores"] = result
        else:
            decoder_token_ids = result
        if len(decoder_token_ids.shape) == 3:
            # n-best: (batch_size, num_beams, max_length).
            decoder_padding_mask = decoder_padding_mask[:, None, :]
        if stop_token_ids is not None:
            end_locations = ops.cast(
                _any_equal(
                    decoder_token_ids,
                    stop_token_ids,
                    ops.logical_not(decoder_padding_mask),
                ),
                "int32",
            )
            cumsum = ops.cast(ops.cumsum(end_locations, axis=-1), "int32")
            overflow = cumsum - end_locations
            decoder_padding_mask = ops.logical_not(ops.cast(overflow, "bool"))
        else:
            decoder_padding_mask = ops.ones_like(decoder_token_ids, dtype="bool")
        return {
            "decoder_token_ids": decoder_token_ids,
            "decoder_padding_mask": decoder_padding_mask,
            **extras,
        }

    def fit(self, x=None, y=None, batch_size=None, *, shuffle="auto",
            validation_split=None, validation_data=None, sample_weight=None, **kwargs):
        """Trains on strings, token ids or a dataset; see `keras.Model.fit`.

        `shuffle`: `"auto"` (the default) shuffles in-memory inputs (lists of
        strings, arrays) again every epoch and leaves a `tf.data.Dataset`,
        a grain dataset or a `keras.utils.PyDataset` in its own order (shuffle
        it when building it, e.g. `keras_s2s.datasets.make_dataset(...,
        shuffle=True)`); `True` asks the same for in-memory inputs; `False`
        keeps the order. keras-hub batches in-memory inputs into a dataset
        before Keras sees them, which would ignore Keras's own shuffling
        (with a warning); here they are shuffled inside that dataset.

        `validation_split` keeps the last fraction of in-memory inputs for
        validation, before shuffling, as Keras does.
        """
        in_memory = x is not None and not _is_dataset(x)
        if in_memory and validation_split:
            if validation_data is not None:
                raise ValueError(
                    "Pass either validation_split or validation_data, not both."
                )
            (x, y, sample_weight), validation_data = _split_last(
                (x, y, sample_weight), validation_split
            )
        if in_memory and shuffle in ("auto", True):
            x = _shuffled_batches(x, y, sample_weight, batch_size or 32)
            y = sample_weight = batch_size = None
        elif shuffle not in ("auto", True, False):
            raise ValueError(
                f"Expected shuffle to be 'auto', True or False. Received: shuffle={shuffle!r}"
            )
        return super().fit(
            x=x, y=y, batch_size=batch_size, sample_weight=sample_weight,
            validation_data=validation_data, shuffle=False, **kwargs,
        )

    def generate(
        self,
        inputs,
        max_length=None,
        stop_token_ids="auto",
        sampler=None,
        chunk_size=DEFAULT_GENERATE_CHUNK_SIZE,
        **kwargs,
    ):
        """Generates output sequences; see keras-hub's `Seq2SeqLM.generate`.

        With a preprocessor, `inputs` are source strings (or a `tf.data`
        dataset of them) and outputs are strings. Without one, `inputs` is a
        dict of the four token-id tensors of `generate_step` (the decoder
        prompt padded to the maximum output length) and `stop_token_ids` must
        be given.

        A batch longer than `chunk_size` is generated in chunks of
        `chunk_size` examples, so memory depends on `chunk_size`, not on the
        number of inputs: a whole test set can be passed in one call. Inside
        windows of `8 * chunk_size` inputs, examples are sorted by source
        length (the search of a chunk stops when its longest output ends);
        the last chunk is padded with copies of the shortest input so the
        compiled function is reused. Outputs come back in input order and
        equal those of one big batch (for deterministic samplers; random
        samplers draw per chunk). A `tf.data` dataset is generated batch by
        batch, as it is batched.

        `sampler` (a name, config or instance, see `keras_s2s.samplers.get`)
        overrides the compiled sampler for this call only; its generation
        function is built for the call (compile with it to reuse one).
        Samplers with `run_eagerly = True` (`ExactSampler`) run outside
        `tf.function` / `jax.jit`.

        Args:
            inputs: strings (with a preprocessor) or a dict of token ids.
            max_length: maximum output length in tokens, or None.
            stop_token_ids: `"auto"`, None or a sequence of token ids.
            sampler: None (the compiled sampler) or a sampler for this call.
            chunk_size: positive int, examples per compiled call (default
                256), or None for a single batch whatever its size.
            **kwargs: passed to keras-hub's `generate`.

        Returns:
            As keras-hub's `generate`: strings with a preprocessor, else a
            dict of NumPy arrays with a first axis of `batch_size`.

        Raises:
            TypeError, ValueError: wrong inputs, named (non-strings, bytes
                that are not UTF-8, an empty batch, ids outside the
                vocabulary, mismatched shapes, `max_length` or `chunk_size`
                not a positive integer, unknown stop ids).
            MemoryError: one chunk's search state cannot fit in the available
                memory (lower `chunk_size`).

        An empty or whitespace-only source string gives `""` without running
        the model (the rule of `keras_s2s.utils.blank_inputs`, shared with the
        command line, the exported SavedModel and the server); a source
        longer than the preprocessor's `encoder_sequence_length` is truncated
        (its `</s>` kept), with a warning.
        """
        check_positive_int("max_length", max_length, allow_none=True)
        check_positive_int("chunk_size", chunk_size, allow_none=True)
        check_stop_token_ids(stop_token_ids, self.backbone.decoder_vocabulary_size)
        if self.preprocessor is None:
            inputs = _check_token_inputs(inputs, self.backbone)
        else:
            blank = _blank_positions(inputs)
            if blank:
                return self._generate_skipping_blanks(
                    inputs, blank, max_length=max_length,
                    stop_token_ids=stop_token_ids, sampler=sampler,
                    chunk_size=chunk_size, **kwargs
                )
        rows = _GenerateRows.of(inputs, text=self.preprocessor is not None)
        chunks = None
        if rows is not None:
            _check_batch_fits(self, rows, chunk_size, sampler)
            if chunk_size is not None and rows.count > chunk_size:
                chunks = _chunk_indices(rows.lengths, chunk_size)
                shortest = int(np.argmin(rows.lengths))
        eager = getattr(self.sampler, "run_eagerly", False)
        saved = (self.sampler, self.generate_function, self.run_eagerly)
        try:
            if sampler is not None or eager:
                if sampler is not None:
                    self.sampler = samplers.get(sampler)
                self.run_eagerly = saved[2] or getattr(
                    self.sampler, "run_eagerly", False
                )
                self.generate_function = None

            def generate_batch(batch):
                return keras_hub.models.Seq2SeqLM.generate(
                    self,
                    batch,
                    max_length=max_length,
                    stop_token_ids=stop_token_ids,
                    **kwargs,
                )

            if chunks is None:
                return generate_batch(inputs)
            with warnings.catch_warnings(record=True) as records:
                warnings.simplefilter("always")
                outputs = [
                    generate_batch(rows.take(_pad_chunk(indices, chunk_size, shortest)))
                    for indices in chunks
                ]
            _warn_once_per_call(records, rows.count)
            return _merge_in_input_order(outputs, chunks, rows.count)
        finally:
            if sampler is not None or eager:
                self.sampler, self.generate_function, self.run_eagerly = saved


    def _generate_skipping_blanks(self, inputs, blank, **kwargs):
        """`generate` on the non-blank inputs; `""` for the blank ones."""
        texts = [inputs] if isinstance(inputs, (str, bytes)) else list(inputs)
        outputs = [""] * len(texts)
        kept = [i for i in range(len(texts)) if i not in blank]
        if kept:
            generated = self.generate([texts[i] for i in kept], **kwargs)
            for i, text in zip(kept, generated):
                outputs[i] = text
        return outputs[0] if isinstance(inputs, (str, bytes)) else outputs


def _is_dataset(x):
    """A tf.data / grain dataset or a `keras.utils.PyDataset` (not in memory)."""
    if isinstance(x, keras.utils.PyDataset):
        return True
    module = type(x).__module__ or ""
    return module.startswith(("tensorflow", "grain")) and hasattr(x, "__iter__") and not hasattr(
        x, "shape"
    )


def _split_last(arrays, fraction):
    """`(train_arrays, validation_arrays)`: the last `fraction` for validation."""
    if not 0 < fraction < 1:
        raise ValueError(
            f"Expected validation_split in (0, 1). Received: validation_split={fraction!r}"
        )
    size = len(arrays[0])
    cut = int(size * (1.0 - fraction))
    if cut in (0, size):
        raise ValueError(
            f"validation_split={fraction} of {size} examples leaves an empty "
            "training or validation set."
        )
    train = tuple(None if a is None else a[:cut] for a in arrays)
    validation = tuple(None if a is None else a[cut:] for a in arrays)
    return train, (validation if validation[2] is not None else validation[:2])


def _shuffled_batches(x, y, sample_weight, batch_size):
    """A `tf.data.Dataset` of `(x, y, sample_weight)` reshuffled every epoch."""
    import tensorflow as tf

    def to_tensor(value):
        if isinstance(value, dict):
            return {key: to_tensor(v) for key, v in value.items()}
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (str, bytes)):
            return tf.constant(list(value), tf.string)
        return keras.ops.convert_to_numpy(value) if not isinstance(value, np.ndarray) else value

    data = keras.utils.pack_x_y_sample_weight(
        *(to_tensor(v) for v in (x, y, sample_weight) if v is not None)
    )
    size = len(x) if not isinstance(x, dict) else len(next(iter(x.values())))
    dataset = tf.data.Dataset.from_tensor_slices(data)
    dataset = dataset.shuffle(size, reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


def _blank_positions(inputs):
    """Indices of the empty or whitespace-only strings of a batch of text.

    Anything that is not a string or a flat list / tuple of strings (token
    ids, tensors, `tf.data` datasets, nested lists) gives an empty set: the
    normal checks then apply to it.
    """
    if isinstance(inputs, (str, bytes)):
        texts = [inputs]
    elif isinstance(inputs, (list, tuple)) and all(
        isinstance(text, (str, bytes)) for text in inputs
    ):
        texts = inputs
    else:
        return set()
    return {i for i, text in enumerate(texts) if is_blank(text)}


def _accepts_keyword(function, name):
    """True if calling `function` accepts the keyword argument `name`."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.name == name or p.kind == inspect.Parameter.VAR_KEYWORD
        for p in parameters
    )


def _check_vocabulary_sizes(backbone, preprocessor):
    if preprocessor is None:
        return
    pairs = (
        ("encoder", getattr(preprocessor, "encoder_tokenizer", None),
         backbone.encoder_vocabulary_size),
        ("decoder", getattr(preprocessor, "decoder_tokenizer", None),
         backbone.decoder_vocabulary_size),
    )
    for side, tokenizer, expected in pairs:
        if tokenizer is None or not hasattr(tokenizer, "vocabulary_size"):
            continue
        try:
            size = tokenizer.vocabulary_size()
        except Exception:
            # A tokenizer being restored from a saved model has no vocabulary
            # until its assets are loaded; it is checked when it is trained.
            continue
        if size and size != expected:
            raise ValueError(
                f"The preprocessor's {side} vocabulary has {size} tokens but the "
                f"backbone's {side}_vocabulary_size is {expected}. Build the "
                f"backbone with {side}_vocabulary_size={size}, or use the "
                "tokenizer the model was trained with."
            )


def _check_token_inputs(inputs, backbone):
    """Clear errors for token-id inputs to `generate()` without preprocessor."""
    if not isinstance(inputs, dict):
        # tf.data datasets are passed through to keras-hub unchanged.
        if hasattr(inputs, "as_numpy_iterator"):
            return inputs
        raise ValueError(
            "Without a preprocessor, `generate()` expects a dict with keys "
            f"{list(GENERATE_INPUT_KEYS)}. Received: {type(inputs).__name__}"
        )
    missing = [k for k in GENERATE_INPUT_KEYS if k not in inputs]
    if missing:
        raise ValueError(
            f"`generate()` inputs are missing {missing}. Expected keys: "
            f"{list(GENERATE_INPUT_KEYS)}."
        )
    limits = {
        "encoder_token_ids": backbone.encoder_vocabulary_size,
        "decoder_token_ids": backbone.decoder_vocabulary_size,
    }
    # Python lists become arrays; tensors are passed on unchanged.
    inputs = {
        k: np.asarray(v) if isinstance(v, (list, tuple)) else v
        for k, v in inputs.items()
    }
    shapes = {}
    for key in GENERATE_INPUT_KEYS:
        value = np.asarray(ops.convert_to_numpy(inputs[key]))
        shapes[key] = value.shape
        if value.ndim != 2:
            raise ValueError(
                f"Expected `{key}` of rank 2 (batch_size, length). "
                f"Received shape: {value.shape}"
            )
        if key in limits:
            if not np.issubdtype(value.dtype, np.integer):
                raise ValueError(
                    f"Expected integer `{key}`. Received dtype: {value.dtype}"
                )
            if value.size and (value.min() < 0 or value.max() >= limits[key]):
                raise ValueError(
                    f"`{key}` holds ids outside [0, {limits[key]}): "
                    f"min {value.min()}, max {value.max()}. The ids must come from "
                    "the vocabulary the model was built with."
                )
        elif value.dtype != np.bool_ and not np.issubdtype(value.dtype, np.integer):
            raise ValueError(
                f"Expected a boolean `{key}`. Received dtype: {value.dtype}"
            )
    for side in ("encoder", "decoder"):
        ids, mask = shapes[f"{side}_token_ids"], shapes[f"{side}_padding_mask"]
        if ids != mask:
            raise ValueError(
                f"Expected `{side}_padding_mask` to have the shape of "
                f"`{side}_token_ids`. Received shapes {mask} and {ids}."
            )
    if shapes["encoder_token_ids"][0] != shapes["decoder_token_ids"][0]:
        raise ValueError(
            "Expected the same batch size for the encoder and decoder inputs. "
            f"Received shapes {shapes['encoder_token_ids']} (encoder) and "
            f"{shapes['decoder_token_ids']} (decoder)."
        )
    if 0 in shapes["encoder_token_ids"][1:] + shapes["decoder_token_ids"][1:]:
        raise ValueError(
            "Expected at least one source position and one decoder position "
            "(the start token). Received shapes "
            f"{shapes['encoder_token_ids']} and {shapes['decoder_token_ids']}."
        )
    return inputs


# ------------------------------------------------------ chunked generation


class _GenerateRows:
    """A batch of `generate()` inputs that can be cut into chunks by rows.

    Args:
        values: a list (or array) of rows, or a dict of them (same length).
        lengths: int array `(count,)`, the sort key of each row.
    """

    def __init__(self, values, lengths):
        self.values = values
        self.lengths = np.asarray(lengths)
        self.count = len(self.lengths)

    @classmethod
    def of(cls, inputs, text):
        """The rows of `inputs`, or None if they are not a chunkable batch.

        Text: a list, tuple, rank-1 array or eager tensor of strings, or a
        dict of them (`"encoder_text"`, `"decoder_text"`). Token ids: the
        dict of `generate_step` arrays. A single string, a `tf.data`
        dataset or a symbolic tensor is not chunked.
        """
        if text:
            if isinstance(inputs, dict):
                values = {k: _text_rows(v) for k, v in inputs.items()}
                if "encoder_text" not in values or any(
                    v is None for v in values.values()
                ):
                    return None
                source = values["encoder_text"]
            else:
                values = source = _text_rows(inputs)
                if values is None:
                    return None
            if not all(isinstance(x, (str, bytes)) for x in source):
                return None  # Not text: the input checks name what it is.
            lengths = [len(x) for x in source]
        else:
            if not isinstance(inputs, dict):
                return None
            values = {k: np.asarray(ops.convert_to_numpy(v)) for k, v in inputs.items()}
            lengths = values["encoder_padding_mask"].astype(bool).sum(axis=-1)
        sizes = {len(v) for v in values.values()} if isinstance(values, dict) else set()
        if len(sizes) > 1:
            return None
        return cls(values, lengths)

    def take(self, indices):
        """The rows at `indices`, in the type `generate()` was given."""

        def take(values):
            if isinstance(values, list):
                return [values[i] for i in indices]
            return np.take(values, indices, axis=0)

        if isinstance(self.values, dict):
            return {k: take(v) for k, v in self.values.items()}
        return take(self.values)


def _text_rows(values):
    """A list or rank-1 array of strings, or None if `values` is not one."""
    if isinstance(values, (list, tuple)):
        return list(values)
    if isinstance(values, np.ndarray):
        return values if values.ndim == 1 else None
    if hasattr(values, "numpy") and len(getattr(values, "shape", ())) == 1:
        try:
            return values.numpy()  # An eager tensor of strings.
        except Exception:
            return None
    return None


def _chunk_indices(lengths, chunk_size):
    """Row indices of each chunk: length-sorted inside windows of chunks.

    Args:
        lengths: int array `(count,)`.
        chunk_size: rows per chunk.

    Returns:
        A list of int arrays; their concatenation is a permutation of
        `range(count)`.

    Example:
    >>> [c.tolist() for c in _chunk_indices(np.array([5, 1, 3, 2]), 2)]
    [[1, 3], [2, 0]]
    """
    window = chunk_size * SORT_WINDOW_CHUNKS
    order = np.concatenate(
        [
            start + np.argsort(lengths[start : start + window], kind="stable")
            for start in range(0, len(lengths), window)
        ]
    )
    return [order[i : i + chunk_size] for i in range(0, len(order), chunk_size)]


def _pad_chunk(indices, chunk_size, filler):
    """`indices` padded to `chunk_size` with the index `filler` repeated.

    Every chunk then has the same shape, so the compiled generation
    function is traced once; the filler (the shortest input, whose search
    ends soonest and which is never truncated unless all are) has its
    outputs dropped.
    """
    padding = chunk_size - len(indices)
    return np.concatenate([indices, np.full(padding, filler, indices.dtype)])


def _merge_in_input_order(outputs, chunks, count):
    """Joins per-chunk `generate()` outputs, rows back in input order.

    Args:
        outputs: per chunk, a list of rows, an array `(chunk_size, ...)` or a
            dict of them.
        chunks: per chunk, the input indices of its (unpadded) rows.
        count: the number of inputs.
    """
    order = np.concatenate(chunks)
    sizes = [len(indices) for indices in chunks]

    def merge(parts):
        parts = [part[:size] for part, size in zip(parts, sizes)]
        if isinstance(parts[0], list):
            merged = [None] * count
            for position, value in zip(order, (v for part in parts for v in part)):
                merged[position] = value
            return merged
        parts = [np.asarray(ops.convert_to_numpy(part)) for part in parts]
        joined = np.concatenate(parts, axis=0)
        merged = np.empty_like(joined)
        merged[order] = joined
        return merged

    if isinstance(outputs[0], dict):
        return {key: merge([output[key] for output in outputs]) for key in outputs[0]}
    return merge(outputs)


def _check_batch_fits(model, rows, chunk_size, sampler):
    """Raises `MemoryError` if one batch's search state cannot fit in memory."""
    from keras_s2s.utils.memory_estimate import check_generation_fits

    search = samplers.get(sampler) if sampler is not None else model.sampler
    num_beams = getattr(search, "num_beams", None) or 1
    if isinstance(rows.values, dict) and "encoder_token_ids" in rows.values:
        source_length = rows.values["encoder_token_ids"].shape[1]
    else:
        source_length = getattr(model.preprocessor, "encoder_sequence_length", 1)
    batch_size = rows.count if chunk_size is None else min(rows.count, chunk_size)
    check_generation_fits(
        model.backbone,
        batch_size=batch_size * num_beams,
        source_length=source_length or 1,
        argument="chunk_size",
        value=chunk_size,
    )


# "3 of 256 source texts have more tokens than fit (24 tokens; ..."
_COUNTED_WARNING = re.compile(r"^(\d+) of \d+ (.+?) \((\d+) tokens; (.*)$", re.S)


def _warn_once_per_call(records, count):
    """Re-emits the warnings of all chunks once, as for one batch.

    Truncation warnings ("k of n source texts ...") are summed over the
    chunks into one warning about the `count` inputs; other warnings are
    re-emitted once each.
    """
    counted, seen = {}, []
    for record in records:
        message = str(record.message)
        match = _COUNTED_WARNING.match(message)
        if match:
            what, tokens, rest = match.group(2), int(match.group(3)), match.group(4)
            total, longest, _ = counted.get(what, (0, 0, rest))
            counted[what] = (total + int(match.group(1)), max(longest, tokens), rest)
        elif (record.category, message) not in seen:
            seen.append((record.category, message))
    for what, (total, longest, rest) in counted.items():
        seen.append(
            (UserWarning,
             f"{min(total, count)} of {count} {what} ({longest} tokens; {rest}")
        )
    for category, message in seen:
        warnings.warn(message, category, stacklevel=3)
