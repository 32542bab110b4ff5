"""Load test of a TF-Serving-compatible model server on 127.0.0.1.

A bounded number of client threads (`--concurrency`, each with its own
keep-alive HTTP connection) send `--requests` predict requests in total,
each with `--instances` source sentences, to
`http://127.0.0.1:PORT/v1/models/NAME:predict`, and the script prints the
throughput (requests/s and sentences/s) and the latency percentiles
(p50, p90, p99, max) of the successful requests, plus the error count.

The sentences are the Multi30k `test_2016_flickr` sources (`--language`),
or the lines of `--sentences-file`. With `--serve EXPORT_DIR` the script
first starts `keras_s2s.serving.serve` on a free port in a subprocess and
stops it at the end; otherwise it targets a server already running on
`--port`. Only 127.0.0.1 is ever contacted.

    # Against a running server (keras-s2s serve / keras_s2s.serving.serve):
    python tools/load_test.py --port 8501 --model-name en_de \\
        --concurrency 8 --requests 400
    # Start the server for the test:
    python tools/load_test.py --serve exported/en_de --model-name en_de \\
        --concurrency 16 --requests 800 --max-batch-size 32
"""

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
MAX_CONCURRENCY = 256
MAX_REQUESTS = 1_000_000


def bounded_int(low, high):
    def parse(text):
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}]")
        return value

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--port", type=bounded_int(1, 65535), default=8501)
    parser.add_argument("--serve", metavar="EXPORT_DIR",
                        help="start a server for this SavedModel first")
    parser.add_argument("--concurrency", type=bounded_int(1, MAX_CONCURRENCY),
                        default=8, help="client threads (connections)")
    parser.add_argument("--requests", type=bounded_int(1, MAX_REQUESTS),
                        default=200, help="measured requests in total")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop starting requests after this many seconds "
                        "(--requests still bounds the count)")
    parser.add_argument("--warmup-requests", type=bounded_int(0, MAX_REQUESTS),
                        default=None, help="unmeasured requests first "
                        "(default: one per client)")
    parser.add_argument("--instances", type=bounded_int(1, 1024), default=1,
                        help="sentences per request")
    parser.add_argument("--sentences-file", help="one sentence per line")
    parser.add_argument("--language", default="en",
                        help="Multi30k source language (without --sentences-file)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds per request")
    parser.add_argument("--max-batch-size", type=int, default=32,
                        help="server batch size (with --serve)")
    parser.add_argument("--batch-timeout-ms", type=float, default=5.0,
                        help="server batch timeout (with --serve)")
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args(argv)


def load_sentences(args):
    if args.sentences_file:
        with open(args.sentences_file, encoding="utf-8") as file:
            sentences = [line.strip() for line in file if line.strip()]
    else:
        from keras_s2s.datasets import load_multi30k

        other = "de" if args.language != "de" else "en"
        sentences, _ = load_multi30k("test_2016_flickr", args.language, other)
    if not sentences:
        raise SystemExit("No sentences to send.")
    return sentences


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_ready(port, model_name, process, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"The server exited with code {process.returncode}.")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", f"/v1/models/{model_name}")
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"No server answered on {HOST}:{port} within {timeout} s.")


def start_server(args):
    port = free_port()
    code = (
        "import sys\n"
        "from keras_s2s.serving import serve\n"
        "serve(sys.argv[1], sys.argv[2], port=int(sys.argv[3]), "
        "max_batch_size=int(sys.argv[4]), batch_timeout_ms=float(sys.argv[5]), "
        "verbose=False)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, args.serve, args.model_name, str(port),
         str(args.max_batch_size), str(args.batch_timeout_ms)],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    wait_until_ready(port, args.model_name, process)
    return process, port


def run_clients(port, model_name, sentences, num_requests, concurrency,
                instances, timeout, duration=None):
    """Sends `num_requests` requests from `concurrency` threads.

    With `duration` (seconds), no request starts after that time.

    Returns `(latencies, errors, wall_seconds)`: latencies (s) of the
    successful requests and a list of error descriptions.
    """
    path = f"/v1/models/{model_name}:predict"
    lock = threading.Lock()
    counter = iter(range(num_requests))
    latencies, errors = [], []
    deadline = None if duration is None else time.perf_counter() + duration

    def client():
        connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
        while True:
            with lock:
                index = next(counter, None)
            if index is None or (deadline is not None and time.perf_counter() > deadline):
                break
            start = index * instances
            batch = [sentences[(start + i) % len(sentences)] for i in range(instances)]
            body = json.dumps({"instances": batch}).encode("utf-8")
            began = time.perf_counter()
            try:
                connection.request("POST", path, body=body,
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - began
                if response.status != 200:
                    error = f"HTTP {response.status}: {data[:200]!r}"
                elif len(json.loads(data)["predictions"]) != len(batch):
                    error = "wrong number of predictions"
                else:
                    error = None
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                error = f"{type(e).__name__}: {e}"
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
            with lock:
                if error is None:
                    latencies.append(elapsed)
                else:
                    errors.append(error)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - began


def percentile(values, q):
    """The q-th percentile (0-100) by linear interpolation, as NumPy's default."""
    values = sorted(values)
    if not values:
        return float("nan")
    position = (len(values) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def main(argv=None):
    args = parse_args(argv)
    sentences = load_sentences(args)
    process = None
    port = args.port
    try:
        if args.serve:
            process, port = start_server(args)
        else:
            wait_until_ready(port, args.model_name, None, timeout=10)
        warmup = (args.concurrency if args.warmup_requests is None
                  else args.warmup_requests)
        if warmup:
            run_clients(port, args.model_name, sentences, warmup, args.concurrency,
                        args.instances, args.timeout)
        latencies, errors, wall = run_clients(
            port, args.model_name, sentences, args.requests, args.concurrency,
            args.instances, args.timeout, duration=args.duration,
        )
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    ok = len(latencies)
    results = {
        "model_name": args.model_name,
        "concurrency": args.concurrency,
        "requests": args.requests,
        "instances_per_request": args.instances,
        "successful": ok,
        "errors": len(errors),
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(ok / wall, 2),
        "sentences_per_second": round(ok * args.instances / wall, 2),
        "latency_ms": {
            name: round(1000 * percentile(latencies, q), 1)
            for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
        },
    }
    if args.serve:
        results["server"] = {"max_batch_size": args.max_batch_size,
                             "batch_timeout_ms": args.batch_timeout_ms}
    print(f"{ok} requests ({ok * args.instances} sentences) in {wall:.2f} s from "
          f"{args.concurrency} clients, {len(errors)} errors")
    print(f"throughput: {results['requests_per_second']:.2f} requests/s, "
          f"{results['sentences_per_second']:.2f} sentences/s")
    latency = results["latency_ms"]
    print(f"latency: p50 {latency['p50']:.1f} ms, p90 {latency['p90']:.1f} ms, "
          f"p99 {latency['p99']:.1f} ms, max {latency['max']:.1f} ms")
    for error in errors[:5]:
        print(f"error: {error}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)
            file.write("\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
