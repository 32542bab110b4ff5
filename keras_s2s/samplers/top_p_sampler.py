import math

import keras
import keras_hub

from keras_s2s.samplers import sampler_utils as utils
from keras_s2s.utils.argument_validation import check_int_at_least


@keras.saving.register_keras_serializable(package="keras_s2s")
class TopPSampler(keras_hub.samplers.TopPSampler):
    """Nucleus sampling: samples from the smallest set of tokens with mass > `p`.

    keras-hub's `TopPSampler` with argument checks, registered under
    `keras_s2s`. Tokens are sorted by probability and kept while the
    cumulative probability before them is below `p` (the most probable token
    is always kept); one token is sampled from the renormalized set.
    `p=1` samples from the whole distribution.

    Args:
        p: float in (0, 1].
        k: int >= 1 or None. Optional top-k cut applied first (faster on
            large vocabularies).
        seed: int or None. The random seed.
        temperature: float > 0. Logits are divided by it before the softmax.

    Example:
    >>> sampler = TopPSampler(p=0.9, seed=1)
    >>> sampler.get_config()["p"]
    0.9
    """

    def __init__(self, p=0.1, k=None, seed=None, temperature=1.0, **kwargs):
        if (
            isinstance(p, bool)
            or not isinstance(p, (int, float))
            or not math.isfinite(p)
            or not 0.0 < p <= 1.0
        ):
            raise ValueError(
                f"Expected p (top_p) in (0, 1]. Received: p={p!r}"
            )
        if k is not None:
            check_int_at_least("k", k, 1)
        utils.check_seed(seed)
        utils.check_temperature(temperature)
        super().__init__(p=p, k=k, seed=seed, temperature=temperature, **kwargs)
