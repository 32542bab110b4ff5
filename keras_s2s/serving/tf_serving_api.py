"""TF Serving's REST API for one model, apart from any HTTP server."""

import re

from keras_s2s.serving import rest_api
from keras_s2s.serving.serving_error import ServingError

MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
# /v1/models/<name>[/versions/<version> | /labels/<label>][:predict | /metadata]
_PATH_PATTERN = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<suffix>:[a-zA-Z]+|/metadata)?/?$"
)


def check_model_name(model_name):
    """Raises `ValueError` unless `model_name` can be the `<name>` of a URL."""
    if not isinstance(model_name, str) or not MODEL_NAME_PATTERN.match(model_name):
        raise ValueError(
            "Expected model_name to be a name of letters, digits, '_', '.' "
            f"and '-' (it is part of the URL). Received: model_name={model_name!r}"
        )
    return model_name


class TFServingAPI:
    """Answers TF Serving's REST requests for one loaded model.

    The routes, as TF Serving has them:

    - `POST /v1/models/<name>:predict` (also `/versions/<version>:predict`):
      `{"instances": [...]}` -> `{"predictions": [...]}`, or
      `{"inputs": [...]}` -> `{"outputs": {...}}`; see
      `keras_s2s.serving.rest_api`.
    - `GET /v1/models/<name>` (also `/versions/<version>`): the version
      status (`"AVAILABLE"`).
    - `GET /v1/models/<name>/metadata`: the signature and the export info.

    The HTTP server (`keras_s2s.serving.asgi_app` or the Ray Serve
    deployment) reads the request and calls `handle`; malformed requests,
    unknown paths and wrong methods raise `ServingError` (400, 404, 405).

    Args:
        model_name: the `<name>` in the URLs.
        model: the served model's description: an object with `version`,
            `input_key`, `input_specs`, `output_specs` and `export_info`
            (a `SavedModelRunner`).
        limits: a `ServingLimits`.

    Example:

    ```python
    api = TFServingAPI("en_de", SavedModelRunner("exported/en_de/1"), ServingLimits())
    status, reply = await api.handle("POST", "/v1/models/en_de:predict",
                                     read_body, predict)
    ```
    """

    def __init__(self, model_name, model, limits):
        self.model_name = check_model_name(model_name)
        self.model = model
        self.limits = limits

    def route(self, method, path):
        """What `method path` asks: `"status"`, `"metadata"` or `"predict"`.

        Raises:
            ServingError: (404) unknown path, model, version or label; (405)
                wrong method; (400) `:classify` or `:regress`.
        """
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
        if version is not None and version != str(self.model.version):
            raise ServingError(
                f"Servable not found for request: Specific({name}, {version[:100]}). "
                f"Available version: {self.model.version}.",
                status=404,
            )
        if suffix in (None, "/metadata"):
            if method not in ("GET", "HEAD"):
                raise ServingError(
                    f"{method} is not allowed on {path}; use GET.", status=405
                )
            return "status" if suffix is None else "metadata"
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
        return "predict"

    def parse_predict(self, body):
        """A predict body as `(texts, row_format)`, within the limits."""
        limits = self.limits
        return rest_api.parse_predict_request(
            body,
            limits.max_input_chars,
            # A request larger than the queue could never run.
            max_batch_items=min(limits.max_inputs_per_request,
                                limits.max_queued_inputs),
            input_key=self.model.input_key,
            max_json_depth=limits.max_json_depth,
            max_number_digits=limits.max_number_digits,
        )

    async def handle(self, method, path, read_body, predict):
        """Answers one request.

        Args:
            method: the HTTP method.
            path: the URL path (without the query).
            read_body: async callable returning the body as `bytes` (called
                for predict requests only; may raise `ServingError`).
            predict: async callable, a list of input `bytes` -> a list of
                results (one dict per input).

        Returns:
            `(status, reply)`: 200 and the JSON reply.

        Raises:
            ServingError: the request cannot be answered.
        """
        kind = self.route(method, path)
        if kind == "status":
            return 200, rest_api.status_response(self.model.version)
        if kind == "metadata":
            return 200, rest_api.metadata_response(
                self.model_name, self.model.version, self.model.input_specs,
                self.model.output_specs, self.model.export_info,
            )
        texts, row_format = self.parse_predict(await read_body())
        results = await predict(texts)
        return 200, rest_api.format_predict_response(results, row_format)
