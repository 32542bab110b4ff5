"""An HTTP server (uvicorn + Starlette) for an exported SavedModel."""

import logging
import signal
import socket
import sys
import threading
import time

from keras_s2s.serving.request_batcher import RequestBatcher
from keras_s2s.serving.saved_model_runner import SavedModelRunner
from keras_s2s.serving.saved_model_runner import resolve_export_dir
from keras_s2s.serving.serving_limits import ServingLimits
from keras_s2s.serving.tf_serving_api import MODEL_NAME_PATTERN  # noqa: F401
from keras_s2s.serving.tf_serving_api import TFServingAPI
from keras_s2s.serving.tf_serving_api import check_model_name
from keras_s2s.utils.argument_validation import check_positive_int

__all__ = ["ModelServer", "bind_socket", "make_server", "resolve_export_dir", "serve"]

_MISSING_EXTRA = (
    "Serving needs uvicorn, httptools, starlette and prometheus_client: "
    "pip install 'keras-s2s[serving]'"
)
BACKLOG = 2048


def check_port(port):
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ValueError(
            f"Expected port to be an integer in [0, 65535]. Received: port={port!r}"
        )
    return port


def bind_socket(host, port):
    """A listening TCP socket on `host:port` (port 0: a free one).

    Raises:
        OSError: the address is taken or cannot be used; the message says
            which and what to do.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise OSError(
            error.errno,
            f"Cannot listen on {host}:{port}: {error.strerror or error}. Is "
            "another server using that port? Choose another one (port 0 picks "
            "a free one).",
        ) from None
    sock.set_inheritable(True)
    return sock


def _import_uvicorn():
    try:
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn
        from uvicorn.protocols.http import httptools_impl  # noqa: F401
    except ImportError as error:
        raise ImportError(f"{_MISSING_EXTRA} ({error}).") from None
    return uvicorn


def uvicorn_log_config(verbose):
    """uvicorn's logging setup, with or without access logs (None: leave logging alone)."""
    if not verbose:
        return None
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG


class ModelServer:
    """Serves an exported string-in, string-out SavedModel over HTTP.

    The HTTP stack is uvicorn (asyncio, httptools) running a Starlette
    application (`keras_s2s.serving.asgi_app`): a slow or idle connection
    costs no thread. It implements TF Serving's REST API for one model, so
    TF Serving clients work unchanged (see `TFServingAPI`), plus
    `/healthz`, `/readyz` and Prometheus `/metrics`.

    One worker thread runs the model (`RequestBatcher`): the inputs of
    concurrent requests share model calls of up to `max_batch_size` inputs,
    each waiting request getting an equal share of every batch, so a small
    request never waits behind a big one. The inputs of a request whose
    client disconnects are dropped. Every bound (`ServingLimits`) answers a
    JSON error: 400 for malformed JSON, too deep nesting, too long numbers
    or inputs, too many inputs; 413 for a body too large; 503 with
    `Retry-After` when too many requests are in flight or inputs queued;
    slow clients are disconnected. `shutdown()` (or SIGTERM in `serve`)
    lets in-flight requests finish, for `drain_timeout_s` at most.

    The SavedModel is loaded (`SavedModelRunner`) before the server starts;
    its `serving_default` must take one 1-D `tf.string` input.

    Args:
        export_dir: a SavedModel directory, or a base directory of numbered
            versions (the highest is served).
        model_name: the `<name>` in the URLs.
        host: the address to bind; `"127.0.0.1"` serves this machine only.
        port: the TCP port; 0 picks a free one (see `server_address`).
        max_batch_size: int, the most inputs per model call.
        batch_timeout_ms: float, how long the oldest waiting input waits for
            others to fill a batch.
        warmup: run one input through the model before serving.
        verbose: log every request (uvicorn's access log) and configure
            uvicorn's logging; else only warnings reach stderr.
        sock: an already listening socket to serve on instead of binding
            `host:port` (used by the worker processes of `serve`).
        **limits: the bounds of `ServingLimits` (`max_request_bytes`,
            `max_input_chars`, `max_inputs_per_request`, `max_json_depth`,
            `max_queued_inputs`, `max_in_flight_requests`,
            `header_timeout_s`, ...), each with its default.

    Raises:
        ValueError: no SavedModel, a bad argument.
        OSError: the port cannot be bound.
        ImportError: the `serving` extra is not installed.

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

    def __init__(
        self,
        export_dir,
        model_name,
        host="127.0.0.1",
        port=8501,
        max_batch_size=8,
        batch_timeout_ms=5.0,
        warmup=True,
        verbose=False,
        sock=None,
        **limits,
    ):
        uvicorn = _import_uvicorn()
        from keras_s2s.serving.asgi_app import build_asgi_app
        from keras_s2s.serving.http_protocol import GuardedHttpProtocol
        from keras_s2s.serving.serving_metrics import ServingMetrics

        check_model_name(model_name)
        check_port(port)
        check_positive_int("max_batch_size", max_batch_size)
        self.limits = ServingLimits(**limits)
        resolve_export_dir(export_dir)  # A missing model fails before binding.
        self.model_name = model_name
        self.verbose = verbose
        self.socket = sock if sock is not None else bind_socket(host, port)
        self.server_address = self.socket.getsockname()[:2]
        try:
            self.model = SavedModelRunner(export_dir)
            self.export_dir, self.version = self.model.export_dir, self.model.version
            self.metrics = ServingMetrics(max_batch_size)
            self.batcher = RequestBatcher(
                self._run_batch,
                max_batch_size=max_batch_size,
                batch_timeout_ms=batch_timeout_ms,
                max_queued_inputs=self.limits.max_queued_inputs,
                retry_after_s=self.limits.retry_after_s,
            )
        except BaseException:
            self.socket.close()
            raise
        if warmup:
            self.model.run([b"warmup"])
        self.api = TFServingAPI(model_name, self.model, self.limits)
        self.app = build_asgi_app(self.api, self.batcher, self.metrics, self.limits)
        config = uvicorn.Config(
            self.app,
            http=GuardedHttpProtocol,
            lifespan="off",
            log_config=uvicorn_log_config(verbose),
            access_log=verbose,
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=self.limits.idle_timeout_s,
            timeout_graceful_shutdown=self.limits.drain_timeout_s,
            backlog=BACKLOG,
        )
        config.keras_s2s_limits = self.limits
        self._server = _draining_server(config, self.app)
        self._stopped = threading.Event()
        self._serving = False

    def _run_batch(self, texts):
        started = time.perf_counter()
        self.metrics.queued_inputs.set(self.batcher.queued_inputs)
        results = self.model.run(texts)
        self.metrics.observe_batch(len(texts), time.perf_counter() - started)
        return results

    @property
    def url(self):
        """`http://host:port/v1/models/<name>`."""
        host, port = self.server_address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/v1/models/{self.model_name}"

    def serve_forever(self):
        """Serves until `shutdown()` (or SIGINT / SIGTERM in the main thread).

        Then stops accepting connections, lets in-flight requests finish
        (at most `drain_timeout_s`) and returns. Runs once per server.
        """
        self._serving = True
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self, timeout=None):
        """Stops `serve_forever()` (draining in-flight requests) and waits for it."""
        self._server.should_exit = True
        if self._serving:
            self._stopped.wait(timeout)

    def server_close(self):
        """Closes the socket and stops the batching thread."""
        self.socket.close()
        self.batcher.close()


def _draining_server(config, app):
    """A `uvicorn.Server` whose app reports not-ready (`/readyz`) while it drains."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets=None):
            app.state.draining = True
            await super().shutdown(sockets=sockets)

    return DrainingServer(config)


