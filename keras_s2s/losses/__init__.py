"""Training losses."""

from keras_s2s.losses.sparse_crossentropy import SparseCrossentropy
