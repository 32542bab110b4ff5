"""The Ray Serve deployment, on a local Ray instance: same API, same outputs."""

import http.client
import json

import pytest

from tests.serving.serving_fixtures import SOURCES
from tests.serving.serving_fixtures import RunningServer
from tests.serving.serving_fixtures import free_port
from tests.serving.serving_fixtures import tensorflow_backend_only
from tests.serving.serving_fixtures import tiny_export
from tests.test_case import TestCase


def request(port, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request(method, path, body=None if body is None else json.dumps(body))
    response = connection.getresponse()
    reply = json.loads(response.read())
    connection.close()
    return response.status, reply


class RayServeTest(TestCase):
    @pytest.mark.slow
    @tensorflow_backend_only
    def test_ray_serve_answers_as_the_single_process_server(self):
        ray = pytest.importorskip("ray")
        serve = pytest.importorskip("ray.serve")
        from keras_s2s.serving.ray import build_app

        _, export_dir = tiny_export()
        predict = {"instances": SOURCES}
        with RunningServer(max_batch_size=4) as single:
            expected = single.request("POST", "/v1/models/tiny:predict", predict)[:2]
            bad = single.request("POST", "/v1/models/tiny:predict",
                                 {"instances": ["x" * 2001]})[:2]
            status = single.request("GET", "/v1/models/tiny")[:2]
        self.assertEqual(expected[0], 200)

        port = free_port()
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
                 object_store_memory=100 * 1024 * 1024, log_to_driver=False)
        try:
            serve.start(http_options={"host": "127.0.0.1", "port": port})
            serve.run(build_app(export_dir, "tiny", num_replicas=1, max_batch_size=4),
                      route_prefix="/")
            status_code, reply = request(port, "POST", "/v1/models/tiny:predict",
                                         predict)
            self.assertEqual(status_code, 200)
            predictions = reply["predictions"]
            self.assertEqual([p["outputs"] for p in predictions],
                             [p["outputs"] for p in expected[1]["predictions"]])
            # Scores equal up to float32 rounding of another batch composition.
            self.assertAllClose([p["scores"] for p in predictions],
                                [p["scores"] for p in expected[1]["predictions"]],
                                atol=1e-5, rtol=1e-6)
            self.assertEqual(request(port, "POST", "/v1/models/tiny:predict",
                                     {"instances": ["x" * 2001]}), bad)
            self.assertEqual(request(port, "GET", "/v1/models/tiny"), status)
            self.assertEqual(request(port, "POST", "/v1/models/other:predict",
                                     predict)[0], 404)
        finally:
            serve.shutdown()
            ray.shutdown()
