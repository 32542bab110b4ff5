"""The pointer-generator switch and the copy mixture (See et al., 2017)."""

import keras
from keras import ops


def copy_log_probabilities(logits, copy_switch, attention_weights, source_ids):
    """Mixes the vocabulary distribution with the attention over source ids.

    ```
    P(w) = p_gen * softmax(logits)[w] + (1 - p_gen) * sum_{s: x_s = w} a_s
    ```

    Copying is onto the source token ids as they are: the source and target
    share one (joint) vocabulary, and a source word that is outside it
    reaches the model as the tokenizer's subword/character pieces (or its
    unknown-token id), which are copied like any other id. No extended
    vocabulary is built.

    The result is `log P`, a normalized log-distribution. Since
    `log_softmax(log P) = log P`, it can stand for logits everywhere:
    `SparseCrossentropy(from_logits=True)` (label smoothing included),
    perplexity and every sampler give the same values as with `P` itself.

    Args:
        logits: `(batch_size, target_len, vocabulary_size)` or
            `(batch_size, vocabulary_size)`, the vocabulary scores.
        copy_switch: `p_gen`, `(batch_size, target_len)` or `(batch_size,)`.
        attention_weights: `(batch_size, target_len, source_len)` or
            `(batch_size, source_len)`, 0 on padding.
        source_ids: int `(batch_size, source_len)`, ids in the vocabulary.

    Returns:
        float32 log-probabilities with the shape of `logits`.
    """
    single_step = len(logits.shape) == 2
    if single_step:
        logits = ops.expand_dims(logits, 1)  # (batch_size, 1, vocab)
        copy_switch = ops.expand_dims(copy_switch, 1)  # (batch_size, 1)
        attention_weights = ops.expand_dims(attention_weights, 1)
    vocabulary_size = logits.shape[-1]
    # generated: (batch_size, target_len, vocab)
    generated = ops.softmax(ops.cast(logits, "float32"), axis=-1)
    # source_one_hot: (batch_size, source_len, vocab)
    source_one_hot = ops.one_hot(
        ops.cast(source_ids, "int32"), vocabulary_size, dtype="float32"
    )
    # copied: (batch_size, target_len, vocab)
    copied = ops.einsum(
        "bts,bsv->btv", ops.cast(attention_weights, "float32"), source_one_hot
    )
    switch = ops.expand_dims(ops.cast(copy_switch, "float32"), -1)
    probabilities = switch * generated + (1.0 - switch) * copied
    log_probabilities = ops.log(ops.maximum(probabilities, 1e-12))
    if single_step:
        log_probabilities = log_probabilities[:, 0]
    return log_probabilities


@keras.saving.register_keras_serializable(package="keras_s2s")
class CopyGenerator(keras.layers.Layer):
    """The pointer-generator switch `p_gen` (See et al., 2017).

    ```
    context_t = sum_s a_ts * memory_s
    p_gen_t   = sigmoid(w . [o_t; context_t; e_t] + b)
    ```

    with `o_t` the decoder output vector, `a_t` its attention weights and
    `e_t` the embedded decoder input. `p_gen` is the probability of
    generating from the vocabulary; `1 - p_gen` that of copying a source
    token through the attention weights (see `copy_log_probabilities`,
    exposed as the static method `mix`). The weights are
    `switch_dense.kernel` `(output_dim + memory_dim + embedding_dim, 1)` and
    its bias.

    Args:
        **kwargs: base layer arguments, such as `name` and `dtype`.

    Call arguments:
        decoder_outputs: `(batch_size, target_len, output_dim)`, or
            `(batch_size, output_dim)` for one step.
        attention_weights: `(batch_size, target_len, source_len)`, or
            `(batch_size, source_len)`.
        memory: `(batch_size, source_len, memory_dim)`.
        decoder_inputs: `(batch_size, target_len, embedding_dim)`, or
            `(batch_size, embedding_dim)`.

    Returns:
        float32 `p_gen`, `(batch_size, target_len)` or `(batch_size,)`.

    Example:
    >>> layer = keras_s2s.layers.CopyGenerator()
    >>> p_gen = layer(np.ones((2, 3, 4)), np.full((2, 3, 5), 0.2),
    ...               np.ones((2, 5, 6)), np.ones((2, 3, 8)))
    >>> tuple(p_gen.shape)
    (2, 3)
    """

    mix = staticmethod(copy_log_probabilities)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.switch_dense = keras.layers.Dense(
            1, dtype=self.dtype_policy, name="switch_dense"
        )

    def build(
        self,
        decoder_outputs_shape,
        attention_weights_shape=None,
        memory_shape=None,
        decoder_inputs_shape=None,
    ):
        if memory_shape is None or decoder_inputs_shape is None:
            raise ValueError(
                "CopyGenerator needs the memory and the decoder inputs to "
                "build: call it as layer(decoder_outputs, attention_weights, "
                "memory, decoder_inputs)."
            )
        features = (
            decoder_outputs_shape[-1] + memory_shape[-1] + decoder_inputs_shape[-1]
        )
        self.switch_dense.build((None, features))
        self.built = True

    def call(self, decoder_outputs, attention_weights, memory, decoder_inputs):
        single_step = len(decoder_outputs.shape) == 2
        if single_step:
            decoder_outputs = ops.expand_dims(decoder_outputs, 1)
            attention_weights = ops.expand_dims(attention_weights, 1)
            decoder_inputs = ops.expand_dims(decoder_inputs, 1)
        # context: (batch_size, target_len, memory_dim)
        context = ops.einsum(
            "bts,bsd->btd",
            ops.cast(attention_weights, self.compute_dtype),
            ops.cast(memory, self.compute_dtype),
        )
        features = ops.concatenate(
            [
                ops.cast(decoder_outputs, self.compute_dtype),
                context,
                ops.cast(decoder_inputs, self.compute_dtype),
            ],
            axis=-1,
        )
        # switch: (batch_size, target_len)
        switch = ops.sigmoid(ops.cast(self.switch_dense(features), "float32"))[..., 0]
        if single_step:
            switch = switch[:, 0]
        return switch

    def compute_output_spec(
        self, decoder_outputs, attention_weights, memory, decoder_inputs
    ):
        return keras.KerasTensor(tuple(decoder_outputs.shape[:-1]), dtype="float32")
