"""Utilities: attention plots and argument checks."""

from keras_s2s.utils.lazy_exports import lazy_exports

# Public names, imported on first use: `import keras_s2s.utils` stays cheap.
EXPORTS = {
    "attention_weights": "keras_s2s.utils.attention_plot",
    "plot_attention": "keras_s2s.utils.attention_plot",
    "plot_attention_weights": "keras_s2s.utils.attention_plot",
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
