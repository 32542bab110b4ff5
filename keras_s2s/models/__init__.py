"""Models: the encoder-decoder backbone and the generation task model."""

from keras_s2s.models.seq2seq_backbone import Seq2SeqBackbone
from keras_s2s.models.seq2seq_lm import Seq2SeqLM
from keras_s2s.models.seq2seq_lm_preprocessor import Seq2SeqLMPreprocessor
from keras_s2s.models.seq2seq_ensemble_lm import Seq2SeqEnsembleLM
