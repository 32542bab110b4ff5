"""An HTTP server for an exported SavedModel with TF Serving's REST API."""

import json
import os
import re
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from keras_s2s.serving import rest_api
from keras_s2s.serving.request_batcher import RequestBatcher
from keras_s2s.serving.serving_error import ServingError
from keras_s2s.utils.argument_validation import check_positive_int

MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
# /v1/models/<name>[/versions/<version> | /labels/<label>][:predict | /metadata]
_PATH_PATTERN = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<suffix>:[a-zA-Z]+|/metadata)?/?$"
)


def resolve_export_dir(export_dir):
    """The SavedModel directory to serve and its version.

    `export_dir` is a SavedModel (holding `saved_model.pb`; its version is
    its name if numeric, else 1) or, as for TF Serving, a base directory of
    numbered versions (`<export_dir>/<version>/saved_model.pb`; the highest
    is served).

    Returns:
        `(path, version)`, version an int.

    Raises:
        ValueError: no SavedModel there.
    """
    export_dir = os.path.abspath(os.path.expanduser(os.fspath(export_dir)))
    if os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
        name = os.path.basename(export_dir)
        return export_dir, int(name) if name.isdigit() else 1
    versions = []
    if os.path.isdir(export_dir):
        versions = [
            int(name) for name in os.listdir(export_dir)
            if name.isdigit()
            and os.path.isfile(os.path.join(export_dir, name, "saved_model.pb"))
        ]
    if not versions:
        raise ValueError(
            f"No SavedModel in '{export_dir}': expected a saved_model.pb there, "
            "or numbered version directories (<dir>/1/saved_model.pb). Write one "
            "with keras_s2s.export.export_saved_model."
        )
    version = max(versions)
    return os.path.join(export_dir, str(version)), version


def _to_json_value(value):
    """A NumPy value of one example as JSON (strings decoded from UTF-8)."""
    if hasattr(value, "ndim") and value.ndim > 0:
        return [_to_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "item"):
        return value.item()
    return value


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "keras-s2s-serving"
    # Seconds a connection may stay idle or slow before it is dropped.
    timeout = 60
    # Headers and body are two writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every keep-alive reply.
    disable_nagle_algorithm = True

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ServingError(
                "Chunked request bodies are not supported; send a Content-Length."
            )
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise ServingError("A POST request needs a valid Content-Length header.")
        length = int(length)
        if length > self.server.max_request_bytes:
            # The body is not read: close the connection after answering.
            self.close_connection = True
            raise ServingError(
                f"The request body has {length} bytes; the server accepts at most "
                f"{self.server.max_request_bytes} (max_request_bytes)."
            )
        return self.rfile.read(length)

    def _handle(self, method):
        try:
            body = self._read_body() if method == "POST" else None
            status, reply = self.server.handle_request_path(method, self.path, body)
        except ServingError as error:
            status, reply = error.status, {"error": error.message}
        except Exception as error:  # Never leave a client without an answer.
            status = 500
            reply = {"error": f"Internal error: {type(error).__name__}: {error}"}
        data = json.dumps(reply).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


