"""Attacks and load against two model servers on the same export: a before/after table.

Starts `keras_s2s.serving.serve(EXPORT, NAME, port=P)` from two code trees in
turn (`--old-root`, e.g. an older checkout, and this repository), on the
same export, and measures what the serving issue lists, on 127.0.0.1 only:

- head-of-line: latency of a 1-sentence request sent 1 s after a
  `--big`-input request (and the big one's latency);
- hang-up: latency of a 1-sentence request 1 s after a `--big`-input
  client disconnected 1 s into its request;
- a GET carrying a body: how many responses come back (1 is right);
- JSON nested 200,000 deep, a 5,000-digit integer, malformed
  Content-Length headers, a 2 MB body: the status codes, and whether the
  server answers afterwards;
- `--slow-connections` connections trickling their headers: latency of
  normal requests meanwhile, and the server's thread count;
- clients that disconnect early: tracebacks in the server's log;
- `--load-clients` clients for `--load-seconds` s of 1-sentence requests
  (Multi30k test sentences): errors, throughput, p50 / p99;
- SIGTERM during a request: that request's status and the exit status;
  a busy port at start-up: exit status and stderr lines.

Every loop is bounded in count and time. Example:

    git archive dfa6112 keras_s2s | tar -x -C /tmp/old-serving
    python tools/serving_stress.py /tmp/export/en_de/1 --old-root /tmp/old-serving
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))
import load_test  # noqa: E402

STEPS = ("head_of_line", "hangup", "malformed", "slow_headers", "early_disconnects",
         "load", "lifecycle")
# Lines TensorFlow and absl write to stderr at import.
TF_LOG_PREFIXES = ("I0000", "W0000", "E0000", "WARNING: All log", "To enable the")
SERVER_CODE = """
import json, sys
from keras_s2s.serving import serve
serve(sys.argv[1], sys.argv[2], port=int(sys.argv[3]), **json.loads(sys.argv[4]))
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export_dir")
    parser.add_argument("--model-name", default="model")
    parser.add_argument("--old-root", help="code tree of the 'before' server")
    parser.add_argument("--new-root", default=REPO_ROOT)
    parser.add_argument("--only", choices=["old", "new"], default=None)
    parser.add_argument("--new-server-kwargs", type=json.loads, default={},
                        help='JSON keyword arguments of the new serve(), e.g. '
                        '\'{"max_batch_size": 8}\'')
    parser.add_argument("--big", type=load_test.bounded_int(1, 4096), default=2000)
    parser.add_argument("--slow-connections", type=load_test.bounded_int(1, 4000),
                        default=800)
    parser.add_argument("--load-clients", type=load_test.bounded_int(1, 256),
                        default=50)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds any one request may take")
    parser.add_argument("--log-dir", default="/tmp/serving_stress")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated subset of {','.join(STEPS)}")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--language", default="en")
    parser.add_argument("--sentences-file")
    return parser.parse_args(argv)


