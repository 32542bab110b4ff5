"""TFServingAPI: TF Serving's routes, methods and replies, without HTTP."""

import asyncio
import json

import pytest

from keras_s2s.serving.serving_error import ServingError
from keras_s2s.serving.serving_limits import ServingLimits
from keras_s2s.serving.tf_serving_api import TFServingAPI
from tests.test_case import TestCase


class FakeModel:
    version = 3
    input_key = "inputs"
    input_specs = {}
    output_specs = {}
    export_info = {"max_length": 8}


def handle(api, method, path, body=None):
    async def read_body():
        return json.dumps(body).encode()

    async def predict(texts):
        return [{"outputs": text.decode().upper(), "scores": -1.0} for text in texts]

    return asyncio.run(api.handle(method, path, read_body, predict))


class TFServingAPITest(TestCase):
    def setUp(self):
        super().setUp()
        self.api = TFServingAPI("tiny", FakeModel(), ServingLimits(max_input_chars=5))

    def test_routes(self):
        cases = [
            ("GET", "/v1/models/tiny", "status"),
            ("HEAD", "/v1/models/tiny/", "status"),
            ("GET", "/v1/models/tiny/versions/3", "status"),
            ("GET", "/v1/models/tiny/metadata", "metadata"),
            ("GET", "/v1/models/tiny/versions/3/metadata", "metadata"),
            ("POST", "/v1/models/tiny:predict", "predict"),
            ("POST", "/v1/models/tiny/versions/3:predict", "predict"),
        ]
        for method, path, kind in cases:
            with self.subTest(method=method, path=path):
                self.assertEqual(self.api.route(method, path), kind)

    def test_predict_row_and_columnar_replies(self):
        self.assertEqual(
            handle(self.api, "POST", "/v1/models/tiny:predict", {"instances": ["ab"]}),
            (200, {"predictions": [{"outputs": "AB", "scores": -1.0}]}),
        )
        self.assertEqual(
            handle(self.api, "POST", "/v1/models/tiny:predict", {"inputs": ["a", "b"]}),
            (200, {"outputs": {"outputs": ["A", "B"], "scores": [-1.0, -1.0]}}),
        )
        status, reply = handle(self.api, "GET", "/v1/models/tiny")
        self.assertEqual(reply["model_version_status"][0]["version"], "3")

    def test_errors(self):
        cases = [
            ("GET", "/v1/models/tiny:predict", None, 405, "use POST"),
            ("DELETE", "/v1/models/tiny", None, 405, "use GET"),
            ("POST", "/v1/models/tiny:regress", None, 400, "not supported"),
            ("POST", "/v1/models/other:predict", None, 404, r"Latest\(other\)"),
            ("GET", "/v1/models/tiny/versions/1", None, 404, "Available version: 3"),
            ("GET", "/v1/models/tiny/labels/stable", None, 404, "Labeled"),
            ("GET", "/metricz", None, 404, "Malformed request"),
            ("POST", "/v1/models/tiny:predict", {"instances": ["abcdef"]}, 400,
             "at most 5"),
        ]
        for method, path, body, status, message in cases:
            with self.subTest(method=method, path=path):
                with pytest.raises(ServingError, match=message) as info:
                    handle(self.api, method, path, body)
                self.assertEqual(info.value.status, status)

    def test_invalid_model_name(self):
        with pytest.raises(ValueError, match="model_name"):
            TFServingAPI("bad/name", FakeModel(), ServingLimits())
