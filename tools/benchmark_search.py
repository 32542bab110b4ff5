"""Decoding speed (sentences/s) of greedy and beam search, with keras-hub's beam.

One fixed random model (seed 0) of realistic size: vocabulary 8,000,
embeddings 256, GRU decoder of 256 units with Bahdanau attention, a
bidirectional GRU encoder (128 per direction); 1,000 random sources of 20
tokens; outputs of at most 30 tokens after the start token. Searches:

- `greedy`: `keras_s2s.samplers.GreedySampler`.
- `beam-5`: `keras_s2s.samplers.BeamSampler(num_beams=5)` (finished pool,
  early stopping; default penalties).
- `keras-hub beam-5`: `keras_hub.samplers.BeamSampler(num_beams=5)` on the
  same model and inputs.

Each search is compiled by `Seq2SeqLM.make_generate_function` (tf.function /
jax.jit / torch.no_grad), warmed up on one batch, then timed over all inputs
in `--rounds` interleaved rounds; the fastest round counts.
A random model rarely emits the stop token, so every search runs to the
maximum length: the numbers compare the per-step cost.

    KERAS_BACKEND=jax python tools/benchmark_search.py        # one backend
    python tools/benchmark_search.py --all-backends           # one table
    python tools/benchmark_search.py --all-backends --torch-threads 1
"""

import argparse
import json
import os
import subprocess
import sys
import time

SEARCHES = ("greedy", "beam-5", "keras-hub beam-5")
BACKENDS = ("tensorflow", "jax", "torch")
EOS = 2


def make_sampler(name, num_beams):
    import keras_hub

    from keras_s2s import samplers

    if name == "greedy":
        return samplers.GreedySampler()
    if name.startswith("keras-hub"):
        return keras_hub.samplers.BeamSampler(num_beams=num_beams)
    return samplers.BeamSampler(num_beams=num_beams)


def run_one_backend(args):
    import keras
    import numpy as np

    if keras.backend.backend() == "torch" and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    from keras_s2s.models import Seq2SeqBackbone
    from keras_s2s.models import Seq2SeqLM

    keras.utils.set_random_seed(0)
    vocab = args.vocabulary_size
    backbone = Seq2SeqBackbone(
        encoder_vocabulary_size=vocab,
        embedding_dim=256,
        hidden_dim=256,
        cell_type="gru",
        attention_type="bahdanau",
    )
    rng = np.random.default_rng(0)
    n = args.num_inputs
    prompt = np.zeros((n, args.max_output_length + 1), "int32")
    prompt[:, 0] = 1
    data = {
        "encoder_token_ids": rng.integers(3, vocab, (n, args.source_length)).astype(
            "int32"
        ),
        "encoder_padding_mask": np.ones((n, args.source_length), bool),
        "decoder_token_ids": prompt,
        "decoder_padding_mask": prompt != 0,
    }
    batches = [
        {k: v[i : i + args.batch_size] for k, v in data.items()}
        for i in range(0, n, args.batch_size)
    ]
    # One task model per search over the same backbone (the same weights),
    # each with its own compiled generate function.
    functions = {}
    for name in args.searches:
        model = Seq2SeqLM(backbone)
        model.compile(sampler=make_sampler(name, args.num_beams))
        generate = model.make_generate_function()
        keras.ops.convert_to_numpy(
            generate(batches[0], stop_token_ids=(EOS,))["decoder_token_ids"]
        )
        functions[name] = (model, generate)
    # Rounds interleave the searches; each keeps its fastest round, which
    # damps the noise of a shared machine.
    results = {}
    for _ in range(args.rounds):
        for name, (model, generate) in functions.items():
            lengths = []
            start, cpu_start = time.perf_counter(), time.process_time()
            for batch in batches:
                out = generate(batch, stop_token_ids=(EOS,))
                mask = keras.ops.convert_to_numpy(out["decoder_padding_mask"])
                lengths.append(mask.sum(-1) - 1)
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            best = results.get(name)
            if best is None or elapsed < best["seconds"]:
                results[name] = {
                    "sentences_per_second": n / elapsed,
                    "seconds": elapsed,
                    "mean_output_length": float(np.mean(np.concatenate(lengths))),
                }
            # CPU time of this process: less sensitive to other processes.
            if cpu < results[name].get("cpu_seconds", float("inf")):
                results[name]["cpu_seconds"] = cpu
                results[name]["sentences_per_cpu_second"] = n / cpu
    return {
        "results": results,
        "parameters": model.count_params(),
        "torch_threads": _torch_threads(),
        "device": _device(),
    }


