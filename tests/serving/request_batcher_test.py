"""RequestBatcher: concurrent requests share model calls; results stay in order."""

import threading
import time

import pytest

from keras_s2s.serving.request_batcher import RequestBatcher
from keras_s2s.serving.serving_error import ServingError
from tests.test_case import TestCase


class RecordingFunction:
    """Upper-cases its inputs and records the batches it was called with."""

    def __init__(self, delay=0.0, fail_on=None):
        self.batches = []
        self.delay = delay
        self.fail_on = fail_on

    def __call__(self, texts):
        self.batches.append(list(texts))
        if self.fail_on is not None and self.fail_on in texts:
            raise RuntimeError("bad input")
        time.sleep(self.delay)
        return [text.upper() for text in texts]


class RequestBatcherTest(TestCase):
    def test_concurrent_requests_are_batched(self):
        function = RecordingFunction(delay=0.05)
        batcher = RequestBatcher(function, max_batch_size=8, batch_timeout_ms=500)
        results = {}
        start = threading.Barrier(6)

        def client(i):
            start.wait()
            results[i] = batcher.submit([f"r{i}a".encode(), f"r{i}b".encode()])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        batcher.close()
        for i in range(6):
            self.assertEqual(results[i], [f"R{i}A".encode(), f"R{i}B".encode()])
        # 12 inputs, at most 8 per call, requests never split: 2 calls when
        # all 6 arrive within the timeout (3 on a very busy machine), not 6.
        sizes = [len(b) for b in function.batches]
        self.assertEqual(sum(sizes), 12)
        self.assertLessEqual(len(sizes), 3)
        self.assertTrue(all(size % 2 == 0 and size <= 8 for size in sizes), sizes)
        self.assertEqual(batcher.num_inputs, 12)
        self.assertEqual(batcher.num_batches, len(sizes))

    def test_large_request_is_split_in_order(self):
        function = RecordingFunction()
        batcher = RequestBatcher(function, max_batch_size=3, batch_timeout_ms=0)
        texts = [bytes([97 + i]) for i in range(8)]
        self.assertEqual(batcher.submit(texts), [t.upper() for t in texts])
        batcher.close()
        self.assertEqual([len(b) for b in function.batches], [3, 3, 2])
        self.assertEqual(sum(function.batches, []), texts)

    def test_timeout_bounds_the_wait_of_a_lone_request(self):
        batcher = RequestBatcher(RecordingFunction(), max_batch_size=64,
                                 batch_timeout_ms=50)
        start = time.perf_counter()
        self.assertEqual(batcher.submit([b"x"]), [b"X"])
        elapsed = time.perf_counter() - start
        batcher.close()
        self.assertGreaterEqual(elapsed, 0.045)
        self.assertLess(elapsed, 5.0)

    def test_a_failing_batch_fails_its_requests_only(self):
        function = RecordingFunction(fail_on=b"boom")
        batcher = RequestBatcher(function, max_batch_size=4, batch_timeout_ms=0)
        with pytest.raises(ServingError, match="RuntimeError: bad input") as info:
            batcher.submit([b"boom"])
        self.assertEqual(info.value.status, 500)
        self.assertEqual(batcher.submit([b"ok"]), [b"OK"])
        batcher.close()

    def test_full_queue_and_closed_batcher_answer_503(self):
        release = threading.Event()

        def slow(texts):
            release.wait(10)
            return texts

        batcher = RequestBatcher(slow, max_batch_size=1, batch_timeout_ms=0,
                                 max_queued_inputs=2)
        first = threading.Thread(target=batcher.submit, args=([b"a"],))
        first.start()
        time.sleep(0.2)  # `a` is running; the queue is empty again.
        second = threading.Thread(target=batcher.submit, args=([b"b", b"c"],))
        second.start()
        time.sleep(0.2)
        with pytest.raises(ServingError, match="overloaded") as info:
            batcher.submit([b"d"])
        self.assertEqual(info.value.status, 503)
        release.set()
        first.join()
        second.join()
        batcher.close()
        with pytest.raises(ServingError, match="shutting down"):
            batcher.submit([b"e"])

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="max_batch_size"):
            RequestBatcher(str.upper, max_batch_size=0)
        with pytest.raises(ValueError, match="batch_timeout_ms"):
            RequestBatcher(str.upper, batch_timeout_ms=-1)
