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
    >>> sampler = keras_s2s.samplers.get("greedy")
    >>> isinstance(sampler, GreedySampler)
    True
    >>> keras_s2s.samplers.deserialize(keras_s2s.samplers.serialize(sampler))
    ... # doctest: +ELLIPSIS
    <keras_s2s.samplers.greedy_sampler.GreedySampler object at ...>
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
