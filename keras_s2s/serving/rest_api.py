"""The TF Serving REST API for a string-in, string-out model: parsing and replies.

A predict request is a JSON object with either
- `"instances"` (row format): a list with one entry per example, each a
  string, `{"b64": base64}`, or an object `{"inputs": string}`; the reply is
  `{"predictions": [{"outputs": ..., "scores": ...}, ...]}`;
- `"inputs"` (columnar format): a list of strings, or `{"inputs": [...]}`;
  the reply is `{"outputs": {"outputs": [...], "scores": [...]}}`.
An optional `"signature_name"` must be `"serving_default"`. These are TF
Serving's rules (https://www.tensorflow.org/tfx/serving/api_rest), so TF
Serving clients work unchanged.
"""

import base64
import binascii
import json

from keras_s2s.serving.serving_error import ServingError

SIGNATURE_NAME = "serving_default"
INPUT_KEY = "inputs"


def _decode_text(value, where, max_input_chars):
    """One input string as UTF-8 bytes; `where` names it in errors."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        if not isinstance(value["b64"], str):
            raise ServingError(f"{where}: expected a base64 string in 'b64'.")
        try:
            data = base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise ServingError(f"{where}: 'b64' is not valid base64.") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ServingError(f"{where}: 'b64' does not decode to UTF-8 text.") from None
    elif isinstance(value, str):
        text = value
    else:
        raise ServingError(
            f"{where}: expected a string (or {{\"b64\": ...}}). "
            f"Received: {json.dumps(value)[:80]}"
        )
    if len(text) > max_input_chars:
        raise ServingError(
            f"{where}: the input has {len(text)} characters; the server "
            f"accepts at most {max_input_chars} (max_input_chars)."
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ServingError(f"{where}: the input is not valid Unicode text.") from None


def _check_depth(value, max_depth, depth=1):
    """True if the arrays and objects in `value` nest at most `max_depth` deep."""
    if isinstance(value, (list, dict)):
        if depth > max_depth:
            return False
        children = value.values() if isinstance(value, dict) else value
        return all(_check_depth(child, max_depth, depth + 1) for child in children)
    return True


def decode_json(body, max_json_depth=None, max_number_digits=None):
    """A request body as JSON, within bounds of nesting and number size.

    Args:
        body: `bytes`, UTF-8 JSON.
        max_json_depth: int or None, the deepest nesting of arrays and
            objects accepted (`{"instances": ["a"]}` is 2 deep).
        max_number_digits: int or None, the longest number literal accepted.

    Returns:
        The decoded value.

    Raises:
        ServingError: (400) not UTF-8, malformed JSON, nested too deeply,
            a number too long.

    Example:
    >>> decode_json(b'{"instances": ["a dog"]}', max_json_depth=2)
    {'instances': ['a dog']}
    >>> decode_json(b'[[["a"]]]', max_json_depth=2)
    Traceback (most recent call last):
    ...
    keras_s2s.serving.serving_error.ServingError: The request JSON nests arrays and objects more than 2 deep (max_json_depth); a predict request needs 3 at most.
    """

    def check_number(kind):
        def parse(text):
            if max_number_digits is not None and len(text) > max_number_digits:
                raise ServingError(
                    f"The request holds a number of {len(text)} characters; the "
                    f"server accepts at most {max_number_digits} (max_number_digits)."
                )
            return kind(text)

        return parse

    too_deep = ServingError(
        "The request JSON nests arrays and objects more than "
        f"{max_json_depth} deep (max_json_depth); a predict request needs 3 at most."
    )
    try:
        value = json.loads(
            body.decode("utf-8"),
            parse_int=check_number(int),
            parse_float=check_number(float),
        )
    except UnicodeDecodeError:
        raise ServingError("The request body is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise ServingError(f"Malformed JSON in the request body: {error}.") from None
    except RecursionError:  # Deeper than Python's recursion limit.
        if max_json_depth is None:
            raise ServingError("The request JSON is nested too deeply.") from None
        raise too_deep from None
    except ValueError as error:  # An integer past Python's 4,300 digits.
        raise ServingError(f"Malformed number in the request body: {error}.") from None
    if max_json_depth is not None and not _check_depth(value, max_json_depth):
        raise too_deep
    return value


def parse_predict_request(body, max_input_chars, max_batch_items=None,
                          input_key=INPUT_KEY, max_json_depth=None,
                          max_number_digits=None):
    """Parses a predict request body into input strings.

    Args:
        body: the request body, `bytes`.
        max_input_chars: int, the longest accepted input string.
        max_batch_items: int or None, the most inputs in one request.
        input_key: the name of the signature's string input.
        max_json_depth: int or None, see `decode_json`.
        max_number_digits: int or None, see `decode_json`.

    Returns:
        `(texts, row_format)`: a list of UTF-8 `bytes`, and True for the
        `"instances"` format (False for `"inputs"`).

    Raises:
        ServingError: (400) malformed or too deeply nested JSON, wrong field
            names, non-string, too long or too many inputs, another
            signature.

    Example:
    >>> parse_predict_request(b'{"instances": ["a dog", {"inputs": "a cat"}]}', 100)
    ([b'a dog', b'a cat'], True)
    >>> parse_predict_request(b'{"inputs": {"inputs": ["a dog"]}}', 100)
    ([b'a dog'], False)
    """
    request = decode_json(body, max_json_depth, max_number_digits)
    if not isinstance(request, dict):
        raise ServingError(
            "Expected the request body to be a JSON object with an 'instances' "
            "or an 'inputs' key."
        )
    signature = request.get("signature_name", SIGNATURE_NAME)
    if signature != SIGNATURE_NAME:
        raise ServingError(
            f"Unknown signature_name {json.dumps(signature)[:80]}; this model "
            f"has only '{SIGNATURE_NAME}'."
        )
    unknown = sorted(set(request) - {"instances", "inputs", "signature_name"})
    if unknown:
        raise ServingError(
            f"Unknown keys {unknown} in the request. Expected 'instances' (a "
            "list of strings) or 'inputs', and optionally 'signature_name'."
        )
    has_instances, has_inputs = "instances" in request, "inputs" in request
    if has_instances == has_inputs:
        raise ServingError(
            "Missing 'inputs' or 'instances' key" if not has_instances else
            "Expected one of 'instances' or 'inputs', not both."
        )
    if has_instances:
        values = request["instances"]
        if not isinstance(values, list):
            raise ServingError("Expected 'instances' to be a list of strings.")
        texts = []
        for i, value in enumerate(values):
            if isinstance(value, dict) and set(value) != {"b64"}:
                if set(value) != {input_key}:
                    raise ServingError(
                        f"instances[{i}]: expected a string or an object with the "
                        f"single key '{input_key}'. Received keys: {sorted(value)[:10]}"
                    )
                value = value[input_key]
            texts.append(_decode_text(value, f"instances[{i}]", max_input_chars))
    else:
        values = request["inputs"]
        if isinstance(values, dict) and set(values) != {"b64"}:
            if set(values) != {input_key}:
                raise ServingError(
                    "Expected 'inputs' to be a list of strings or an object with "
                    f"the single key '{input_key}'. Received keys: "
                    f"{sorted(values)[:10]}"
                )
            values = values[input_key]
        if not isinstance(values, list):
            raise ServingError(
                "Expected 'inputs' to be a list of strings (a batch); the model "
                "takes a 1-D batch. Wrap a single string in a list."
            )
        texts = [
            _decode_text(value, f"inputs[{i}]", max_input_chars)
            for i, value in enumerate(values)
        ]
    if not texts:
        raise ServingError("The request holds no inputs; send at least one string.")
    if max_batch_items is not None and len(texts) > max_batch_items:
        raise ServingError(
            f"The request holds {len(texts)} inputs; the server accepts at most "
            f"{max_batch_items} per request."
        )
    return texts, has_instances


def format_predict_response(results, row_format):
    """The JSON reply to a predict request.

    Args:
        results: a list of dicts `{"outputs": ..., "scores": ...}`, one per
            input, in order.
        row_format: True for a request with `"instances"`.

    Returns:
        A dict: `{"predictions": results}` or
        `{"outputs": {"outputs": [...], "scores": [...]}}`.

    Example:
    >>> format_predict_response([{"outputs": "x", "scores": -1.0}], False)
    {'outputs': {'outputs': ['x'], 'scores': [-1.0]}}
    """
    if row_format:
        return {"predictions": list(results)}
    keys = list(results[0]) if results else []
    return {"outputs": {key: [result[key] for result in results] for key in keys}}


def status_response(version):
    """`GET /v1/models/<name>`: TF Serving's model status reply."""
    return {
        "model_version_status": [
            {
                "version": str(version),
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


# TensorFlow's DataType names where they differ from "DT_" + dtype name.
_DATATYPE_NAMES = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "float16": "DT_HALF"}


def _tensor_info(spec, name):
    dims = [
        {"size": str(-1 if dim is None else dim), "name": ""}
        for dim in spec.shape.as_list()
    ]
    return {
        "dtype": _DATATYPE_NAMES.get(spec.dtype.name, f"DT_{spec.dtype.name.upper()}"),
        "tensor_shape": {"dim": dims, "unknown_rank": False},
        "name": name,
    }


def metadata_response(model_name, version, input_specs, output_specs, export_info):
    """`GET /v1/models/<name>/metadata`: the signature, as TF Serving shows it.

    Args:
        model_name: the served name.
        version: the served version.
        input_specs: dict of name to `tf.TensorSpec`.
        output_specs: dict of name to `tf.TensorSpec`.
        export_info: the export's `keras_s2s_export.json` (or `{}`), added
            under `"keras_s2s"`.
    """
    signature = {
        "inputs": {k: _tensor_info(v, f"{SIGNATURE_NAME}_{k}:0")
                   for k, v in input_specs.items()},
        "outputs": {k: _tensor_info(v, f"StatefulPartitionedCall:{i}")
                    for i, (k, v) in enumerate(sorted(output_specs.items()))},
        "method_name": "tensorflow/serving/predict",
    }
    return {
        "model_spec": {"name": model_name, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": {"signature_def": {SIGNATURE_NAME: signature}}},
        "keras_s2s": export_info,
    }
