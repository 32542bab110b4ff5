"""keras-s2s: attentional sequence-to-sequence models for Keras 3.

Subpackages load on first use (`keras_s2s.models`, `keras_s2s.export`, ...),
so `import keras_s2s` itself imports neither Keras nor a backend, and
TensorFlow is imported only by what needs it (export, serving, `tf.data`
pipelines) when the backend is JAX or PyTorch.
"""

import importlib

from keras_s2s.version import __version__

SUBPACKAGES = (
    "cli",
    "datasets",
    "export",
    "layers",
    "losses",
    "metrics",
    "models",
    "presets",
    "samplers",
    "serving",
    "tokenizers",
    "training",
    "utils",
)


def __getattr__(name):
    # PEP 562: `keras_s2s.models` imports `keras_s2s/models/` when first read.
    if name in SUBPACKAGES:
        module = importlib.import_module(f"keras_s2s.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_s2s' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(SUBPACKAGES))
