"""The server's application: cancellation, overload, bodies, health, metrics."""

import json
import socket
import time

from tests.serving.serving_fixtures import RunningServer
from tests.test_case import TestCase

PREDICT = "/v1/models/tiny:predict"


def predict_bytes(instances, extra_headers=b""):
    body = json.dumps({"instances": instances}).encode()
    return (b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n" + extra_headers +
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def wait_until(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


class AsgiAppTest(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.running = RunningServer(
            max_batch_size=2, batch_timeout_ms=0, max_in_flight_requests=2,
            max_queued_inputs=3000, body_timeout_s=0.5,
        )
        cls.batcher = cls.running.server.batcher

    @classmethod
    def tearDownClass(cls):
        cls.running.close()
        super().tearDownClass()

    def test_a_client_that_hangs_up_has_its_inputs_dropped(self):
        cancelled = self.batcher.num_cancelled_inputs
        ran = self.batcher.num_inputs
        with socket.create_connection(("127.0.0.1", self.running.port)) as raw:
            raw.sendall(predict_bytes(["a dog runs ."] * 2000))
            wait_until(lambda: self.batcher.num_inputs > ran)
        # The server notices the disconnect and drops what was not run.
        wait_until(lambda: self.batcher.num_cancelled_inputs > cancelled)
        self.assertGreater(self.batcher.num_cancelled_inputs - cancelled, 1000)
        began = time.monotonic()
        status, reply, _ = self.running.request("POST", PREDICT, {"instances": ["x"]})
        self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - began, 3.0)
        self.assertLess(self.batcher.num_inputs - ran, 1000)

    def test_too_many_requests_in_flight_or_inputs_queued_get_503(self):
        clients = [socket.create_connection(("127.0.0.1", self.running.port))
                   for _ in range(2)]
        for client in clients:
            client.sendall(predict_bytes(["a dog"] * 1000))
        wait_until(lambda: self.batcher.queued_inputs > 1000)
        status, reply, response = self.running.request(
            "POST", PREDICT, {"instances": ["x"]})
        self.assertEqual(status, 503)
        self.assertRegex(reply["error"], "max_in_flight_requests")
        self.assertEqual(response.getheader("Retry-After"), "1")
        for client in clients:
            client.close()
        wait_until(lambda: self.batcher.queued_inputs == 0)
        # A request larger than the queue is a 400, not a 503 to retry.
        status, reply, _ = self.running.request(
            "POST", PREDICT, {"instances": ["x"] * 3001})
        self.assertEqual(status, 400)
        self.assertRegex(reply["error"], "3001 inputs.*at most 3000")

    def test_a_two_megabyte_body_gets_413_and_the_server_still_answers(self):
        body = json.dumps({"instances": ["a" * 1000] * 2000}).encode()
        self.assertGreater(len(body), 2_000_000)
        status, reply, response = self.running.request("POST", PREDICT, body)
        self.assertEqual(status, 413)
        self.assertRegex(reply["error"], r"at most 1048576 \(max_request_bytes\)")
        status, _, _ = self.running.request("POST", PREDICT, {"instances": ["a"]})
        self.assertEqual(status, 200)

    def test_a_body_that_does_not_arrive_gets_408(self):
        answer = self.running.raw(
            b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100\r\n\r\n{\"instances\"", timeout=30)
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 408"), head)
        self.assertRegex(json.loads(body)["error"], "body_timeout_s")

    def test_health_readiness_and_metrics(self):
        self.assertEqual(self.running.request("GET", "/healthz")[:2],
                         (200, {"status": "alive"}))
        self.assertEqual(self.running.request("GET", "/readyz")[:2],
                         (200, {"status": "ready"}))
        app = self.running.server.app
        app.state.draining = True
        try:
            self.assertEqual(self.running.request("GET", "/readyz")[0], 503)
        finally:
            app.state.draining = False
        self.running.request("POST", PREDICT, {"instances": ["a", "b", "c"]})
        self.running.request("POST", PREDICT, b"{")
        connection = self.running.connection()
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.getheader("Content-Type").startswith("text/plain"))
        metrics = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                metrics[name] = float(value)
        self.assertGreaterEqual(
            metrics['keras_s2s_requests_total{route="predict",status="200"}'], 1)
        self.assertGreaterEqual(
            metrics['keras_s2s_requests_total{route="predict",status="400"}'], 1)
        self.assertEqual(metrics["keras_s2s_batch_size_bucket{le=\"2.0\"}"],
                         metrics["keras_s2s_batch_size_count"])  # max_batch_size 2.
        self.assertGreaterEqual(metrics["keras_s2s_batch_size_sum"], 3)
        self.assertIn("keras_s2s_request_seconds_bucket", text)
        self.assertIn("keras_s2s_queued_inputs", metrics)
        self.assertIn("keras_s2s_in_flight_requests", metrics)
