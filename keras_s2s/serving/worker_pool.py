"""Several server processes, each with its own model, sharing one port."""

import multiprocessing
import os
import queue
import shutil
import signal
import sys
import tempfile
import time

from keras_s2s.serving.model_server import bind_socket
from keras_s2s.serving.model_server import check_port
from keras_s2s.serving.model_server import serving_message
from keras_s2s.serving.saved_model_runner import resolve_export_dir
from keras_s2s.serving.tf_serving_api import check_model_name

# Exit status of a worker that could not load its model: not restarted.
STARTUP_FAILURE = 3
# A worker that dies more often than this (per minute) is not restarted.
MAX_RESTARTS_PER_MINUTE = 5


def _worker_main(sock, export_dir, model_name, server_kwargs, events, index):
    """One worker process: loads the model, then serves on the shared socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # The parent sends SIGTERM.
    if server_kwargs.get("verbose"):
        import logging.config

        from keras_s2s.serving.model_server import uvicorn_log_config

        logging.config.dictConfig(uvicorn_log_config(True))
    from keras_s2s.serving.model_server import ModelServer

    try:
        server = ModelServer(export_dir, model_name, sock=sock, **server_kwargs)
    except Exception as error:
        events.put(("failed", index, f"{type(error).__name__}: {error}"))
        sys.exit(STARTUP_FAILURE)
    events.put(("ready", index, os.getpid()))
    # uvicorn drains on SIGTERM, then raises it again: let that pass.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        server.serve_forever()
    finally:
        server.server_close()


class _Pool:
    def __init__(self, sock, export_dir, model_name, server_kwargs, workers):
        self.context = multiprocessing.get_context("spawn")
        self.events = self.context.Queue()
        self.args = (sock, export_dir, model_name, server_kwargs, self.events)
        self.processes = [None] * workers
        self.restarts = []

    def start(self, index):
        process = self.context.Process(
            target=_worker_main, args=self.args + (index,),
            name=f"keras-s2s-worker-{index}", daemon=False,
        )
        process.start()
        self.processes[index] = process

    def wait_until_ready(self, should_stop):
        """Waits for every worker to load its model; raises on a failure."""
        ready = set()
        while len(ready) < len(self.processes):
            if should_stop():
                return False
            try:
                kind, index, detail = self.events.get(timeout=0.5)
            except queue.Empty:
                for index, process in enumerate(self.processes):
                    if index not in ready and not process.is_alive():
                        raise RuntimeError(
                            f"Worker {index} exited with status {process.exitcode} "
                            "while loading the model."
                        )
                continue
            if kind == "failed":
                raise ValueError(f"Worker {index} could not start: {detail}")
            ready.add(index)
        return True

    def restart_dead(self):
        """Restarts workers that died; raises if they die too often."""
        for index, process in enumerate(self.processes):
            if process.is_alive():
                continue
            _mark_metrics_dead(process.pid)
            now = time.monotonic()
            self.restarts = [t for t in self.restarts if now - t < 60] + [now]
            if (process.exitcode == STARTUP_FAILURE
                    or len(self.restarts) > MAX_RESTARTS_PER_MINUTE):
                raise RuntimeError(
                    f"Worker {index} exited with status {process.exitcode}; "
                    f"{len(self.restarts)} worker restarts in the last minute."
                )
            print(f"Worker {index} (pid {process.pid}) exited with status "
                  f"{process.exitcode}; restarting it.", file=sys.stderr, flush=True)
            self.start(index)

    def stop(self, timeout):
        """SIGTERM to every worker, then waits `timeout` s; returns their statuses."""
        for process in self.processes:
            if process is not None and process.is_alive():
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            if process is None:
                continue
            process.join(max(deadline - time.monotonic(), 0.1))
            if process.is_alive():
                process.kill()
                process.join(5)
        return [p.exitcode for p in self.processes if p is not None]


def _mark_metrics_dead(pid):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and pid is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def serve_workers(export_dir, model_name, host, port, workers, server_kwargs):
    """Serves with `workers` processes until SIGINT or SIGTERM.

    The parent binds the port, starts the workers (each loads the model and
    serves on the shared socket; the kernel spreads connections over them),
    prints the URL once all are ready, restarts a worker that dies, and on
    SIGINT / SIGTERM asks each to drain (SIGTERM) and waits for them. The
    Prometheus metrics of all workers are summed at `/metrics`. TensorFlow's
    intra-op threads per worker default to the cores divided by `workers`
    (`TF_NUM_INTRAOP_THREADS` overrides).

    Raises:
        ValueError: no SavedModel, or a worker could not load it.
        OSError: the port cannot be bound.
        RuntimeError: workers keep dying.
    """
    check_model_name(model_name)
    check_port(port)
    export_path, version = resolve_export_dir(export_dir)
    from keras_s2s.serving.model_server import _import_uvicorn

    _import_uvicorn()
    stop = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stop.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    metrics_dir = tempfile.mkdtemp(prefix="keras_s2s_metrics_")
    saved_environ = {key: os.environ.get(key) for key in
                     ("PROMETHEUS_MULTIPROC_DIR", "TF_NUM_INTRAOP_THREADS")}
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS",
                          str(max(1, (os.cpu_count() or 1) // workers)))
    sock = bind_socket(host, port)
    pool = _Pool(sock, export_path, model_name, server_kwargs, workers)
    drain_timeout = server_kwargs.get("drain_timeout_s", 30.0)
    try:
        for index in range(workers):
            pool.start(index)
        if pool.wait_until_ready(lambda: bool(stop)):
            bound_host, bound_port = sock.getsockname()[:2]
            url = f"http://{bound_host}:{bound_port}/v1/models/{model_name}"
            print(serving_message(model_name, version, export_path, url, workers),
                  file=sys.stderr, flush=True)
            while not stop:
                time.sleep(0.5)
                pool.restart_dead()
    finally:
        statuses = pool.stop(drain_timeout + 15)
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for key, value in saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(metrics_dir, ignore_errors=True)
    failed = [status for status in statuses if status not in (0, None)]
    if failed and not stop:
        raise RuntimeError(f"Worker processes exited with statuses {failed}.")
