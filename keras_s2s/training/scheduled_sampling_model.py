"""Two-pass scheduled sampling around a `Seq2SeqLM`, for training only."""

import keras
from keras import ops


def scheduled_sampling_probability(
    epoch, max_probability, start_epoch=1, ramp_epochs=1
):
    """The mixing probability used during (1-based) epoch `epoch`.

    0 before `start_epoch`; then rising linearly over `ramp_epochs` epochs to
    `max_probability` (reached at epoch `start_epoch + ramp_epochs - 1`) and
    constant afterwards. `ramp_epochs=0` jumps straight to it.

    Example:
    >>> [scheduled_sampling_probability(e, 0.3, start_epoch=2, ramp_epochs=3)
    ...  for e in range(1, 7)]
    [0.0, 0.1, 0.2, 0.3, 0.3, 0.3]
    """
    if epoch < start_epoch:
        return 0.0
    if ramp_epochs <= 0:
        return float(max_probability)
    fraction = min(1.0, (epoch - start_epoch + 1) / ramp_epochs)
    return round(float(max_probability) * fraction, 10)


class ScheduledSamplingModel(keras.Model):
    """Trains a `Seq2SeqLM` on decoder inputs partly replaced by its own guesses.

    Exactly what one training step computes, for a batch of teacher-forcing
    inputs `decoder_token_ids` `(batch_size, target_len)` (`<s> y_1 ...`):

    1. A first forward pass of the wrapped model, in inference mode (no
       dropout) and with no gradient, gives logits `(batch_size, target_len,
       vocabulary_size)` and their argmax `g_t`: the model's greedy guess of
       the token at position `t + 1` given the true prefix.
    2. Each decoder input position `t >= 1` that is a real token
       (`decoder_padding_mask` True) is replaced, independently with
       probability `p` (`sampling_probability`), by `g_{t-1}`; position 0
       (`<s>`) and the labels are never changed.
    3. A second, ordinary training pass on the mixed inputs gives the logits
       the loss is computed on; gradients flow through this pass only.

    This is the parallel ("two-pass") approximation of scheduled sampling
    (Bengio et al., 2015; Duckworth et al., 2019): a replaced token is the
    model's guess given the *true* prefix, not given its own earlier
    guesses, so the whole target is still processed in one call (any
    decoder, any backend) at the cost of one extra forward pass. `p` is a
    non-trainable variable; the `Trainer` sets it before each epoch with
    `scheduled_sampling_probability`. With `p = 0` the step equals ordinary
    teacher forcing (with twice the forward cost).

    The wrapper shares every weight with `seq2seq_lm`; save, evaluate and
    generate with `seq2seq_lm` itself.

    Args:
        seq2seq_lm: a `keras_s2s.models.Seq2SeqLM`.
        sampling_probability: float in [0, 1], the initial `p`.
        seed: int or None, seeds the replacement draws.

    Example:
    >>> backbone = keras_s2s.models.Seq2SeqBackbone(
    ...     encoder_vocabulary_size=12, embedding_dim=8, hidden_dim=8)
    >>> lm = keras_s2s.models.Seq2SeqLM(backbone)
    >>> model = ScheduledSamplingModel(lm, sampling_probability=0.0)
    >>> x = {"encoder_token_ids": np.array([[4, 5, 3]]),
    ...      "encoder_padding_mask": np.ones((1, 3), bool),
    ...      "decoder_token_ids": np.array([[2, 6, 7]]),
    ...      "decoder_padding_mask": np.ones((1, 3), bool)}
    >>> np.allclose(keras.ops.convert_to_numpy(model(x, training=True)),
    ...             keras.ops.convert_to_numpy(lm(x)))
    True
    """

    def __init__(self, seq2seq_lm, sampling_probability=0.0, seed=None, **kwargs):
        if not hasattr(seq2seq_lm, "backbone"):
            raise ValueError(
                "Expected seq2seq_lm to be a keras_s2s.models.Seq2SeqLM. "
                f"Received: {type(seq2seq_lm).__name__}"
            )
        p = sampling_probability
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(
                "Expected sampling_probability to be a number in [0, 1]. "
                f"Received: sampling_probability={sampling_probability!r}"
            )
        super().__init__(**kwargs)
        self.seq2seq_lm = seq2seq_lm
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.sampling_probability = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(float(p)),
            trainable=False,
            dtype="float32",
            name="sampling_probability",
        )

    def mix_decoder_inputs(self, inputs):
        """Steps 1-2: the decoder inputs with guesses mixed in.

        Args:
            inputs: the model's input dict.

        Returns:
            int32 `(batch_size, target_len)`, `inputs["decoder_token_ids"]`
            with each real position `t >= 1` replaced by the first pass's
            guess `g_{t-1}` with probability `sampling_probability`.
        """
        decoder_token_ids = ops.cast(inputs["decoder_token_ids"], "int32")
        decoder_padding_mask = ops.cast(inputs["decoder_padding_mask"], "bool")
        # first_logits: (batch_size, target_len, vocabulary_size).
        first_logits = ops.stop_gradient(self.seq2seq_lm(inputs, training=False))
        # guesses: (batch_size, target_len), the greedy next token at each
        # position given the true prefix.
        guesses = ops.cast(ops.argmax(first_logits, axis=-1), "int32")
        # shifted: (batch_size, target_len), position t holds guess t - 1.
        shifted = ops.concatenate([decoder_token_ids[:, :1], guesses[:, :-1]], axis=1)
        draws = keras.random.uniform(
            ops.shape(decoder_token_ids), seed=self.seed_generator
        )
        positions = ops.arange(ops.shape(decoder_token_ids)[1])[None, :]
        replace = ops.logical_and(
            ops.less(draws, self.sampling_probability),
            ops.logical_and(ops.greater(positions, 0), decoder_padding_mask),
        )
        return ops.where(replace, shifted, decoder_token_ids)

    def call(self, inputs, training=False):
        if not training:
            return self.seq2seq_lm(inputs, training=False)
        mixed = dict(inputs)
        mixed["decoder_token_ids"] = self.mix_decoder_inputs(inputs)
        return self.seq2seq_lm(mixed, training=True)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "seq2seq_lm": keras.saving.serialize_keras_object(self.seq2seq_lm),
                "sampling_probability": float(
                    ops.convert_to_numpy(self.sampling_probability)
                ),
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["seq2seq_lm"] = keras.saving.deserialize_keras_object(
            config["seq2seq_lm"]
        )
        return cls(**config)

