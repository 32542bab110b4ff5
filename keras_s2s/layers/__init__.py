"""Layers: recurrent cells, attention, encoders and decoders."""

from keras_s2s.layers.gru_cell import GRUCell
from keras_s2s.layers.lstm_cell import LSTMCell
from keras_s2s.layers.simple_rnn_cell import SimpleRNNCell

from keras_s2s.layers.attentional_decoder import AttentionalDecoder
from keras_s2s.layers.copy_generator import CopyGenerator
from keras_s2s.layers.coverage_attentional_decoder import CoverageAttentionalDecoder
from keras_s2s.layers.coverage_loss import CoverageLoss
from keras_s2s.layers.encoder_bridge import EncoderBridge
from keras_s2s.layers.rnn_encoder import RNNEncoder

from keras_s2s.layers.bahdanau_attention import BahdanauAttention
from keras_s2s.layers.luong_attention import LuongAttention
from keras_s2s.layers.masked_softmax import masked_softmax
from keras_s2s.layers.multi_head_attention import MultiHeadAttention
