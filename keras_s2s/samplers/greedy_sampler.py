import keras
import keras_hub


@keras.saving.register_keras_serializable(package="keras_s2s")
class GreedySampler(keras_hub.samplers.GreedySampler):
    """Greedy search: the most probable token at every step.

    keras-hub's `GreedySampler`, registered under `keras_s2s` so that
    `keras_s2s.samplers.get("greedy")` and saved configs resolve to it. It
    stops once every row has emitted a stop token; forced prompt tokens (where
    `mask` is True) are kept. Equal to `BeamSampler(num_beams=1)`.

    Call arguments:
        next: callable `(prompt, cache, index) -> (logits, hidden, cache)`,
            `logits` `(batch_size, vocabulary_size)`.
        prompt: int `(batch_size, max_length)`.
        cache: any pytree of tensors with a leading batch axis, or None.
        index: int, the first position to write.
        mask: bool `(batch_size, max_length)`, True on forced prompt tokens.
        stop_token_ids: tuple of ints, or None.

    Example:
    >>> backbone = keras_s2s.models.Seq2SeqBackbone(
    ...     encoder_vocabulary_size=12, embedding_dim=8, hidden_dim=16)
    >>> model = keras_s2s.models.Seq2SeqLM(backbone)
    >>> model.compile(sampler=GreedySampler())
    >>> out = model.generate({
    ...     "encoder_token_ids": np.array([[4, 5, 6, 2]]),
    ...     "encoder_padding_mask": np.array([[1, 1, 1, 1]], dtype=bool),
    ...     "decoder_token_ids": np.array([[1, 0, 0, 0]]),
    ...     "decoder_padding_mask": np.array([[1, 0, 0, 0]], dtype=bool)},
    ...     stop_token_ids=[2])
    >>> out["decoder_token_ids"].shape
    (1, 4)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
