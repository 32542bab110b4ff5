"""uvicorn's HTTP/1.1 protocol with bounds on slow and oversized clients."""

import json
import time

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

    # Seconds a refused client gets to read its error before the close.
    linger_after_error_s = 1.0
    # At most one "refused" warning per this many seconds (for all connections).
    refused_log_interval_s = 10.0
    _last_refused_log = float("-inf")
    _refused_since_log = 0

    def __init__(self, config, server_state, app_state, _loop=None):
        super().__init__(config, server_state, app_state, _loop=_loop)
        self.limits = config.keras_s2s_limits
        self._rejected = False
        self._head_size = 0  # Bytes of the URL and headers parsed so far.
        self._head_timer = None
        self._head_bytes = 0
        self._linger_timer = None
        self._message_complete = True

    # Connections.
    def connection_made(self, transport):
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._log_refused()
            self._reject(503, "Service Unavailable",
                         f"The server holds {self.limits.max_connections} "
                         "connections, its most (max_connections); retry later.",
                         retry_after=self.limits.retry_after_s)
            return
        self._arm_head_timer()

    def connection_lost(self, exc):
        self._cancel_timers()
        super().connection_lost(exc)

    def _log_refused(self):
        cls = GuardedHttpProtocol
        cls._refused_since_log += 1
        now = time.monotonic()
        if now - cls._last_refused_log >= self.refused_log_interval_s:
            self.logger.warning(
                "Refused %d connection(s) past max_connections=%d.",
                cls._refused_since_log, self.limits.max_connections,
            )
            cls._last_refused_log, cls._refused_since_log = now, 0

    def _reject(self, status, reason, message, retry_after=None):
        """Answers an error, then closes once the client has read it.

        Closing at once, with request bytes unread, would send a TCP reset
        that can destroy the answer before the client reads it; so the
        writing side is shut, what arrives is discarded, and the connection
        is closed `linger_after_error_s` later (or when the client closes).
        """
        self._cancel_timers()
        if self._rejected or self.transport.is_closing():
            return
        self._rejected = True
        self.transport.write(error_bytes(status, reason, message, retry_after))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._linger_timer = self.loop.call_later(
                self.linger_after_error_s, self._close_slow_client
            )
        else:
            self.transport.close()

    def send_400_response(self, msg):
        self._reject(400, "Bad Request",
                     f"Malformed HTTP request: {msg} Expected HTTP/1.1 with a "
                     "valid request line, headers and Content-Length.")

    # Timers.
    def eof_received(self):
        if self._rejected:
            self.transport.close()
        return super().eof_received()

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
        if self._rejected:
            return  # Discarded until the close.
        awaiting_head = self._head_timer is not None
        super().data_received(data)
        if awaiting_head and self._head_timer is not None:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._reject_large_head()

    def _reject_large_head(self):
        self._reject(431, "Request Header Fields Too Large",
                     "The request line and headers exceed "
                     f"{self.limits.max_header_bytes} bytes (max_header_bytes).")

    def on_message_begin(self):
        self._message_complete = False
        self._head_size = 0
        self._arm_head_timer()
        super().on_message_begin()

    def on_url(self, url):
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name, value):
        self._head_size += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self):
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._head_size > self.limits.max_header_bytes:
            self._reject_large_head()
            return
        super().on_headers_complete()

    def on_body(self, body):
        if not self._rejected:
            super().on_body(body)

    def on_message_complete(self):
        if self._rejected:
            return
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
