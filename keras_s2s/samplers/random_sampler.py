import keras
import keras_hub

from keras_s2s.samplers import sampler_utils as utils


@keras.saving.register_keras_serializable(package="keras_s2s")
class RandomSampler(keras_hub.samplers.RandomSampler):
    """Ancestral sampling from the whole (temperature-scaled) distribution.

    keras-hub's `RandomSampler` with argument checks, registered under
    `keras_s2s`. The same `seed` gives the same outputs for the same model
    and inputs (the seed state advances with every call, so a fresh sampler
    with the same seed repeats the first call's output).

    Args:
        seed: int or None. The random seed.
        temperature: float > 0. Logits are divided by it before the softmax.

    Example:
    >>> sampler = RandomSampler(seed=7, temperature=0.7)
    >>> sampler.get_config()["seed"]
    7
    """

    def __init__(self, seed=None, temperature=1.0, **kwargs):
        utils.check_seed(seed)
        utils.check_temperature(temperature)
        super().__init__(seed=seed, temperature=temperature, **kwargs)
