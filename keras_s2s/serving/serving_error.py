"""The error a request handler turns into an HTTP status and a JSON body."""


class ServingError(Exception):
    """A request that cannot be answered: HTTP `status` and a message.

    The server answers `{"error": message}` with this status, as TF Serving
    does, and keeps serving.

    Args:
        message: what was wrong and what was expected.
        status: the HTTP status code (400 for malformed input, 404 for an
            unknown model or path, 503 when overloaded, ...).

    Example:
    >>> error = ServingError("Missing 'inputs' or 'instances' key", status=400)
    >>> error.status, str(error)
    (400, "Missing 'inputs' or 'instances' key")
    """

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status
