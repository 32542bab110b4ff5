"""Batching the inputs of concurrent requests into one model call."""

import collections
import threading
import time

from keras_s2s.serving.serving_error import ServingError
from keras_s2s.utils.argument_validation import check_float_at_least
from keras_s2s.utils.argument_validation import check_positive_int


class _Job:
    """Some inputs of one request and, once run, their results."""

    def __init__(self, texts):
        self.texts = texts
        self.results = None
        self.error = None
        self.done = threading.Event()


class RequestBatcher:
    """Runs a batch function on the inputs of concurrent requests together.

    Requests call `submit(texts)` from their own threads. One worker thread
    takes the oldest waiting inputs, waits at most `batch_timeout_ms` for
    more (or until `max_batch_size` inputs are gathered), calls
    `function(batch)` once and hands every request its own results. A request
    with more than `max_batch_size` inputs is split across batches; its
    inputs are never reordered. Inputs are independent in the model (each
    row of a search is its own), so results do not depend on the batch they
    ran in.

    Args:
        function: callable, a list of `bytes` -> a list of results (one per
            input, in order).
        max_batch_size: int, the most inputs per call.
        batch_timeout_ms: float >= 0, how long the first input of a batch
            waits for others.
        max_queued_inputs: int, inputs waiting at most; beyond it `submit`
            raises `ServingError` (503) instead of queueing.

    Example:
    >>> batcher = RequestBatcher(lambda texts: [t.upper() for t in texts],
    ...                          max_batch_size=4, batch_timeout_ms=1)
    >>> batcher.submit([b"a", b"b"])
    [b'A', b'B']
    >>> batcher.close()
    """

    def __init__(self, function, max_batch_size=32, batch_timeout_ms=5.0,
                 max_queued_inputs=4096):
        check_positive_int("max_batch_size", max_batch_size)
        check_float_at_least("batch_timeout_ms", batch_timeout_ms, 0.0)
        check_positive_int("max_queued_inputs", max_queued_inputs)
        self.function = function
        self.max_batch_size = max_batch_size
        self.batch_timeout_ms = batch_timeout_ms
        self.max_queued_inputs = max_queued_inputs
        self.num_batches = 0
        self.num_inputs = 0
        self._jobs = collections.deque()
        self._queued_inputs = 0
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="keras-s2s-batcher", daemon=True
        )
        self._thread.start()

    def submit(self, texts):
        """Runs `texts` (a list of `bytes`) in batches; returns their results.

        Blocks until done. Raises `ServingError` (503) when the queue is full
        or the batcher is closed, or (500) when the model call failed.
        """
        jobs = [
            _Job(texts[i:i + self.max_batch_size])
            for i in range(0, len(texts), self.max_batch_size)
        ]
        with self._condition:
            if self._closed:
                raise ServingError("The server is shutting down.", status=503)
            if self._queued_inputs + len(texts) > self.max_queued_inputs:
                raise ServingError(
                    f"The server is overloaded ({self._queued_inputs} inputs "
                    "waiting); retry later.",
                    status=503,
                )
            self._jobs.extend(jobs)
            self._queued_inputs += len(texts)
            self._condition.notify()
        results = []
        for job in jobs:
            job.done.wait()
            if job.error is not None:
                raise job.error
            results.extend(job.results)
        return results

    def _next_batch(self):
        """Waits for jobs; returns up to `max_batch_size` inputs' jobs."""
        with self._condition:
            while not self._jobs and not self._closed:
                self._condition.wait()
            if self._closed and not self._jobs:
                return None
            batch = [self._jobs.popleft()]
            size = len(batch[0].texts)
            deadline = time.monotonic() + self.batch_timeout_ms / 1000.0
            while size < self.max_batch_size:
                if self._jobs:
                    if size + len(self._jobs[0].texts) > self.max_batch_size:
                        break
                    job = self._jobs.popleft()
                    batch.append(job)
                    size += len(job.texts)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    break
                self._condition.wait(remaining)
            self._queued_inputs -= size
            return batch

    def _run(self):
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            texts = [text for job in batch for text in job.texts]
            try:
                results = self.function(texts)
                if len(results) != len(texts):
                    raise RuntimeError(
                        f"The model returned {len(results)} results for "
                        f"{len(texts)} inputs."
                    )
            except Exception as error:  # Reported to every waiting request.
                failure = ServingError(
                    f"The model failed on a batch of {len(texts)} inputs: "
                    f"{type(error).__name__}: {error}",
                    status=500,
                )
                for job in batch:
                    job.error = failure
                    job.done.set()
                continue
            self.num_batches += 1
            self.num_inputs += len(texts)
            offset = 0
            for job in batch:
                job.results = results[offset:offset + len(job.texts)]
                offset += len(job.texts)
                job.done.set()

    def close(self):
        """Finishes the waiting jobs, then stops the worker thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout=60)