class ModelServer(ThreadingHTTPServer):
    """Serves an exported string-in, string-out SavedModel over HTTP.

    Implements TF Serving's REST API for one model, so TF Serving clients
    work unchanged:

    - `POST /v1/models/<name>:predict` (also `/versions/<version>:predict`):
      `{"instances": [...]}` -> `{"predictions": [...]}`, or
      `{"inputs": [...]}` -> `{"outputs": {...}}`; see
      `keras_s2s.serving.rest_api`.
    - `GET /v1/models/<name>`: the version status (`"AVAILABLE"`).
    - `GET /v1/models/<name>/metadata`: the signature and the export info.

    Malformed JSON, wrong field names, non-string, empty or oversized inputs
    are answered with HTTP 400 and `{"error": ...}`; an unknown model or
    path with 404. Inputs of concurrent requests are batched (see
    `RequestBatcher`) into one call of the model's `serving_default`
    signature. One thread per connection (`ThreadingHTTPServer`); run it
    with `serve_forever()` and stop it with `shutdown()` then
    `server_close()`.

    The SavedModel is loaded with `tf.saved_model.load` (TensorFlow Text is
    imported first for the tokenizer ops); its `serving_default` must take
    one 1-D `tf.string` input.

    Args:
        export_dir: a SavedModel directory, or a base directory of numbered
            versions (the highest is served).
        model_name: the `<name>` in the URLs.
        host: the address to bind; `"127.0.0.1"` serves this machine only.
        port: the TCP port; 0 picks a free one (see `server_port`).
        max_batch_size: int, the most inputs per model call.
        batch_timeout_ms: float, how long a batch waits for more inputs.
        max_input_chars: int, the longest accepted input string.
        max_request_bytes: int, the largest accepted request body.
        max_queued_inputs: int, inputs waiting at most (beyond: HTTP 503);
            also the most inputs in one request.
        warmup: run one input through the model before serving.
        verbose: log every request to stderr.

    Example:

    ```python
    server = ModelServer("exported/en_de", "en_de", port=8501)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # POST http://127.0.0.1:8501/v1/models/en_de:predict
    #      {"instances": ["a dog runs ."]}
    server.shutdown()
    server.server_close()
    ```
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        export_dir,
        model_name,
        host="127.0.0.1",
        port=8501,
        max_batch_size=32,
        batch_timeout_ms=5.0,
        max_input_chars=2000,
        max_request_bytes=1 << 20,
        max_queued_inputs=4096,
        warmup=True,
        verbose=False,
    ):
        if not isinstance(model_name, str) or not MODEL_NAME_PATTERN.match(model_name):
            raise ValueError(
                "Expected model_name to be a name of letters, digits, '_', '.' "
                f"and '-' (it is part of the URL). Received: model_name={model_name!r}"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise ValueError(
                f"Expected port to be an integer in [0, 65535]. Received: port={port!r}"
            )
        check_positive_int("max_input_chars", max_input_chars)
        check_positive_int("max_request_bytes", max_request_bytes)
        check_positive_int("max_queued_inputs", max_queued_inputs)
        self.export_dir, self.version = resolve_export_dir(export_dir)
        self.model_name = model_name
        self.max_input_chars = max_input_chars
        self.max_request_bytes = max_request_bytes
        self.max_queued_inputs = max_queued_inputs
        self.verbose = verbose
        self._load()
        self.batcher = RequestBatcher(
            self._run_batch,
            max_batch_size=max_batch_size,
            batch_timeout_ms=batch_timeout_ms,
            max_queued_inputs=max_queued_inputs,
        )
        if warmup:
            self._run_batch([b"warmup"])
        try:
            super().__init__((host, port), _RequestHandler)
        except BaseException:
            self.batcher.close()
            raise

    def _load(self):
        import tensorflow as tf

        try:
            import tensorflow_text  # noqa: F401 (registers the tokenizer ops)
        except ImportError:
            pass  # Only SentencePiece / WordPiece tokenizers need it.
        from keras_s2s.export.saved_model_export import read_export_info

        self._tf = tf
        self._loaded = tf.saved_model.load(self.export_dir)
        signatures = self._loaded.signatures
        if rest_api.SIGNATURE_NAME not in signatures:
            raise ValueError(
                f"The SavedModel in '{self.export_dir}' has no "
                f"'{rest_api.SIGNATURE_NAME}' signature (it has "
                f"{sorted(signatures)}). Export it with "
                "keras_s2s.export.export_saved_model."
            )
        self._signature = signatures[rest_api.SIGNATURE_NAME]
        self.input_specs = dict(self._signature.structured_input_signature[1])
        self.output_specs = dict(self._signature.structured_outputs)
        string_inputs = [
            name for name, spec in self.input_specs.items()
            if spec.dtype == tf.string and spec.shape.rank == 1
        ]
        if len(self.input_specs) != 1 or len(string_inputs) != 1:
            raise ValueError(
                f"The '{rest_api.SIGNATURE_NAME}' signature of '{self.export_dir}' "
                "must take a single 1-D tf.string input. It takes: "
                f"{self.input_specs}"
            )
        self.input_key = string_inputs[0]
        self.export_info = read_export_info(self.export_dir)

    def _run_batch(self, texts):
        tf = self._tf
        outputs = self._signature(**{self.input_key: tf.constant(texts, tf.string)})
        arrays = {name: value.numpy() for name, value in outputs.items()}
        return [
            {name: _to_json_value(array[i]) for name, array in sorted(arrays.items())}
            for i in range(len(texts))
        ]

    @property
    def url(self):
        """`http://host:port/v1/models/<name>`."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1/models/{self.model_name}"

    def handle_request_path(self, method, path, body):
        """Answers one request: returns `(status, reply)` or raises ServingError."""
        path = urllib.parse.urlsplit(path).path
        match = _PATH_PATTERN.match(path)
        if match is None:
            raise ServingError(
                f"Malformed request: {method} {path[:200]}. Expected "
                f"/v1/models/{self.model_name}[:predict|/metadata].",
                status=404,
            )
        name, version, label = match["name"], match["version"], match["label"]
        suffix = match["suffix"]
        if name != self.model_name:
            raise ServingError(
                f"Servable not found for request: Latest({name[:200]}). This "
                f"server serves '{self.model_name}'.",
                status=404,
            )
        if label is not None:
            raise ServingError(
                f"Servable not found for request: Labeled({name}, {label[:100]}); "
                "this server has no version labels.",
                status=404,
            )
        if version is not None and version != str(self.version):
            raise ServingError(
                f"Servable not found for request: Specific({name}, {version[:100]}). "
                f"Available version: {self.version}.",
                status=404,
            )
        if suffix is None:
            if method != "GET":
                raise ServingError(
                    f"{method} is not allowed on {path}; use GET.", status=405
                )
            return 200, rest_api.status_response(self.version)
        if suffix == "/metadata":
            if method != "GET":
                raise ServingError(
                    f"{method} is not allowed on {path}; use GET.", status=405
                )
            return 200, rest_api.metadata_response(
                self.model_name, self.version, self.input_specs,
                self.output_specs, self.export_info,
            )
        if suffix in (":classify", ":regress"):
            raise ServingError(
                f"{suffix[1:]} is not supported: the model's "
                f"'{rest_api.SIGNATURE_NAME}' signature is a predict signature. "
                f"Use POST /v1/models/{self.model_name}:predict.",
            )
        if suffix != ":predict":
            raise ServingError(
                f"Malformed request: {method} {path[:200]}. Expected "
                f"/v1/models/{self.model_name}:predict.",
                status=404,
            )
        if method != "POST":
            raise ServingError(f"{method} is not allowed on {path}; use POST.",
                               status=405)
        texts, row_format = rest_api.parse_predict_request(
            body,
            self.max_input_chars,
            max_batch_items=self.max_queued_inputs,
            input_key=self.input_key,
        )
        results = self.batcher.submit(texts)
        return 200, rest_api.format_predict_response(results, row_format)

    def server_close(self):
        """Closes the socket and stops the batching thread."""
        super().server_close()
        self.batcher.close()


