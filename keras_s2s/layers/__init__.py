"""Layers: recurrent cells, attention, encoders and decoders."""

from keras_s2s.layers.gru_cell import GRUCell
from keras_s2s.layers.lstm_cell import LSTMCell
from keras_s2s.layers.simple_rnn_cell import SimpleRNNCell
