"""Resolving samplers from names, configs and instances."""

import keras
import keras_hub

from keras_s2s.samplers.beam_sampler import BeamSampler
from keras_s2s.samplers.exact_sampler import ExactSampler
from keras_s2s.samplers.greedy_sampler import GreedySampler
from keras_s2s.samplers.random_sampler import RandomSampler
from keras_s2s.samplers.top_k_sampler import TopKSampler
from keras_s2s.samplers.top_p_sampler import TopPSampler

SAMPLERS = {
    "beam": BeamSampler,
    "exact": ExactSampler,
    "greedy": GreedySampler,
    "random": RandomSampler,
    "top_k": TopKSampler,
    "top_p": TopPSampler,
}


def serialize(sampler):
    """The config dict of a sampler (`keras.saving.serialize_keras_object`)."""
    return keras.saving.serialize_keras_object(sampler)


def deserialize(config, custom_objects=None):
    """A sampler from a config dict, or from a name of `SAMPLERS`."""
    module_objects = dict(SAMPLERS)
    module_objects.update({cls.__name__: cls for cls in SAMPLERS.values()})
    return keras.saving.deserialize_keras_object(
        config,
        module_objects=module_objects,
        custom_objects=custom_objects,
        printable_module_name="samplers",
    )


def get(identifier):
    """Resolves a sampler.

    Args:
        identifier: a sampler instance (keras-s2s or keras-hub, returned as
            is), a name (`"greedy"`, `"beam"`, `"top_k"`, `"top_p"`,
            `"random"`, `"exact"`; built with default arguments), or a config
            dict as written by `serialize`.

    Returns:
        A sampler instance.

    Raises:
        ValueError: for an unknown name or an unsupported identifier.

    Example:
    >>> get("beam").num_beams
    5
    >>> get({"class_name": "TopKSampler", "config": {"k": 3}}).k
    3
    """
    if isinstance(identifier, keras_hub.samplers.Sampler):
        return identifier
    if isinstance(identifier, str):
        if identifier not in SAMPLERS:
            raise ValueError(
                f"Unknown sampler {identifier!r}. Expected sampler in "
                f"{{{', '.join(repr(k) for k in sorted(SAMPLERS))}}}, a "
                "sampler instance or a config dict. "
                f"Received: sampler={identifier!r}"
            )
        return SAMPLERS[identifier]()
    if isinstance(identifier, dict):
        sampler = deserialize(identifier)
        if not isinstance(sampler, keras_hub.samplers.Sampler):
            raise ValueError(
                "Expected the sampler config to describe a Sampler. "
                f"Received: sampler={identifier!r}"
            )
        return sampler
    if callable(identifier):
        return identifier
    raise ValueError(
        "Expected sampler to be a name, a config dict or a Sampler instance. "
        f"Received: sampler={identifier!r}"
    )
