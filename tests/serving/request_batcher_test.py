"""RequestBatcher: fair shares of every batch, cancellation, results in order."""

import concurrent.futures
import threading
import time

import pytest

from keras_s2s.serving.request_batcher import RequestBatcher
from keras_s2s.serving.serving_error import ServingError
from tests.test_case import TestCase


class RecordingFunction:
    """Upper-cases its inputs and records the batches it was called with.

    `gate`: the first call waits for it (so that requests pile up behind).
    """

    def __init__(self, delay=0.0, fail_on=None, gate=None):
        self.batches = []
        self.delay = delay
        self.fail_on = fail_on
        self.gate = gate
        self.started = threading.Event()

    def __call__(self, texts):
        self.batches.append(list(texts))
        self.started.set()
        if self.gate is not None and len(self.batches) == 1:
            assert self.gate.wait(10)
        if self.fail_on is not None and self.fail_on in texts:
            raise RuntimeError("bad input")
        time.sleep(self.delay)
        return [text.upper() for text in texts]


def texts(prefix, count):
    return [f"{prefix}{i}".encode() for i in range(count)]


class RequestBatcherTest(TestCase):
    def blocked_batcher(self, **kwargs):
        """A batcher whose first batch (one input, `block`) waits for `gate`."""
        gate = threading.Event()
        function = RecordingFunction(gate=gate)
        batcher = RequestBatcher(function, **kwargs)
        blocker = batcher.enqueue([b"block"])
        self.assertTrue(function.started.wait(10))
        return batcher, function, gate, blocker

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
        # 12 inputs, at most 8 per call: 2 calls when all 6 arrive within the
        # timeout (3 on a very busy machine), not 6.
        sizes = [len(b) for b in function.batches]
        self.assertEqual(sum(sizes), 12)
        self.assertLessEqual(len(sizes), 3)
        self.assertTrue(all(size <= 8 for size in sizes), sizes)
        self.assertEqual(batcher.num_inputs, 12)
        self.assertEqual(batcher.num_batches, len(sizes))

    def test_large_request_is_split_in_order(self):
        function = RecordingFunction()
        batcher = RequestBatcher(function, max_batch_size=3, batch_timeout_ms=0)
        inputs = texts("a", 8)
        self.assertEqual(batcher.submit(inputs), [t.upper() for t in inputs])
        batcher.close()
        self.assertEqual([len(b) for b in function.batches], [3, 3, 2])
        self.assertEqual(sum(function.batches, []), inputs)

    def test_each_waiting_request_gets_an_equal_share_oldest_first(self):
        batcher, function, gate, blocker = self.blocked_batcher(
            max_batch_size=4, batch_timeout_ms=0
        )
        big = batcher.enqueue(texts("a", 10))
        middle = batcher.enqueue(texts("b", 3))
        small = batcher.enqueue(texts("c", 1))
        self.assertEqual(batcher.queued_inputs, 14)
        gate.set()
        self.assertEqual(small.result(10), [b"C0"])
        self.assertEqual(middle.result(10), [b"B0", b"B1", b"B2"])
        self.assertEqual(big.result(10), [t.upper() for t in texts("a", 10)])
        self.assertEqual(blocker.result(10), [b"BLOCK"])
        batcher.close()
        # Shares of 1 each (4 // 3), then the rest of the space to the oldest;
        # then 2 and 2; then the big request alone.
        self.assertEqual(function.batches[1:], [
            [b"a0", b"a1", b"b0", b"c0"],
            [b"a2", b"a3", b"b1", b"b2"],
            [b"a4", b"a5", b"a6", b"a7"],
            [b"a8", b"a9"],
        ])

    def test_small_request_does_not_wait_behind_a_big_one(self):
        function = RecordingFunction(delay=0.02)
        batcher = RequestBatcher(function, max_batch_size=4, batch_timeout_ms=0)
        big = batcher.enqueue(texts("a", 400))  # 100 batches, >= 2 s.
        while len(function.batches) < 3:
            time.sleep(0.005)
        calls_before = len(function.batches)
        self.assertEqual(batcher.submit([b"small"]), [b"SMALL"])
        # In the batch being formed or the next one, not after the 97 others.
        index = next(i for i, batch in enumerate(function.batches) if b"small" in batch)
        self.assertLessEqual(index, calls_before + 1)
        self.assertFalse(big.future.done())
        self.assertEqual(len(big.result(30)), 400)
        batcher.close()

    def test_cancel_drops_the_inputs_not_yet_run(self):
        batcher, function, gate, _ = self.blocked_batcher(
            max_batch_size=4, batch_timeout_ms=0
        )
        gone = batcher.enqueue(texts("a", 12))
        kept = batcher.enqueue(texts("b", 2))
        self.assertTrue(gone.cancel())
        self.assertFalse(gone.cancel())  # Nothing left to drop.
        self.assertEqual(batcher.queued_inputs, 2)
        gate.set()
        self.assertEqual(kept.result(10), [b"B0", b"B1"])
        batcher.close()
        self.assertTrue(gone.future.cancelled())
        with pytest.raises(concurrent.futures.CancelledError):
            gone.result()
        self.assertEqual(function.batches[1:], [[b"b0", b"b1"]])
        self.assertEqual(batcher.num_cancelled_inputs, 12)

    def test_a_failing_batch_fails_its_requests_only(self):
        function = RecordingFunction(fail_on=b"boom")
        batcher = RequestBatcher(function, max_batch_size=4, batch_timeout_ms=0)
        with pytest.raises(ServingError, match="RuntimeError: bad input") as info:
            batcher.submit([b"boom", b"x", b"y", b"z", b"never run"])
        self.assertEqual(info.value.status, 500)
        self.assertEqual(batcher.submit([b"ok"]), [b"OK"])
        batcher.close()
        # The failed request's fifth input was dropped, not run.
        self.assertEqual(function.batches, [[b"boom", b"x", b"y", b"z"], [b"ok"]])

    def test_timeout_bounds_the_wait_of_a_lone_request(self):
        batcher = RequestBatcher(RecordingFunction(), max_batch_size=64,
                                 batch_timeout_ms=50)
        start = time.perf_counter()
        self.assertEqual(batcher.submit([b"x"]), [b"X"])
        elapsed = time.perf_counter() - start
        batcher.close()
        self.assertGreaterEqual(elapsed, 0.045)
        self.assertLess(elapsed, 5.0)

    def test_full_queue_and_closed_batcher_answer_503(self):
        batcher, _, gate, _ = self.blocked_batcher(
            max_batch_size=1, batch_timeout_ms=0, max_queued_inputs=2,
            retry_after_s=3,
        )
        waiting = batcher.enqueue([b"b", b"c"])
        with pytest.raises(ServingError, match="overloaded") as info:
            batcher.enqueue([b"d"])
        self.assertEqual((info.value.status, info.value.headers()),
                         (503, {"Retry-After": "3"}))
        gate.set()
        self.assertEqual(waiting.result(10), [b"B", b"C"])
        batcher.close()
        with pytest.raises(ServingError, match="shutting down") as info:
            batcher.submit([b"e"])
        self.assertEqual(info.value.status, 503)

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="max_batch_size"):
            RequestBatcher(str.upper, max_batch_size=0)
        with pytest.raises(ValueError, match="batch_timeout_ms"):
            RequestBatcher(str.upper, batch_timeout_ms=-1)
