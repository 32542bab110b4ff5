"""The exported SavedModel on Ray Serve: replicas on many machines, one REST API.

`build_app(...)` returns a Ray Serve application (one deployment of
`replicas` copies of the model) that answers TF Serving's REST API exactly
as `keras_s2s.serving.serve` does (same routes, same replies, same JSON
errors and input limits); `serve_with_ray(...)` runs it until interrupted
(`keras-s2s serve EXPORT --ray`). Requests are batched across clients by
Ray's `@serve.batch`, each input being one item of Ray's batch queue, and
spread over the replicas by Ray's proxy. Needs the `ray` extra
(`pip install 'keras-s2s[ray]'`).
"""

import asyncio
import signal
import socket
import sys
import threading

from keras_s2s.serving.asgi_app import error_response
from keras_s2s.serving.asgi_app import json_response
from keras_s2s.serving.asgi_app import read_body
from keras_s2s.serving.saved_model_runner import SavedModelRunner
from keras_s2s.serving.saved_model_runner import resolve_export_dir
from keras_s2s.serving.serving_error import ServingError
from keras_s2s.serving.serving_limits import ServingLimits
from keras_s2s.serving.tf_serving_api import TFServingAPI
from keras_s2s.serving.tf_serving_api import check_model_name
from keras_s2s.utils.argument_validation import check_float_at_least
from keras_s2s.utils.argument_validation import check_positive_int

_MISSING_EXTRA = "Ray Serve is not installed: pip install 'keras-s2s[ray]'"


def _import_serve():
    try:
        from ray import serve
    except ImportError as error:
        raise ImportError(f"{_MISSING_EXTRA} ({error}).") from None
    return serve


def _deployment_class():
    """The deployment class (defined here: `@serve.batch` needs Ray)."""
    serve = _import_serve()

    class SavedModelDeployment:
        """One replica: the model, Ray's batch queue and the REST API."""

        def __init__(self, export_dir, model_name, max_batch_size,
                     batch_wait_timeout_s, limits):
            self.model = SavedModelRunner(export_dir)
            self.model.run([b"warmup"])
            self.limits = limits
            self.api = TFServingAPI(model_name, self.model, limits)
            self.run_batch.set_max_batch_size(max_batch_size)
            self.run_batch.set_batch_wait_timeout_s(batch_wait_timeout_s)

        @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
        async def run_batch(self, texts):
            # The model runs in a thread: the replica keeps taking requests.
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, self.model.run, texts)

        async def predict(self, texts):
            return await asyncio.gather(*(self.run_batch(text) for text in texts))

        async def __call__(self, request):
            try:
                status, reply = await self.api.handle(
                    request.method, request.url.path,
                    lambda: read_body(request, self.limits), self.predict,
                )
            except ServingError as error:
                return error_response(error)
            return json_response(status, reply)

    return SavedModelDeployment


def build_app(export_dir, model_name, num_replicas=1, max_batch_size=32,
              batch_wait_timeout_s=0.005, limits=None, num_cpus_per_replica=1.0,
              max_ongoing_requests=None):
    """A Ray Serve application serving an exported SavedModel.

    Args:
        export_dir: a SavedModel from `keras_s2s.export.export_saved_model`,
            or a base directory of numbered versions; every replica's machine
            must see this path.
        model_name: the `<name>` in `/v1/models/<name>:predict`.
        num_replicas: int, copies of the model (Ray places them on the
            cluster's machines).
        max_batch_size: int, the most inputs per model call
            (`@serve.batch`'s `max_batch_size`).
        batch_wait_timeout_s: float, how long a batch waits to fill.
        limits: a `ServingLimits` (input and body limits; default ones if
            None).
        num_cpus_per_replica: float, the CPUs Ray reserves for a replica.
        max_ongoing_requests: int, requests a replica takes at once
            (default: 4 batches' worth, so that batches can fill).

    Returns:
        A Ray Serve `Application`; run it with `ray.serve.run(app,
        route_prefix="/")`.

    Example:

    ```python
    from ray import serve
    serve.run(build_app("exported/en_de/1", "en_de", num_replicas=2),
              route_prefix="/")
    # POST http://127.0.0.1:8000/v1/models/en_de:predict
    ```
    """
    serve = _import_serve()
    check_model_name(model_name)
    export_path, _ = resolve_export_dir(export_dir)
    check_positive_int("num_replicas", num_replicas)
    check_positive_int("max_batch_size", max_batch_size)
    check_float_at_least("batch_wait_timeout_s", batch_wait_timeout_s, 0.0)
    limits = limits or ServingLimits()
    deployment = serve.deployment(
        _deployment_class(),
        name=f"keras_s2s_{model_name}",
        num_replicas=num_replicas,
        ray_actor_options={"num_cpus": num_cpus_per_replica},
        max_ongoing_requests=max_ongoing_requests or 4 * max_batch_size,
    )
    return deployment.bind(export_path, model_name, max_batch_size,
                           batch_wait_timeout_s, limits)


def _free_port(host):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def serve_with_ray(export_dir, model_name, host="127.0.0.1", port=8501,
                   num_replicas=1, max_batch_size=32, batch_wait_timeout_s=0.005,
                   address=None, limits=None, stop_event=None):
    """Runs `build_app(...)` on Ray Serve until SIGINT / SIGTERM (or `stop_event`).

    Starts a local Ray instance, or joins the cluster at `address`
    (`"auto"`, `"ray://host:10001"`, ...), starts Ray Serve's HTTP proxy on
    `host:port` (port 0: a free one), prints the model URL, and shuts Ray
    Serve down at the end (and the local Ray instance it started).

    Args:
        export_dir, model_name, num_replicas, max_batch_size,
        batch_wait_timeout_s, limits: see `build_app`.
        host: the proxy's address.
        port: the proxy's port.
        address: the Ray cluster to join (None: start a local one).
        stop_event: a `threading.Event` that stops serving when set.
    """
    serve = _import_serve()
    import ray

    limits = limits or ServingLimits()
    app = build_app(export_dir, model_name, num_replicas=num_replicas,
                    max_batch_size=max_batch_size,
                    batch_wait_timeout_s=batch_wait_timeout_s, limits=limits)
    port = port or _free_port(host)
    stop_event = stop_event or threading.Event()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main_thread:
        previous = {sig: signal.signal(sig, lambda signum, frame: stop_event.set())
                    for sig in (signal.SIGINT, signal.SIGTERM)}
    started_ray = not ray.is_initialized()
    try:
        if started_ray:
            ray.init(address=address, include_dashboard=False,
                     logging_level="WARNING")
        serve.start(http_options={"host": host, "port": port,
                                  "keep_alive_timeout_s": limits.idle_timeout_s})
        serve.run(app, name=model_name, route_prefix="/")
        print(f"Serving '{model_name}' on Ray Serve ({num_replicas} replicas) at "
              f"http://{host}:{port}/v1/models/{model_name}",
              file=sys.stderr, flush=True)
        while not stop_event.wait(0.5):
            pass
    finally:
        serve.shutdown()
        if started_ray:
            ray.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
