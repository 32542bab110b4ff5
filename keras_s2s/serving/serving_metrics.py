"""Prometheus metrics of a model server, shown at `/metrics`."""

import os

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                   30.0, 60.0, 120.0)


class ServingMetrics:
    """The counters, gauges and histograms of one server process.

    - `keras_s2s_requests_total{route, status}`: answered requests.
    - `keras_s2s_request_seconds{route}`: their latency.
    - `keras_s2s_in_flight_requests`: predict requests being answered.
    - `keras_s2s_queued_inputs`: inputs waiting for a batch.
    - `keras_s2s_batch_size`, `keras_s2s_batch_seconds`: model calls.
    - `keras_s2s_cancelled_inputs_total`: inputs dropped because their
      client disconnected.

    With several worker processes (`PROMETHEUS_MULTIPROC_DIR` set before
    they start), `/metrics` sums the processes' values
    (`prometheus_client`'s multiprocess mode).

    Args:
        max_batch_size: int, the largest batch (the batch size buckets go up
            to it).
    """

    def __init__(self, max_batch_size):
        import prometheus_client as prometheus

        self._prometheus = prometheus
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = prometheus.CollectorRegistry()
        gauge_mode = {"multiprocess_mode": "livesum"} if self.multiprocess else {}
        size_buckets = sorted({1, 2, 4, 8, 16, 32, 64, 128, 256, max_batch_size})
        size_buckets = [b for b in size_buckets if b <= max_batch_size]
        self.requests = prometheus.Counter(
            "keras_s2s_requests", "Answered HTTP requests.", ["route", "status"],
            registry=self.registry,
        )
        self.latency = prometheus.Histogram(
            "keras_s2s_request_seconds", "Time to answer a request.", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.in_flight = prometheus.Gauge(
            "keras_s2s_in_flight_requests", "Predict requests being answered.",
            registry=self.registry, **gauge_mode,
        )
        self.queued_inputs = prometheus.Gauge(
            "keras_s2s_queued_inputs", "Inputs waiting for a batch.",
            registry=self.registry, **gauge_mode,
        )
        self.batch_size = prometheus.Histogram(
            "keras_s2s_batch_size", "Inputs per model call.",
            buckets=size_buckets, registry=self.registry,
        )
        self.batch_seconds = prometheus.Histogram(
            "keras_s2s_batch_seconds", "Time of a model call.",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.cancelled_inputs = prometheus.Counter(
            "keras_s2s_cancelled_inputs",
            "Inputs dropped because their client disconnected.",
            registry=self.registry,
        )

    def observe_request(self, route, status, seconds):
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def observe_batch(self, size, seconds):
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def exposition(self):
        """`(body, content_type)` of the `/metrics` reply."""
        prometheus = self._prometheus
        registry = self.registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = prometheus.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return prometheus.generate_latest(registry), prometheus.CONTENT_TYPE_LATEST
