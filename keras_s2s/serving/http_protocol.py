"""uvicorn's HTTP/1.1 protocol with bounds on slow and oversized clients."""

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def error_bytes(status, reason, message, retry_after=None):
    """A complete `Connection: close` HTTP response with a JSON error body."""
    body = json.dumps({"error": message}).encode("utf-8")
    head = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
    ]
    if retry_after is not None:
        head.append(f"retry-after: {retry_after}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """An `HttpToolsProtocol` that slow or greedy clients cannot hold open.

    On top of uvicorn's protocol (httptools parser, keep-alive timeout):

    - a request's line and headers must arrive within `header_timeout_s` of
      its first byte (of the connection, for the first request), and be at
      most `max_header_bytes`: else the connection is closed (431 when too
      large);
    - once a request is answered, its body may keep arriving (and is
      discarded) for `body_timeout_s` at most: the connection is then
      closed;
    - past `max_connections` open connections, a new one is answered 503
      (with `Retry-After`) and closed;
    - malformed HTTP gets a JSON 400, like every other error.

    The limits are a `ServingLimits` set as `config.keras_s2s_limits` on the
    uvicorn `Config`; pass the class as `Config(http=GuardedHttpProtocol)`.
    """

    def __init__(self, config, server_state, app_state, _loop=None):
        super().__init__(config, server_state, app_state, _loop=_loop)
        self.limits = config.keras_s2s_limits
        self._head_timer = None
        self._head_bytes = 0
        self._linger_timer = None
        self._message_complete = True

    # Connections.
    def connection_made(self, transport):
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.logger.warning("Refused a connection: %d open (max_connections).",
                                len(self.connections) - 1)
            self._reject(503, "Service Unavailable",
                         f"The server holds {self.limits.max_connections} "
                         "connections, its most (max_connections); retry later.",
                         retry_after=self.limits.retry_after_s)
            return
        self._arm_head_timer()

    def connection_lost(self, exc):
        self._cancel_timers()
        super().connection_lost(exc)

    def _reject(self, status, reason, message, retry_after=None):
        self._cancel_timers()
        if not self.transport.is_closing():
            self.transport.write(error_bytes(status, reason, message, retry_after))
            self.transport.close()

    def send_400_response(self, msg):
        self._reject(400, "Bad Request",
                     f"Malformed HTTP request: {msg} Expected HTTP/1.1 with a "
                     "valid request line, headers and Content-Length.")

    # Timers.
    def _cancel_timers(self):
        for timer in (self._head_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._linger_timer = None

    def _arm_head_timer(self):
        if self._head_timer is None:
            self._head_bytes = 0
            self._head_timer = self.loop.call_later(
                self.limits.header_timeout_s, self._close_slow_client
            )

    def _close_slow_client(self):
        self._head_timer = self._linger_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    # Parsing.
    def data_received(self, data):
        awaiting_head = self._head_timer is not None
        super().data_received(data)
        if awaiting_head and self._head_timer is not None:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._reject(431, "Request Header Fields Too Large",
                             "The request line and headers exceed "
                             f"{self.limits.max_header_bytes} bytes "
                             "(max_header_bytes).")

    def on_message_begin(self):
        self._message_complete = False
        self._arm_head_timer()
        super().on_message_begin()

    def on_headers_complete(self):
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self):
        self._message_complete = True
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        super().on_message_complete()

    def on_response_complete(self):
        super().on_response_complete()
        if not self._message_complete and not self.transport.is_closing():
            # Answered before its body arrived (413, 404, ...): the body is
            # read and discarded, for a bounded time.
            self._linger_timer = self.loop.call_later(
                self.limits.body_timeout_s, self._close_slow_client
            )
