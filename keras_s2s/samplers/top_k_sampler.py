import keras
import keras_hub

from keras_s2s.samplers import sampler_utils as utils
from keras_s2s.utils.argument_validation import check_int_at_least


@keras.saving.register_keras_serializable(package="keras_s2s")
class TopKSampler(keras_hub.samplers.TopKSampler):
    """Samples among the `k` most probable tokens.

    keras-hub's `TopKSampler` with argument checks, registered under
    `keras_s2s`. Each step keeps the `k` tokens of highest probability,
    renormalizes and samples one; a token outside the top `k` is never
    emitted.

    Args:
        k: int >= 1, at most the vocabulary size.
        seed: int or None. The random seed.
        temperature: float > 0. Logits are divided by it before the softmax.

    Example:
    >>> sampler = TopKSampler(k=3, seed=1)
    >>> sampler.get_config()["k"]
    3
    """

    def __init__(self, k=5, seed=None, temperature=1.0, **kwargs):
        check_int_at_least("k", k, 1)
        utils.check_seed(seed)
        utils.check_temperature(temperature)
        super().__init__(k=k, seed=seed, temperature=temperature, **kwargs)
