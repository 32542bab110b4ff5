"""One tiny exported model per test process, and helpers to talk to a server."""

import functools
import http.client
import json
import os
import socket
import tempfile
import threading

import keras
import pytest

from tests.presets.preset_fixtures import make_model

SOURCES = ["a dog runs .", "two men play .", "", "ein hund"]
# For tests of process management and Ray: the server runs TensorFlow alone
# whatever KERAS_BACKEND is, so one backend covers them (each costs 30-90 s
# of subprocesses importing the backend); the other backends' exports are
# served by the in-process tests.
tensorflow_backend_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the server runs TensorFlow whatever the backend; run once, under it",
)
MAX_LENGTH = 8


@functools.cache
def tiny_export():
    """`(model, export_dir)`: a tiny untrained model and its SavedModel."""
    from keras_s2s.export import export_saved_model

    keras.utils.set_random_seed(1337)
    model = make_model()
    directory = tempfile.TemporaryDirectory()  # Removed when the process ends.
    tiny_export.directory = directory
    export_dir = export_saved_model(
        model, os.path.join(directory.name, "tiny"), max_length=MAX_LENGTH
    )
    return model, export_dir


@functools.cache
def saved_model_outputs():
    """What the SavedModel itself answers for `SOURCES`."""
    import tensorflow as tf

    _, export_dir = tiny_export()
    signature = tf.saved_model.load(export_dir).signatures["serving_default"]
    out = signature(inputs=tf.constant(SOURCES))
    return [
        {"outputs": text.decode("utf-8"), "scores": float(score)}
        for text, score in zip(out["outputs"].numpy(), out["scores"].numpy())
    ]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HTTPClient:
    """Requests to a server on 127.0.0.1:`port`."""

    def __init__(self, port):
        self.port = port

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, connection=None, headers=None):
        """`(status, JSON reply, response)` of one request."""
        own = connection is None
        connection = connection or self.connection()
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        if own:
            connection.close()
        return response.status, json.loads(data) if data else None, response

    def raw(self, data, timeout=30):
        """Sends raw bytes on a new connection; returns all it receives."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as raw:
            raw.sendall(data)
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        return answer


class RunningServer(HTTPClient):
    """A `make_server(...)` serving in a thread; a context manager."""

    def __init__(self, **kwargs):
        from keras_s2s.serving import make_server

        _, export_dir = tiny_export()
        kwargs.setdefault("port", 0)
        self.server = make_server(export_dir, "tiny", **kwargs)
        super().__init__(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown(timeout=60)
        self.server.server_close()
        self.thread.join(60)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
