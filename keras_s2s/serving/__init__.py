"""Serving an exported SavedModel over HTTP with TF Serving's REST API.

`serve(export_dir, model_name)` runs a server (uvicorn + Starlette, with
fair batching across requests, bounded resources and graceful shutdown) for
a SavedModel written by `keras_s2s.export.export_saved_model`;
`make_server(...)` returns it without starting it (for tests and
embedding). Clients written for TF Serving (`POST
/v1/models/<name>:predict` with `{"instances": [...]}`) work unchanged.
`keras_s2s.serving.ray` deploys the same model and API on Ray Serve.

The serving modules import TensorFlow (in the model worker) and the HTTP
stack only when a server is made; the server needs the `serving` extra
(`pip install 'keras-s2s[serving]'`).
"""

from keras_s2s.serving.model_server import ModelServer
from keras_s2s.serving.model_server import make_server
from keras_s2s.serving.model_server import serve
from keras_s2s.serving.request_batcher import RequestBatcher
from keras_s2s.serving.rest_api import format_predict_response
from keras_s2s.serving.rest_api import parse_predict_request
from keras_s2s.serving.saved_model_runner import SavedModelRunner
from keras_s2s.serving.saved_model_runner import resolve_export_dir
from keras_s2s.serving.serving_error import ServingError
from keras_s2s.serving.serving_limits import ServingLimits
from keras_s2s.serving.tf_serving_api import TFServingAPI
