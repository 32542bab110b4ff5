"""The ASGI application of the model server (Starlette), run by uvicorn."""

import asyncio
import json
import logging
import time

from keras_s2s.serving.serving_error import ServingError

logger = logging.getLogger("keras_s2s.serving")

# Not a standard status: nginx's "client closed request", for the access log
# and the metrics of a request whose client hung up before its answer.
CLIENT_CLOSED_REQUEST = 499
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


class _ClientGone(Exception):
    """The client disconnected before its answer was ready."""


def json_response(status, payload, headers=None):
    """A Starlette response with a JSON body (NaN and infinities as in Python)."""
    from starlette.responses import Response

    body = json.dumps(payload).encode("utf-8")
    return Response(body, status_code=status, headers=headers,
                    media_type="application/json")


def error_response(error):
    """The JSON reply `{"error": message}` of a `ServingError`."""
    return json_response(error.status, {"error": error.message}, error.headers())


async def read_body(request, limits):
    """The request body, at most `limits.max_request_bytes` in `body_timeout_s`.

    Raises:
        ServingError: (413) too large, (408) too slow, (400) empty.
        _ClientGone: the client disconnected while sending it.
    """
    from starlette.requests import ClientDisconnect

    maximum = limits.max_request_bytes
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > maximum:
        raise ServingError(
            f"The request body has {int(length)} bytes; the server accepts at "
            f"most {maximum} (max_request_bytes).",
            status=413,
        )

    async def receive_all():
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > maximum:
                raise ServingError(
                    f"The request body has more than {maximum} bytes; the server "
                    f"accepts at most {maximum} (max_request_bytes).",
                    status=413,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        body = await asyncio.wait_for(receive_all(), limits.body_timeout_s)
    except asyncio.TimeoutError:
        raise ServingError(
            f"The request body did not arrive within {limits.body_timeout_s:g} s "
            "(body_timeout_s).",
            status=408,
        ) from None
    except ClientDisconnect:
        raise _ClientGone() from None
    if not body:
        raise ServingError(
            "The predict request has no body. Send a JSON object with an "
            "'instances' or 'inputs' key, with a Content-Length header."
        )
    return body


async def _wait_for_disconnect(receive):
    """Returns once the client has disconnected (the body was read before)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class _Predictor:
    """Runs one request's inputs in the batcher; drops them if its client goes."""

    def __init__(self, batcher, metrics, limits):
        self.batcher = batcher
        self.metrics = metrics
        self.limits = limits
        self.in_flight = 0

    def admit(self):
        """Counts a predict request in, or raises 503 past the in-flight bound."""
        if self.in_flight >= self.limits.max_in_flight_requests:
            raise ServingError(
                f"The server is answering {self.in_flight} predict requests, its "
                f"most (max_in_flight_requests); retry later.",
                status=503,
                retry_after=self.limits.retry_after_s,
            )
        self.in_flight += 1
        self.metrics.in_flight.inc()

    def release(self):
        self.in_flight -= 1
        self.metrics.in_flight.dec()

    async def predict(self, request, texts):
        batched = self.batcher.enqueue(texts)
        self.metrics.queued_inputs.set(self.batcher.queued_inputs)
        results = asyncio.wrap_future(batched.future)
        disconnect = asyncio.ensure_future(_wait_for_disconnect(request.receive))
        try:
            await asyncio.wait({results, disconnect},
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            disconnect.cancel()
        if results.done():
            return results.result()
        pending = batched.num_pending
        if batched.cancel():
            self.metrics.cancelled_inputs.inc(pending)
        self.metrics.queued_inputs.set(self.batcher.queued_inputs)
        results.cancel()
        raise _ClientGone()


def build_asgi_app(api, batcher, metrics, limits):
    """The Starlette application serving `api` with a `RequestBatcher`.

    Routes: TF Serving's (see `TFServingAPI`), plus `GET /healthz` (the
    process answers), `GET /readyz` (the model is loaded and the server is
    not draining: 200, else 503) and `GET /metrics` (Prometheus). Every
    error is JSON `{"error": ...}`; a predict request whose client
    disconnects has its inputs not yet run dropped from the batcher.

    Args:
        api: a `TFServingAPI`.
        batcher: a `RequestBatcher` running the model.
        metrics: a `ServingMetrics`.
        limits: a `ServingLimits`.

    Returns:
        A `starlette.applications.Starlette`; set `app.state.draining = True`
        when shutting down (`/readyz` then answers 503).
    """
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import Response
    from starlette.routing import Route

    predictor = _Predictor(batcher, metrics, limits)

    async def tf_serving(request):
        started = time.perf_counter()
        method, path = request.method, request.url.path
        route, admitted, status = "other", False, 500
        try:
            route = api.route(method, path)
            if route == "predict":
                predictor.admit()
                admitted = True
            status, reply = await api.handle(
                method, path,
                lambda: read_body(request, limits),
                lambda texts: predictor.predict(request, texts),
            )
            response = json_response(status, reply)
        except ServingError as error:
            status, response = error.status, error_response(error)
        except _ClientGone:
            status = CLIENT_CLOSED_REQUEST
            response = Response(status_code=status)
        except Exception as error:  # A bug: answer 500 JSON and log it.
            logger.exception("Error answering %s %s", method, path[:200])
            status, response = 500, json_response(
                500, {"error": f"Internal error: {type(error).__name__}: {error}"}
            )
        finally:
            if admitted:
                predictor.release()
        metrics.observe_request(route, status, time.perf_counter() - started)
        return response

    async def healthz(request):
        return json_response(200, {"status": "alive"})

    async def readyz(request):
        if request.app.state.draining:
            return json_response(503, {"error": "The server is shutting down."})
        return json_response(200, {"status": "ready"})

    async def prometheus_metrics(request):
        metrics.queued_inputs.set(batcher.queued_inputs)
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    async def http_error(request, error):
        return json_response(error.status_code, {"error": str(error.detail)})

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", prometheus_metrics, methods=["GET"]),
            Route("/{path:path}", tf_serving, methods=_ALL_METHODS),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.draining = False
    return app
