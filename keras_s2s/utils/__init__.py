"""Utilities: attention plots and argument checks."""

from keras_s2s.utils.attention_plot import attention_weights
from keras_s2s.utils.attention_plot import plot_attention
from keras_s2s.utils.attention_plot import plot_attention_weights
