"""The error a request handler turns into an HTTP status and a JSON body."""


class ServingError(Exception):
    """A request that cannot be answered: HTTP `status` and a message.

    The server answers `{"error": message}` with this status, as TF Serving
    does, and keeps serving.

    Args:
        message: what was wrong and what was expected.
        status: the HTTP status code (400 for malformed input, 404 for an
            unknown model or path, 413 for a body too large, 503 when
            overloaded, ...).
        retry_after: int or None, seconds after which the client may retry
            (sent as the `Retry-After` header, with a 503).

    Example:
    >>> error = ServingError("Missing 'inputs' or 'instances' key", status=400)
    >>> error.status, str(error)
    (400, "Missing 'inputs' or 'instances' key")
    """

    def __init__(self, message, status=400, retry_after=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def headers(self):
        """The extra response headers: `{"Retry-After": "N"}` or `{}`."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(self.retry_after)}
