"""Training throughput (target tokens/s) of two reference models on each backend.

Models (vocabulary 8,000, embeddings 256, batch 64, source and target length 20):

- `bahdanau-gru`: bidirectional GRU encoder (128 per direction), Bahdanau
  attention GRU decoder (256), dense bridge — the decoder steps with
  `keras.ops.scan`.
- `luong-gru-fast`: the same encoder, Luong (`general`) attention GRU decoder
  without input feeding — one fused GRU call over the target under teacher
  forcing, attention for all steps at once.

Each backend runs in its own subprocess; all results are printed in one table:

    python tools/benchmark_training.py                # all three backends
    python tools/benchmark_training.py --backends jax --steps 20
"""

import argparse
import json
import os
import subprocess
import sys
import time

CONFIGS = {
    "bahdanau-gru": dict(attention_type="bahdanau", input_feeding=True),
    "luong-gru-fast": dict(attention_type="luong", score_mode="general",
                           input_feeding=False),
}


def run_one_backend(args):
    import keras
    import numpy as np

    if keras.backend.backend() == "torch" and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    from keras_s2s.models import Seq2SeqBackbone
    from keras_s2s.models import Seq2SeqLM

    rng = np.random.default_rng(0)
    b, n, vocab = args.batch_size, args.length, args.vocabulary_size
    x = {
        "encoder_token_ids": rng.integers(3, vocab, (b, n)).astype("int32"),
        "encoder_padding_mask": np.ones((b, n), bool),
        "decoder_token_ids": rng.integers(3, vocab, (b, n)).astype("int32"),
        "decoder_padding_mask": np.ones((b, n), bool),
    }
    y = rng.integers(3, vocab, (b, n)).astype("int32")
    weights = np.ones((b, n), "float32")
    results = {}
    for name in args.configs:
        keras.utils.set_random_seed(0)
        backbone = Seq2SeqBackbone(
            encoder_vocabulary_size=vocab,
            embedding_dim=256,
            hidden_dim=256,
            cell_type="gru",
            bidirectional=True,
            **CONFIGS[name],
        )
        model = Seq2SeqLM(backbone)
        model.compile()
        for _ in range(args.warmup):
            model.train_on_batch(x, y, sample_weight=weights)
        start = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y, sample_weight=weights)
        elapsed = time.perf_counter() - start
        results[name] = {
            "tokens_per_second": b * n * args.steps / elapsed,
            "seconds_per_step": elapsed / args.steps,
            "parameters": model.count_params(),
        }
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+",
                        default=["tensorflow", "jax", "torch"])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch.set_num_threads value (0: PyTorch's default)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print("RESULT " + json.dumps(run_one_backend(args)), flush=True)
        return

    table = {}
    for backend in args.backends:
        command = [sys.executable, os.path.abspath(__file__), "--worker",
                   "--configs", *args.configs, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--batch-size", str(args.batch_size),
                   "--length", str(args.length),
                   "--vocabulary-size", str(args.vocabulary_size),
                   "--torch-threads", str(args.torch_threads)]
        env = dict(os.environ, KERAS_BACKEND=backend)
        print(f"running {backend} ...", file=sys.stderr, flush=True)
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        lines = [l for l in result.stdout.splitlines() if l.startswith("RESULT ")]
        if result.returncode or not lines:
            print(result.stderr[-2000:], file=sys.stderr)
            table[backend] = None
            continue
        table[backend] = json.loads(lines[-1][len("RESULT "):])

    print()
    print(f"Training throughput, target tokens/s (batch {args.batch_size}, "
          f"length {args.length}, vocabulary {args.vocabulary_size}, "
          f"{args.steps} timed steps after {args.warmup} warm-up steps)")
    header = "| model | params | " + " | ".join(args.backends) + " |"
    print(header)
    print("|" + " --- |" * (len(args.backends) + 2))
    for name in args.configs:
        params = next((r[name]["parameters"] for r in table.values() if r), 0)
        cells = [
            f"{table[b][name]['tokens_per_second']:,.0f}" if table[b] else "failed"
            for b in args.backends
        ]
        print(f"| {name} | {params / 1e6:.2f} M | " + " | ".join(cells) + " |")
    if any(v is None for v in table.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
