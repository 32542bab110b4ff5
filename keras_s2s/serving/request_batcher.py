"""Fair batching of the inputs of concurrent requests into model calls."""

import collections
import concurrent.futures
import threading
import time

from keras_s2s.serving.serving_error import ServingError
from keras_s2s.utils.argument_validation import check_float_at_least
from keras_s2s.utils.argument_validation import check_positive_int


def _resolve(future, result=None, error=None):
    """Sets a future's result or error unless it was cancelled meanwhile."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass  # Cancelled: the client has gone.


class BatchedRequest:
    """The inputs of one request in a `RequestBatcher`, and their results.

    Returned by `RequestBatcher.enqueue`. `future` (a
    `concurrent.futures.Future`) resolves to the list of results, in input
    order, or to a `ServingError`; `cancel()` drops the inputs not yet run
    (call it when the client has gone).
    """

    def __init__(self, batcher, texts):
        self._batcher = batcher
        self.texts = texts
        self.results = [None] * len(texts)
        self.next_index = 0  # The first input not yet taken into a batch.
        self.num_done = 0
        self.enqueued_at = time.monotonic()
        self.future = concurrent.futures.Future()

    @property
    def num_pending(self):
        """Inputs not yet taken into a batch."""
        return len(self.texts) - self.next_index

    def result(self, timeout=None):
        """Waits for the results; raises the request's `ServingError`."""
        return self.future.result(timeout)

    def cancel(self):
        """Drops the inputs not yet run; True if any were dropped."""
        return self._batcher._cancel(self)