def _device():
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return str(jax.devices()[0].platform)
    if backend == "torch":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    import tensorflow as tf

    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def _torch_threads():
    import keras

    if keras.backend.backend() != "torch":
        return None
    import torch

    return torch.get_num_threads()


def print_table(args, table):
    backends = list(table)
    print()
    print(
        f"Decoding speed, sentences/s ({args.num_inputs} inputs, batch "
        f"{args.batch_size}, source length {args.source_length}, at most "
        f"{args.max_output_length} output tokens, vocabulary "
        f"{args.vocabulary_size}, beam {args.num_beams})"
    )
    threads = [r["torch_threads"] for r in table.values() if r and r["torch_threads"]]
    if threads:
        print(f"torch threads: {threads[0]}")
    print(
        f"cells: sentences per wall-clock second / per CPU second of the "
        f"process (fastest of {args.rounds} rounds each); len: mean output "
        "length"
    )
    devices = [f"{b} ({table[b]['device']})" if table[b] else b for b in backends]
    print("| search | " + " | ".join(devices) + " |")
    print("|" + " --- |" * (len(backends) + 1))
    for name in args.searches:
        cells = []
        for backend in backends:
            result = table[backend]
            if result is None:
                cells.append("failed")
                continue
            r = result["results"][name]
            cells.append(
                f"{r['sentences_per_second']:,.1f} / "
                f"{r['sentences_per_cpu_second']:,.1f} "
                f"(len {r['mean_output_length']:.1f})"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all-backends", action="store_true",
                        help="run each backend in a subprocess; one table")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--searches", nargs="+", default=list(SEARCHES))
    parser.add_argument("--num-inputs", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--num-beams", type=int, default=5)
    parser.add_argument("--source-length", type=int, default=20)
    parser.add_argument("--max-output-length", type=int, default=30)
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed passes over the inputs; the fastest counts")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch.set_num_threads value (0: PyTorch's default)")
    parser.add_argument("--json", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.searches = [s.replace("_", " ") for s in args.searches]

    if not args.all_backends:
        result = run_one_backend(args)
        if args.json:
            print("RESULT " + json.dumps(result), flush=True)
            return
        import keras

        print_table(args, {keras.backend.backend(): result})
        return

    table = {}
    for backend in args.backends:
        command = [
            sys.executable, os.path.abspath(__file__), "--json",
            "--searches", *[s.replace(" ", "_") for s in args.searches],
            "--num-inputs", str(args.num_inputs),
            "--batch-size", str(args.batch_size),
            "--num-beams", str(args.num_beams),
            "--source-length", str(args.source_length),
            "--max-output-length", str(args.max_output_length),
            "--vocabulary-size", str(args.vocabulary_size),
            "--rounds", str(args.rounds),
            "--torch-threads", str(args.torch_threads),
        ]
        env = dict(os.environ, KERAS_BACKEND=backend)
        print(f"running {backend} ...", file=sys.stderr, flush=True)
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        lines = [l for l in result.stdout.splitlines() if l.startswith("RESULT ")]
        if result.returncode or not lines:
            print(result.stderr[-2000:], file=sys.stderr)
            table[backend] = None
            continue
        table[backend] = json.loads(lines[-1][len("RESULT "):])
    print_table(args, table)
    if any(v is None for v in table.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
