"""keras-s2s: attentional sequence-to-sequence models for Keras 3."""

from keras_s2s import datasets
from keras_s2s import export
from keras_s2s import layers
from keras_s2s import metrics
from keras_s2s import models
from keras_s2s import presets
from keras_s2s import samplers
from keras_s2s import serving
from keras_s2s import tokenizers
from keras_s2s.version import __version__
