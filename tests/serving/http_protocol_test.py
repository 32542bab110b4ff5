"""GuardedHttpProtocol: one answer per request; slow, big and extra clients bounded."""

import json
import re
import socket
import threading
import time

from tests.serving.serving_fixtures import RunningServer
from tests.test_case import TestCase


def responses(answer):
    """The status codes of the HTTP responses in `answer`, in order."""
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


def json_error(answer):
    return json.loads(answer.partition(b"\r\n\r\n")[2])["error"]


class GuardedHttpProtocolTest(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.running = RunningServer(header_timeout_s=1.0, max_header_bytes=4096,
                                    idle_timeout_s=1.0)

    @classmethod
    def tearDownClass(cls):
        cls.running.close()
        super().tearDownClass()

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.running.port), timeout=10)

    def test_a_get_with_a_body_gets_exactly_one_response(self):
        smuggled = b"GET /v1/models/tiny/metadata HTTP/1.1\r\nHost: x\r\n\r\n"
        answer = self.running.raw(
            b"GET /v1/models/tiny HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: " + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled
            + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        self.assertEqual(responses(answer), [200, 200])
        self.assertIn(b'"model_version_status"', answer)
        self.assertNotIn(b'"signature_def"', answer)  # The body was not a request.
        self.assertIn(b'{"status": "alive"}', answer)

    def test_malformed_http_gets_a_json_400(self):
        for request in (b"GARBAGE\r\n\r\n",
                        b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: -5\r\n\r\n",
                        b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"):
            with self.subTest(request=request):
                answer = self.running.raw(request)
                self.assertEqual(responses(answer), [400])
                self.assertRegex(json_error(answer), "Malformed HTTP request")

    def test_oversized_headers_get_431(self):
        answer = self.running.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
                                  + b"a" * 10_000 + b"\r\n\r\n")
        self.assertEqual(responses(answer), [431])
        self.assertRegex(json_error(answer), "max_header_bytes")

    def test_slow_and_idle_clients_are_disconnected(self):
        silent, slow = self.connect(), self.connect()
        began = time.monotonic()
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")
        for _ in range(15):  # A header line every 0.1 s: never complete in time.
            try:
                slow.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
            time.sleep(0.1)
        for sock in (silent, slow):
            self.assertEqual(sock.recv(100), b"")  # Closed by the server.
            sock.close()
        self.assertLess(time.monotonic() - began, 5)

    def test_many_slow_connections_cost_no_thread_and_delay_no_one(self):
        threads_before = threading.active_count()
        slow = [self.connect() for _ in range(200)]
        for sock in slow:
            sock.sendall(b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n")
        elapsed = []
        for _ in range(3):  # The best of 3: the machine may be busy elsewhere.
            began = time.monotonic()
            status, reply, _ = self.running.request(
                "POST", "/v1/models/tiny:predict", {"instances": ["a dog"]})
            elapsed.append(time.monotonic() - began)
            self.assertEqual(status, 200)
        self.assertLess(min(elapsed), 1.0)
        self.assertLessEqual(threading.active_count(), threads_before + 1)
        for sock in slow:
            sock.close()

    def test_connections_past_the_bound_get_503(self):
        with RunningServer(max_connections=3) as running:
            held = [socket.create_connection(("127.0.0.1", running.port))
                    for _ in range(3)]
            answer = running.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(responses(answer), [503])
            self.assertIn(b"retry-after: 1", answer)
            self.assertRegex(json_error(answer), "max_connections")
            for sock in held:
                sock.close()
            time.sleep(0.2)
            self.assertEqual(running.request("GET", "/healthz")[0], 200)