class RequestBatcher:
    """Runs a batch function on the inputs of concurrent requests, fairly.

    One worker thread calls `function(batch)` on up to `max_batch_size`
    inputs at a time, taken from every waiting request: each request gets
    an equal share of a batch (a share it does not fill goes to the
    others), the oldest requests first. A request of 2,000 inputs therefore
    runs in many batches, and a one-input request that arrives meanwhile
    joins the next batch instead of waiting behind all of them. A batch
    waits at most `batch_timeout_ms` after its oldest input arrived for
    more inputs to fill it. Inputs are independent in the model (each row
    of a search is its own), so results do not depend on the batch they
    ran in; a request's results are returned in its input order.

    `enqueue(texts)` returns at once (for servers: wait on its `future`,
    `cancel()` it when the client disconnects); `submit(texts)` blocks until
    the results are there.

    Args:
        function: callable, a list of `bytes` -> a list of results (one per
            input, in order).
        max_batch_size: int, the most inputs per call.
        batch_timeout_ms: float >= 0, how long the oldest waiting input waits
            for others to fill a batch.
        max_queued_inputs: int, inputs waiting at most; beyond it `enqueue`
            raises `ServingError` (503) instead of queueing.
        retry_after_s: int, the `Retry-After` of that 503.

    Example:
    >>> batcher = RequestBatcher(lambda texts: [t.upper() for t in texts],
    ...                          max_batch_size=4, batch_timeout_ms=1)
    >>> batcher.submit([b"a", b"b"])
    [b'A', b'B']
    >>> batcher.close()
    """

    def __init__(self, function, max_batch_size=32, batch_timeout_ms=5.0,
                 max_queued_inputs=4096, retry_after_s=1):
        check_positive_int("max_batch_size", max_batch_size)
        check_float_at_least("batch_timeout_ms", batch_timeout_ms, 0.0)
        check_positive_int("max_queued_inputs", max_queued_inputs)
        self.function = function
        self.max_batch_size = max_batch_size
        self.batch_timeout_ms = batch_timeout_ms
        self.max_queued_inputs = max_queued_inputs
        self.retry_after_s = retry_after_s
        self.num_batches = 0
        self.num_inputs = 0
        self.num_cancelled_inputs = 0
        # Requests with inputs not yet taken into a batch, oldest first.
        self._waiting = collections.OrderedDict()
        self._queued_inputs = 0
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="keras-s2s-batcher", daemon=True
        )
        self._thread.start()

    @property
    def queued_inputs(self):
        """Inputs waiting for a batch."""
        return self._queued_inputs

    def enqueue(self, texts):
        """Queues `texts` (a list of `bytes`); returns a `BatchedRequest`.

        Raises:
            ServingError: (503, with `retry_after`) the queue is full or the
                batcher is closed.
        """
        request = BatchedRequest(self, list(texts))
        with self._condition:
            if self._closed:
                raise ServingError("The server is shutting down.", status=503,
                                   retry_after=self.retry_after_s)
            if self._queued_inputs + len(texts) > self.max_queued_inputs:
                raise ServingError(
                    f"The server is overloaded ({self._queued_inputs} inputs "
                    f"waiting, at most {self.max_queued_inputs}); retry later.",
                    status=503,
                    retry_after=self.retry_after_s,
                )
            if not texts:
                request.future.set_result([])
                return request
            self._waiting[id(request)] = request
            self._queued_inputs += len(texts)
            self._condition.notify()
        return request

    def submit(self, texts):
        """Runs `texts` (a list of `bytes`) in batches; returns their results.

        Blocks until done. Raises `ServingError` (503) when the queue is full
        or the batcher is closed, or (500) when the model call failed.
        """
        return self.enqueue(texts).result()

    def _drop(self, request):
        """Takes `request`'s inputs not yet run off the queue; True if any."""
        with self._condition:
            if self._waiting.pop(id(request), None) is None:
                return False
            self._queued_inputs -= request.num_pending
            self.num_cancelled_inputs += request.num_pending
            request.next_index = len(request.texts)
            return True

    def _cancel(self, request):
        dropped = self._drop(request)
        request.future.cancel()
        return dropped

    def _take_batch(self):
        """Up to `max_batch_size` inputs, an equal share from each request.

        Returns a list of `(request, start, count)`, oldest request first.
        Called with the lock held.
        """
        space = self.max_batch_size
        taken = collections.OrderedDict()  # id -> [request, start, count]
        candidates = list(self._waiting.values())
        while space and candidates:
            share = max(1, space // len(candidates))
            still_waiting = []
            for request in candidates:
                if not space:
                    break
                count = min(share, request.num_pending, space)
                entry = taken.setdefault(id(request), [request, request.next_index, 0])
                entry[2] += count
                request.next_index += count
                space -= count
                if request.num_pending:
                    still_waiting.append(request)
                else:
                    del self._waiting[id(request)]
            candidates = still_waiting
        size = self.max_batch_size - space
        self._queued_inputs -= size
        return [tuple(entry) for entry in taken.values()]

    def _next_batch(self):
        """Waits for inputs, and for the batch to fill; None once closed."""
        with self._condition:
            while True:
                while not self._waiting and not self._closed:
                    self._condition.wait()
                if not self._waiting:
                    return None  # Closed and drained.
                oldest = next(iter(self._waiting.values()))
                deadline = oldest.enqueued_at + self.batch_timeout_ms / 1000.0
                while (self._waiting and not self._closed
                       and self._queued_inputs < self.max_batch_size):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._condition.wait(remaining)
                if self._waiting:  # Else all were cancelled meanwhile.
                    return self._take_batch()

    def _run(self):
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            texts = [
                text for request, start, count in batch
                for text in request.texts[start:start + count]
            ]
            try:
                results = self.function(texts)
                if len(results) != len(texts):
                    raise RuntimeError(
                        f"The model returned {len(results)} results for "
                        f"{len(texts)} inputs."
                    )
            except Exception as error:  # Reported to every request in the batch.
                failure = ServingError(
                    f"The model failed on a batch of {len(texts)} inputs: "
                    f"{type(error).__name__}: {error}",
                    status=500,
                )
                for request, _, _ in batch:
                    self._drop(request)  # Its other inputs are not run.
                    _resolve(request.future, error=failure)
                continue
            self.num_batches += 1
            self.num_inputs += len(texts)
            offset = 0
            for request, start, count in batch:
                request.results[start:start + count] = results[offset:offset + count]
                offset += count
                request.num_done += count
                if request.num_done == len(request.texts):
                    _resolve(request.future, result=request.results)

    def close(self, timeout=60):
        """Runs the inputs already queued, then stops the worker thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout=timeout)