class Server:
    """A server subprocess from a code tree, its log in a file."""

    def __init__(self, root, export_dir, model_name, log_path, kwargs=None):
        self.root, self.export_dir, self.model_name = root, export_dir, model_name
        self.port = load_test.free_port()
        self.log_path = log_path
        self.log = open(log_path, "w")
        env = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="2")
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER_CODE, export_dir, model_name, str(self.port),
             json.dumps(kwargs or {})],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=root,
        )
        load_test.wait_until_ready(self.port, model_name, self.process)

    def threads(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            return int(re.search(r"^Threads:\s+(\d+)", status.read(), re.M)[1])

    def log_text(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def stop(self, sig=signal.SIGTERM, timeout=120):
        """Sends `sig`; returns `(exit status, seconds to exit)`."""
        began = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = f"killed after {timeout:g} s"
        self.log.close()
        return status, round(time.monotonic() - began, 1)


def post(port, name, instances, timeout):
    """`(status or error name, seconds)` of one predict request."""
    began = time.monotonic()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("POST", f"/v1/models/{name}:predict",
                           body=json.dumps({"instances": instances}),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        status = type(error).__name__
    finally:
        connection.close()
    return status, round(time.monotonic() - began, 2)


def raw_exchange(port, data, read_seconds=3.0):
    """Sends raw bytes; returns what arrives within `read_seconds` (or the error)."""
    answer = b""
    try:
        with socket.create_connection((HOST, port), timeout=read_seconds) as sock:
            sock.sendall(data)
            deadline = time.monotonic() + read_seconds
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                answer += chunk
    except OSError as error:
        return answer or type(error).__name__.encode()
    return answer


def statuses(answer):
    found = re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)
    return [int(s) for s in found] or [answer[:40].decode(errors="replace")]


def wait_until_idle(server, name, sentence, limit=600):
    """Waits (bounded) until a 1-sentence request answers within 1 s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if post(server.port, name, [sentence], 120)[1] < 1.0:
            return
        time.sleep(1)


def head_of_line(server, name, sentences, big, timeout):
    results = {}

    def big_request():
        results["big"] = post(server.port, name, (sentences * 10)[:big], timeout)

    thread = threading.Thread(target=big_request)
    thread.start()
    time.sleep(1.0)
    results["small"] = post(server.port, name, sentences[:1], timeout)
    thread.join(timeout)
    return {"small request during a big one (s)": results["small"][1],
            "small request status": results["small"][0],
            "big request (s)": results.get("big", ("?", "?"))[1]}


def hangup(server, name, sentences, big, timeout):
    body = json.dumps({"instances": (sentences * 10)[:big]}).encode()
    with socket.create_connection((HOST, server.port)) as sock:
        sock.sendall(f"POST /v1/models/{name}:predict HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        time.sleep(1.0)
    time.sleep(1.0)
    status, seconds = post(server.port, name, sentences[:1], timeout)
    wait_until_idle(server, name, sentences[0])
    return {"small request 1 s after a big client hung up (s)": seconds,
            "small request status (after hang-up)": status}


def malformed(server, name):
    path = f"/v1/models/{name}:predict".encode()
    smuggled = f"GET /v1/models/{name}/metadata HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    get_with_body = (f"GET /v1/models/{name} HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Length: {len(smuggled)}\r\n\r\n").encode() + smuggled

    def post_raw(body, length=None):
        length = str(len(body)).encode() if length is None else length
        return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Length: " + length + b"\r\n\r\n" + body)

    deep = b"[" * 200_000 + b"]" * 200_000
    huge_int = b'{"instances": [' + b"9" * 5000 + b"]}"
    two_mb = json.dumps({"instances": ["a" * 1000] * 2000}).encode()
    results = {
        "responses to one GET with a body": len(statuses(raw_exchange(
            server.port, get_with_body))),
        "JSON nested 200,000 deep": statuses(raw_exchange(server.port, post_raw(deep)))[0],
        "5,000-digit integer": statuses(raw_exchange(server.port, post_raw(huge_int)))[0],
    }
    for label, length in (("abc", b"abc"), ("-5", b"-5"), ("superscript 2", "²".encode()),
                          ("1e3", b"1e3"), ("two values", b"5, 6")):
        results[f"Content-Length: {label}"] = statuses(raw_exchange(
            server.port, post_raw(b'{"instances": ["a"]}', length)))[0]
    results["2 MB body"] = statuses(raw_exchange(
        server.port, post_raw(two_mb), read_seconds=10))[0]
    results["a request after them"] = post(server.port, name, ["a dog ."], 60)[0]
    return results


def slow_headers(server, name, sentences, count):
    sockets, stop = [], threading.Event()
    head = f"POST /v1/models/{name}:predict HTTP/1.1\r\nHost: x\r\n".encode()
    for _ in range(count):
        try:
            sock = socket.create_connection((HOST, server.port), timeout=5)
            sock.sendall(head)
            sockets.append(sock)
        except OSError:
            break

    def trickle():  # One header line per connection every 2 s, for 30 s at most.
        deadline = time.monotonic() + 30
        while not stop.wait(2.0) and time.monotonic() < deadline:
            for sock in sockets:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    time.sleep(2.0)
    threads = server.threads()
    latencies = [post(server.port, name, sentences[:1], 60) for _ in range(5)]
    stop.set()
    thread.join(10)
    for sock in sockets:
        sock.close()
    return {f"{count} slow-header connections: opened": len(sockets),
            "server threads meanwhile": threads,
            "normal request meanwhile, median (s)": statistics.median(
                s for _, s in latencies),
            "normal request statuses": sorted({str(st) for st, _ in latencies})}


def early_disconnects(server, name, sentences):
    before = len(server.log_text())
    body = json.dumps({"instances": (sentences * 2)[:50]}).encode()
    for _ in range(30):
        with socket.create_connection((HOST, server.port)) as sock:
            sock.sendall(f"POST /v1/models/{name}:predict HTTP/1.1\r\nHost: x\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    wait_until_idle(server, name, sentences[0])
    log = server.log_text()[before:]
    return {"30 early disconnects: tracebacks in the log": log.count("Traceback"),
            "log lines": len(log.splitlines())}


def load(server, name, sentences, clients, seconds, timeout):
    latencies, errors, wall = load_test.run_clients(
        server.port, name, sentences, 10**6, clients, 1, timeout, duration=seconds)
    return {f"load {clients} clients x {seconds:g} s: errors": len(errors),
            "requests/s": round(len(latencies) / wall, 1),
            "p50 (s)": round(load_test.percentile(latencies, 50), 2),
            "p99 (s)": round(load_test.percentile(latencies, 99), 2)}


def lifecycle(server, name, sentences, root, export_dir):
    """SIGTERM during a request, then a start on a busy port."""
    results = {}
    thread = threading.Thread(target=lambda: results.setdefault(
        "request", post(server.port, name, sentences[:64], 120)))
    thread.start()
    time.sleep(0.5)
    exit_status, seconds = server.stop(signal.SIGTERM)
    thread.join(130)
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        process = subprocess.run(
            [sys.executable, "-m", "keras_s2s.cli", "serve", export_dir, "--port",
             str(busy.getsockname()[1])],
            capture_output=True, text=True, timeout=300, cwd=root,
            env=dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3"),
        )
    lines = [line for line in process.stderr.splitlines()
             if line.strip() and not line.startswith(TF_LOG_PREFIXES)]
    return {"request in flight at SIGTERM": results.get("request", ("?",))[0],
            "exit status after SIGTERM": exit_status,
            "seconds to exit": seconds,
            "busy port: exit status": process.returncode,
            "busy port: stderr lines": len(lines),
            "busy port: traceback": "Traceback" in process.stderr}


def run_server(label, root, args, sentences, kwargs=None):
    os.makedirs(args.log_dir, exist_ok=True)
    log_path = os.path.join(args.log_dir, f"{label}.log")
    print(f"== {label} server ({root})", flush=True)
    server = Server(root, args.export_dir, args.model_name, log_path, kwargs)
    results = {}
    steps = {
        "head_of_line": lambda: head_of_line(server, args.model_name, sentences,
                                             args.big, args.timeout),
        "hangup": lambda: hangup(server, args.model_name, sentences, args.big,
                                 args.timeout),
        "malformed": lambda: malformed(server, args.model_name),
        "slow_headers": lambda: slow_headers(server, args.model_name, sentences,
                                             args.slow_connections),
        "early_disconnects": lambda: early_disconnects(server, args.model_name,
                                                       sentences),
        "load": lambda: load(server, args.model_name, sentences, args.load_clients,
                             args.load_seconds, args.timeout),
        "lifecycle": lambda: lifecycle(server, args.model_name, sentences, root,
                                       args.export_dir),
    }
    chosen = [name.strip() for name in args.steps.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(steps))
    if unknown:
        raise SystemExit(f"Unknown --steps {unknown}; choose from {list(steps)}.")
    try:
        for step in (steps[name] for name in chosen):
            began = time.monotonic()
            part = step()
            print(f"   {json.dumps(part)} ({time.monotonic() - began:.0f} s)", flush=True)
            results.update(part)
    finally:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)
    return results


def main(argv=None):
    args = parse_args(argv)
    sentences = load_test.load_sentences(args)
    runs = {}
    if args.old_root and args.only != "new":
        runs["before"] = run_server("before", args.old_root, args, sentences)
    if args.only != "old":
        runs["after"] = run_server("after", args.new_root, args, sentences,
                                   args.new_server_kwargs)
    keys = list(dict.fromkeys(k for run in runs.values() for k in run))
    labels = list(runs)
    print("\n| what | " + " | ".join(labels) + " |")
    print("| --- |" + " --- |" * len(labels))
    for key in keys:
        print(f"| {key} | " + " | ".join(str(runs[l].get(key, "")) for l in labels) + " |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(runs, file, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
