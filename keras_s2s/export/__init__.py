"""Exporting a `Seq2SeqLM` as a string-in, string-out TensorFlow SavedModel.

`export_saved_model(model, path)` writes a SavedModel whose
`serving_default` signature maps a batch of source strings to generated
strings and scores, with tokenization, search and detokenization in the
graph; it loads with plain TensorFlow and serves with TF Serving or
`keras_s2s.serving`.
"""

from keras_s2s.export.saved_model_export import EXPORT_INFO_FILE
from keras_s2s.export.saved_model_export import export_saved_model
from keras_s2s.export.saved_model_export import read_export_info
