"""The bounds a model server puts on what one client may ask of it."""

import dataclasses

from keras_s2s.utils.argument_validation import check_float_at_least
from keras_s2s.utils.argument_validation import check_positive_int


@dataclasses.dataclass(frozen=True)
class ServingLimits:
    """What a request, a connection and the whole server may hold at most.

    Every bound has a default that serves ordinary clients and stops
    abusive ones; a request past a bound gets a JSON error (`{"error":
    ...}`), never a 500, and the server keeps serving others.

    Args:
        max_request_bytes: int, the largest request body (beyond: HTTP 413).
        max_inputs_per_request: int, the most inputs in one predict request
            (beyond: 400).
        max_input_chars: int, the longest input string, in characters
            (beyond: 400).
        max_json_depth: int, the deepest nesting of JSON arrays and objects
            in a request (a predict request needs 3; beyond: 400).
        max_number_digits: int, the longest number literal in a request
            (beyond: 400; Python refuses integers of over 4,300 digits).
        max_in_flight_requests: int, predict requests being answered at once
            per process (beyond: 503 with `Retry-After`).
        max_queued_inputs: int, inputs waiting for the model per process
            (beyond: 503 with `Retry-After`).
        max_connections: int, open connections per process; a connection
            past it is answered 503 and closed.
        max_header_bytes: int, the largest request line plus headers
            (beyond: 431, connection closed).
        header_timeout_s: float, seconds a client has to send a request's
            line and headers, from its first byte (from connecting, for the
            first request); a slower one is disconnected.
        body_timeout_s: float, seconds a client has to send a request body
            after its headers (beyond: 408); also how long the unread body of
            an answered request may keep arriving before the connection is
            closed.
        idle_timeout_s: float, seconds a keep-alive connection may stay idle
            between requests.
        drain_timeout_s: float, on SIGTERM or shutdown, seconds in-flight
            requests get to finish before they are cancelled.
        retry_after_s: int, the `Retry-After` header of a 503.

    Example:
    >>> limits = ServingLimits(max_request_bytes=4096, max_input_chars=40)
    >>> limits.max_request_bytes, limits.max_inputs_per_request
    (4096, 4096)
    >>> ServingLimits(max_json_depth=0)
    Traceback (most recent call last):
    ...
    ValueError: Expected max_json_depth to be a positive integer. Received: max_json_depth=0
    """

    max_request_bytes: int = 1 << 20
    max_inputs_per_request: int = 4096
    max_input_chars: int = 2000
    max_json_depth: int = 16
    max_number_digits: int = 100
    max_in_flight_requests: int = 512
    max_queued_inputs: int = 16384
    max_connections: int = 4096
    max_header_bytes: int = 65536
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    idle_timeout_s: float = 15.0
    drain_timeout_s: float = 30.0
    retry_after_s: int = 1

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type is int:
                check_positive_int(field.name, value)
            else:
                check_float_at_least(field.name, value, 0.0)
                if value <= 0:
                    raise ValueError(
                        f"Expected {field.name} to be a number of seconds > 0. "
                        f"Received: {field.name}={value!r}"
                    )

    @classmethod
    def names(cls):
        """The names of the limits, the keyword arguments of the constructor."""
        return tuple(field.name for field in dataclasses.fields(cls))