def make_server(
    export_dir,
    model_name,
    host="127.0.0.1",
    port=8501,
    max_batch_size=32,
    batch_timeout_ms=5.0,
    max_input_chars=2000,
    **kwargs,
):
    """Loads an exported SavedModel and returns a `ModelServer` (not started).

    Start it with `server.serve_forever()` (e.g. in a thread) and stop it
    with `server.shutdown()` then `server.server_close()`. See `ModelServer`
    for the REST API and the other arguments (`max_request_bytes`,
    `max_queued_inputs`, `warmup`, `verbose`).

    Args:
        export_dir: a SavedModel from `keras_s2s.export.export_saved_model`,
            or a base directory of numbered versions.
        model_name: the `<name>` in `/v1/models/<name>:predict`.
        host: the address to bind (default: this machine only).
        port: the TCP port (8501 is TF Serving's REST port; 0 picks a free
            one).
        max_batch_size: the most inputs per model call.
        batch_timeout_ms: how long a batch waits for more inputs.
        max_input_chars: the longest accepted input string (longer: 400).

    Returns:
        A `ModelServer`; `server.url` is its model URL.
    """
    return ModelServer(
        export_dir,
        model_name,
        host=host,
        port=port,
        max_batch_size=max_batch_size,
        batch_timeout_ms=batch_timeout_ms,
        max_input_chars=max_input_chars,
        **kwargs,
    )


def serve(
    export_dir,
    model_name,
    host="127.0.0.1",
    port=8501,
    max_batch_size=32,
    batch_timeout_ms=5.0,
    max_input_chars=2000,
    **kwargs,
):
    """Serves an exported SavedModel until interrupted (Ctrl-C).

    Same arguments as `make_server`. Prints the model URL once the server
    listens.

    Example:

    ```python
    keras_s2s.serving.serve("exported/en_de", "en_de", port=8501)
    # curl -d '{"instances": ["a dog runs ."]}' \\
    #     http://127.0.0.1:8501/v1/models/en_de:predict
    ```
    """
    server = make_server(
        export_dir,
        model_name,
        host=host,
        port=port,
        max_batch_size=max_batch_size,
        batch_timeout_ms=batch_timeout_ms,
        max_input_chars=max_input_chars,
        **kwargs,
    )
    print(
        f"Serving '{model_name}' (version {server.version}) from "
        f"{server.export_dir} at {server.url}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
