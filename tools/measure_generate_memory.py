"""Peak memory and time of one `Seq2SeqLM.generate()` call on a whole test set.

A child process loads the preset, compiles it with beam search, reads
`--count` source lines (the file repeated as often as needed) and passes them
to `generate()` in ONE call, as a user translating a test set would. The
parent reports the child's peak resident memory (`getrusage` of the child:
the model, the runtime and the generation), the seconds the `generate()`
call took, and the sha256 of the outputs (to compare two versions of the
code; `--output` writes them).

    python tools/measure_generate_memory.py \\
        --source-file /work/shared/data/multi30k/test_2016_flickr.en.gz \\
        --count 5000 --num-beams 5

To compare with another checkout of keras-s2s, run the same command with
`PYTHONPATH=/path/to/that/checkout`; `--chunk-size` is only passed to
`generate()` when given (older versions have no such argument).
"""

import argparse
import gzip
import hashlib
import json
import os
import resource
import subprocess
import sys
import time


def read_sources(path, count):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as file:
        lines = [line.rstrip("\n") for line in file]
    if not lines:
        raise SystemExit(f"error: '{path}' holds no lines")
    return [lines[i % len(lines)] for i in range(count)]


def run_child(args):
    import keras_s2s
    from keras_s2s import samplers
    from keras_s2s.models import Seq2SeqLM

    sources = read_sources(args.source_file, args.count)
    model = Seq2SeqLM.from_preset(args.preset)
    model.compile(sampler=samplers.BeamSampler(num_beams=args.num_beams))
    kwargs = {}
    if args.chunk_size is not None:
        kwargs["chunk_size"] = None if args.chunk_size == 0 else args.chunk_size
    start = time.perf_counter()
    outputs = model.generate(sources, **kwargs)
    seconds = time.perf_counter() - start
    text = "\n".join(outputs) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    print(json.dumps({
        "keras_s2s": os.path.dirname(os.path.abspath(keras_s2s.__file__)),
        "count": len(outputs),
        "generate_seconds": round(seconds, 2),
        "outputs_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="multi30k_en_de_gru_bahdanau")
    parser.add_argument("--source-file", required=True)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--num-beams", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="passed to generate(); 0 means chunk_size=None")
    parser.add_argument("--output", help="write the outputs to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_child(args)
    command = [sys.executable, os.path.abspath(__file__), "--child",
               *(sys.argv[1:] if argv is None else argv)]
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, check=True, text=True)
    wall = time.perf_counter() - start
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # ru_maxrss is in KiB on Linux.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    report.update(
        backend=os.environ.get("KERAS_BACKEND", "tensorflow"),
        peak_rss_gb=round(peak / 1e9, 2),
        process_seconds=round(wall, 1),
    )
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
