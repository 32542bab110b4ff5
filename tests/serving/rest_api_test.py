"""Parsing TF Serving predict requests and formatting replies."""

import base64
import json

import pytest

from keras_s2s.serving.rest_api import decode_json
from keras_s2s.serving.rest_api import format_predict_response
from keras_s2s.serving.rest_api import parse_predict_request
from keras_s2s.serving.rest_api import status_response
from keras_s2s.serving.serving_error import ServingError
from tests.test_case import TestCase


def _parse(request, max_input_chars=20, **kwargs):
    body = request if isinstance(request, bytes) else json.dumps(request).encode()
    return parse_predict_request(body, max_input_chars, **kwargs)


class ParsePredictRequestTest(TestCase):
    def test_row_format(self):
        encoded = base64.b64encode("männer".encode()).decode()
        texts, row_format = _parse(
            {"instances": ["a dog", {"inputs": "zwei"}, {"b64": encoded}, ""]}
        )
        self.assertEqual(texts, [b"a dog", b"zwei", "männer".encode(), b""])
        self.assertTrue(row_format)

    def test_columnar_format(self):
        for request in (
            {"inputs": ["a dog", "ein hund"]},
            {"inputs": {"inputs": ["a dog", "ein hund"]}},
            {"signature_name": "serving_default", "inputs": ["a dog", "ein hund"]},
        ):
            self.assertEqual(_parse(request), ([b"a dog", b"ein hund"], False))

    def test_custom_input_name(self):
        self.assertEqual(
            _parse({"instances": [{"text": "a"}]}, input_key="text"), ([b"a"], True)
        )

    def test_malformed_requests_are_400_with_a_message(self):
        cases = [
            (b"{not json", "Malformed JSON"),
            (b"\xff\xfe", "not UTF-8"),
            (b"[1, 2]", "JSON object"),
            ({}, "Missing 'inputs' or 'instances' key"),
            ({"instance": ["a"]}, r"Unknown keys \['instance'\]"),
            ({"instances": ["a"], "inputs": ["a"]}, "not both"),
            ({"instances": "a dog"}, "'instances' to be a list"),
            ({"inputs": "a dog"}, "Wrap a single string in a list"),
            ({"instances": []}, "no inputs"),
            ({"instances": ["a", 3]}, r"instances\[1\]: expected a string"),
            ({"instances": [None]}, r"instances\[0\]: expected a string"),
            ({"instances": [["a"]]}, r"instances\[0\]: expected a string"),
            ({"instances": [{"text": "a"}]}, r"single key 'inputs'"),
            ({"inputs": {"text": ["a"]}}, r"single key 'inputs'"),
            ({"inputs": [{"b64": "***"}]}, "not valid base64"),
            ({"inputs": [{"b64": base64.b64encode(b"\xff").decode()}]},
             "does not decode to UTF-8"),
            ({"instances": ["x" * 21]}, r"21 characters.*at most 20"),
            ({"instances": ["a"], "signature_name": "classify"},
             "Unknown signature_name"),
            ({"instances": ["\ud800"]}, "not valid Unicode"),
        ]
        for request, message in cases:
            with self.subTest(request=request):
                with pytest.raises(ServingError, match=message) as info:
                    _parse(request)
                self.assertEqual(info.value.status, 400)

    def test_too_many_inputs(self):
        with pytest.raises(ServingError, match="3 inputs; the server accepts at most 2"):
            _parse({"instances": ["a", "b", "c"]}, max_batch_items=2)
        self.assertEqual(_parse({"instances": ["a", "b"]}, max_batch_items=2)[0],
                         [b"a", b"b"])

    def test_length_limit_counts_characters_not_bytes(self):
        self.assertEqual(_parse({"instances": ["ä" * 20]})[0], ["ä".encode() * 20])


class DecodeJsonTest(TestCase):
    def test_nesting_within_the_bound_is_decoded(self):
        request = {"instances": [{"b64": "YQ=="}]}  # 3 deep.
        self.assertEqual(decode_json(json.dumps(request).encode(), 3), request)

    def test_deep_nesting_and_long_numbers_are_400(self):
        cases = [
            (b"[[[[1]]]]", dict(max_json_depth=3), "more than 3 deep"),
            (b'{"a": {"b": {"c": {}}}}', dict(max_json_depth=3), "more than 3 deep"),
            # Past Python's recursion limit: still a 400, never a crash.
            (b"[" * 200_000 + b"]" * 200_000, dict(max_json_depth=16),
             "more than 16 deep"),
            (b"[" * 200_000, dict(), "nested too deeply"),
            (b'{"instances": [' + b"9" * 5000 + b"]}", dict(max_number_digits=100),
             "number of 5000 characters.*at most 100"),
            (b"[1." + b"5" * 200 + b"]", dict(max_number_digits=100),
             "number of 202 characters"),
            # Without a bound, Python's own limit on int digits.
            (b"[" + b"9" * 5000 + b"]", dict(), "Malformed number"),
        ]
        for body, kwargs, message in cases:
            with self.subTest(body=body[:20], kwargs=kwargs):
                with pytest.raises(ServingError, match=message) as info:
                    decode_json(body, **kwargs)
                self.assertEqual(info.value.status, 400)

    def test_predict_request_applies_the_bounds(self):
        with pytest.raises(ServingError, match="more than 2 deep"):
            _parse({"instances": [{"inputs": "a"}]}, max_json_depth=2)
        with pytest.raises(ServingError, match="at most 3"):
            _parse({"instances": ["a"], "signature_name": 12345},
                   max_number_digits=3)


class FormatResponseTest(TestCase):
    def test_row_and_columnar_replies(self):
        results = [
            {"outputs": "ein hund", "scores": -1.5},
            {"outputs": "zwei", "scores": -0.25},
        ]
        self.assertEqual(format_predict_response(results, True),
                         {"predictions": results})
        self.assertEqual(
            format_predict_response(results, False),
            {"outputs": {"outputs": ["ein hund", "zwei"], "scores": [-1.5, -0.25]}},
        )

    def test_status(self):
        self.assertEqual(
            status_response(3),
            {"model_version_status": [{
                "version": "3", "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }]},
        )