def make_server(
    export_dir,
    model_name,
    host="127.0.0.1",
    port=8501,
    max_batch_size=8,
    batch_timeout_ms=5.0,
    max_input_chars=2000,
    **kwargs,
):
    """Loads an exported SavedModel and returns a `ModelServer` (not started).

    Start it with `server.serve_forever()` (e.g. in a thread) and stop it
    with `server.shutdown()` then `server.server_close()`. See `ModelServer`
    for the REST API and the other arguments (`warmup`, `verbose`, and the
    limits of `ServingLimits`: `max_request_bytes`, `max_queued_inputs`,
    ...).

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


def serving_message(model_name, version, export_dir, url, workers=1):
    processes = f", {workers} worker processes" if workers > 1 else ""
    return (f"Serving '{model_name}' (version {version}) from {export_dir} at "
            f"{url}{processes}")


def serve(
    export_dir,
    model_name,
    host="127.0.0.1",
    port=8501,
    max_batch_size=8,
    batch_timeout_ms=5.0,
    max_input_chars=2000,
    workers=1,
    verbose=True,
    **kwargs,
):
    """Serves an exported SavedModel until interrupted (Ctrl-C or SIGTERM).

    Same arguments as `make_server`, plus `workers`: the number of server
    processes, each with its own copy of the model, sharing the port (for
    machines with more cores than one model call uses). Prints the model URL
    once the server listens; logs requests unless `verbose=False`. On SIGINT
    or SIGTERM, in-flight requests finish (at most `drain_timeout_s`) and
    the function returns.

    Raises:
        ValueError: no SavedModel, a bad argument.
        OSError: the port cannot be bound.

    Example:

    ```python
    keras_s2s.serving.serve("exported/en_de", "en_de", port=8501)
    # curl -d '{"instances": ["a dog runs ."]}' \\
    #     http://127.0.0.1:8501/v1/models/en_de:predict
    ```
    """
    check_positive_int("workers", workers)
    server_kwargs = dict(
        max_batch_size=max_batch_size,
        batch_timeout_ms=batch_timeout_ms,
        max_input_chars=max_input_chars,
        verbose=verbose,
        **kwargs,
    )
    if workers > 1:
        from keras_s2s.serving.worker_pool import serve_workers

        serve_workers(export_dir, model_name, host, port, workers, server_kwargs)
        return
    in_main_thread = threading.current_thread() is threading.main_thread()

    def stop_loading(signum, frame):
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop_loading) if in_main_thread else None
    try:
        server = make_server(export_dir, model_name, host=host, port=port,
                             **server_kwargs)
        print(serving_message(model_name, server.version, server.export_dir,
                              server.url), file=sys.stderr, flush=True)
        if in_main_thread:
            # uvicorn drains on SIGTERM, then raises it again: let that pass.
            signal.signal(signal.SIGTERM, lambda signum, frame: None)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        if in_main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)
    logging.getLogger("keras_s2s.serving").info("Stopped serving '%s'.", model_name)
