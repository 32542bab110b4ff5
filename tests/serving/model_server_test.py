"""ModelServer: TF Serving's REST API over real HTTP on 127.0.0.1.

One tiny model is exported (under the current backend) and served once for
the whole class; every test talks to it with `http.client`.
"""

import base64
import http.client
import os
import shutil
import threading
import time

import keras
import pytest

from keras_s2s.serving import make_server
from keras_s2s.serving import resolve_export_dir
from tests.serving.serving_fixtures import MAX_LENGTH
from tests.serving.serving_fixtures import SOURCES
from tests.serving.serving_fixtures import RunningServer
from tests.serving.serving_fixtures import saved_model_outputs
from tests.serving.serving_fixtures import tiny_export
from tests.test_case import TestCase


class ModelServerTest(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model, cls.export_dir = tiny_export()
        cls.running = RunningServer(
            max_batch_size=8, batch_timeout_ms=50, max_input_chars=40,
            max_request_bytes=4096,
        )
        cls.server = cls.running.server
        cls.expected = saved_model_outputs()

    @classmethod
    def tearDownClass(cls):
        cls.running.close()
        super().tearDownClass()

    def request(self, method, path, body=None, connection=None, headers=None):
        status, reply, response = self.running.request(
            method, path, body, connection, headers
        )
        self.assertEqual(response.getheader("Content-Type"), "application/json")
        return status, reply

    def assertPredictions(self, predictions, expected):
        """Equal strings; scores equal up to float32 rounding of the batch."""
        self.assertEqual([p["outputs"] for p in predictions],
                         [e["outputs"] for e in expected])
        self.assertEqual([sorted(p) for p in predictions],
                         [["outputs", "scores"]] * len(expected))
        self.assertAllClose([p["scores"] for p in predictions],
                            [e["scores"] for e in expected], atol=1e-5, rtol=1e-6)

    def test_predict_row_format_equals_the_saved_model_and_generate(self):
        status, reply = self.request(
            "POST", "/v1/models/tiny:predict", {"instances": SOURCES}
        )
        self.assertEqual((status, list(reply)), (200, ["predictions"]))
        self.assertPredictions(reply["predictions"], self.expected)
        self.assertEqual(
            [p["outputs"] for p in reply["predictions"]],
            self.model.generate(SOURCES, max_length=MAX_LENGTH),
        )

    def test_predict_columnar_format_and_input_encodings(self):
        status, reply = self.request(
            "POST", "/v1/models/tiny/versions/1:predict",
            {"signature_name": "serving_default", "inputs": {"inputs": SOURCES}},
        )
        self.assertEqual((status, list(reply)), (200, ["outputs"]))
        self.assertEqual(sorted(reply["outputs"]), ["outputs", "scores"])
        columns = reply["outputs"]
        self.assertPredictions(
            [{"outputs": o, "scores": s}
             for o, s in zip(columns["outputs"], columns["scores"])],
            self.expected,
        )
        instances = [
            {"inputs": SOURCES[0]},
            {"b64": base64.b64encode(SOURCES[1].encode()).decode()},
        ]
        status, reply = self.request(
            "POST", "/v1/models/tiny:predict", {"instances": instances}
        )
        self.assertEqual(status, 200)
        self.assertPredictions(reply["predictions"], self.expected[:2])

    def test_status_and_metadata(self):
        expected = {"model_version_status": [{
            "version": "1", "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""},
        }]}
        self.assertEqual(self.request("GET", "/v1/models/tiny"), (200, expected))
        self.assertEqual(self.request("GET", "/v1/models/tiny/versions/1"),
                         (200, expected))
        status, metadata = self.request("GET", "/v1/models/tiny/metadata")
        self.assertEqual(status, 200)
        self.assertEqual(metadata["model_spec"],
                         {"name": "tiny", "signature_name": "", "version": "1"})
        signature = metadata["metadata"]["signature_def"]["signature_def"][
            "serving_default"]
        self.assertEqual(signature["inputs"]["inputs"]["dtype"], "DT_STRING")
        self.assertEqual(signature["outputs"]["outputs"]["dtype"], "DT_STRING")
        self.assertEqual(signature["outputs"]["scores"]["dtype"], "DT_FLOAT")
        self.assertEqual(metadata["keras_s2s"]["max_length"], MAX_LENGTH)
        self.assertEqual(metadata["keras_s2s"]["exported_from_backend"],
                         keras.config.backend())

    def test_bad_requests_get_json_errors_and_the_server_keeps_serving(self):
        connection = self.running.connection()
        predict = "/v1/models/tiny:predict"
        cases = [
            ("POST", predict, b'{"instances": ["a dog"', 400, "Malformed JSON"),
            ("POST", predict, {"instance": ["a dog"]}, 400, "Unknown keys"),
            ("POST", predict, {"queries": ["a dog"]}, 400, "Unknown keys"),
            ("POST", predict, {"signature_name": "x", "instances": ["a"]}, 400,
             "Unknown signature_name"),
            ("POST", predict, {"instances": [1, 2]}, 400, "expected a string"),
            ("POST", predict, {"inputs": [["a dog"]]}, 400, "expected a string"),
            ("POST", predict, {"instances": []}, 400, "no inputs"),
            ("POST", predict, {"instances": ["x" * 41]}, 400, "at most 40"),
            ("POST", predict, {"inputs": "a dog"}, 400, "list"),
            ("POST", predict, b"[" * 3000, 400, "more than 16 deep"),
            ("POST", predict, b"[" + b"9" * 1000 + b"]", 400, "max_number_digits"),
            ("POST", predict, b"\xff\xfe", 400, "not UTF-8"),
            ("POST", predict, b"", 400, "no body"),
            ("GET", predict, None, 405, "use POST"),
            ("POST", "/v1/models/tiny", {"instances": ["a"]}, 405, "use GET"),
            ("POST", "/v1/models/tiny:classify", {"instances": ["a"]}, 400,
             "not supported"),
            ("POST", "/v1/models/other:predict", {"instances": ["a"]}, 404,
             r"Servable not found for request: Latest\(other\)"),
            ("GET", "/v1/models/other", None, 404, "Servable not found"),
            ("GET", "/v1/models/tiny/versions/2", None, 404, "Specific"),
            ("GET", "/v1/models/tiny/labels/stable", None, 404, "Labeled"),
            ("GET", "/v2/anything", None, 404, "Malformed request"),
            ("PATCH", "/healthz", None, 404, "Malformed request"),
            ("POST", "/v1/models/tiny:explain", {"instances": ["a"]}, 404,
             "Malformed request"),
        ]
        for method, path, body, expected_status, message in cases:
            with self.subTest(method=method, path=path, body=body):
                status, reply = self.request(method, path, body, connection)
                self.assertEqual(status, expected_status)
                self.assertEqual(list(reply), ["error"])
                self.assertRegex(reply["error"], message)
        # Same keep-alive connection, still answering.
        status, reply = self.request(
            "POST", predict, {"instances": SOURCES[:1]}, connection
        )
        self.assertEqual(status, 200)
        self.assertPredictions(reply["predictions"], self.expected[:1])
        connection.close()

    def test_oversized_and_chunked_bodies(self):
        big = {"instances": ["a dog"] * 1000}  # > max_request_bytes = 4096
        connection = self.running.connection()
        status, reply = self.request("POST", "/v1/models/tiny:predict", big, connection)
        self.assertEqual(status, 413)
        self.assertRegex(reply["error"], r"at most 4096 \(max_request_bytes\)")
        # The unread body was discarded: the connection still works.
        status, _ = self.request("GET", "/v1/models/tiny", None, connection)
        self.assertEqual(status, 200)
        connection.close()
        # A chunked body (no Content-Length) is read, within the same bound.
        def chunks(body):
            yield body[:10]
            yield body[10:]

        for body, expected_status in ((b'{"instances": ["a dog runs ."]}', 200),
                                      (b'{"instances": ["' + b"a" * 5000 + b'"]}', 413)):
            connection = self.running.connection()
            connection.request("POST", "/v1/models/tiny:predict", body=chunks(body),
                               encode_chunked=True)
            response = connection.getresponse()
            response.read()
            connection.close()
            self.assertEqual(response.status, expected_status)

    def test_concurrent_requests_are_batched(self):
        before = self.server.batcher.num_batches
        replies = [None] * 12
        barrier = threading.Barrier(12)

        def client(i):
            barrier.wait()
            replies[i] = self.request(
                "POST", "/v1/models/tiny:predict",
                {"instances": [SOURCES[i % len(SOURCES)]]},
            )

        threads = [threading.Thread(target=client, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for i, (status, reply) in enumerate(replies):
            self.assertEqual(status, 200)
            self.assertPredictions(reply["predictions"],
                                   [self.expected[i % len(SOURCES)]])
        batches = self.server.batcher.num_batches - before
        # 12 single-input requests, at most 8 inputs per model call.
        self.assertGreaterEqual(batches, 2)
        self.assertLess(batches, 12)

    def test_version_directories_and_invalid_arguments(self):
        base = os.path.join(self.tmp_dir, "models")
        for version in ("1", "3"):
            shutil.copytree(self.export_dir, os.path.join(base, version))
        os.makedirs(os.path.join(base, "7"))  # No SavedModel: ignored.
        self.assertEqual(resolve_export_dir(base), (os.path.join(base, "3"), 3))
        self.assertEqual(resolve_export_dir(os.path.join(base, "1")),
                         (os.path.join(base, "1"), 1))
        with pytest.raises(ValueError, match="No SavedModel"):
            make_server(os.path.join(base, "7"), "tiny", port=0)
        with pytest.raises(ValueError, match="model_name"):
            make_server(self.export_dir, "bad/name", port=0)
        with pytest.raises(ValueError, match="port"):
            make_server(self.export_dir, "tiny", port=70000)
        with pytest.raises(ValueError, match="max_queued_inputs"):
            make_server(self.export_dir, "tiny", port=0, max_queued_inputs=0)
        with pytest.raises(OSError, match=r"Cannot listen on 127.0.0.1:\d+: .*in use"):
            make_server(self.export_dir, "tiny", port=self.running.port)


class GracefulShutdownTest(TestCase):
    def test_shutdown_lets_in_flight_requests_finish(self):
        running = RunningServer(max_batch_size=2, batch_timeout_ms=0,
                                drain_timeout_s=60)
        replies = []
        started = threading.Event()

        def client():
            started.set()
            replies.append(running.request(
                "POST", "/v1/models/tiny:predict", {"instances": ["a dog"] * 200}
            )[:2])

        thread = threading.Thread(target=client)
        thread.start()
        started.wait()
        while running.server.batcher.num_inputs == 0:
            time.sleep(0.01)
        began = time.monotonic()
        running.close()  # Drains: the big request still gets its answer.
        thread.join(60)
        self.assertLess(time.monotonic() - began, 60)
        [(status, reply)] = replies
        self.assertEqual(status, 200)
        self.assertEqual(len(reply["predictions"]), 200)
        with pytest.raises(OSError):
            http.client.HTTPConnection("127.0.0.1", running.port, timeout=5).connect()
