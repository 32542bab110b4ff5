"""Speed of the benchmark model: keras-s2s on each backend vs. plain PyTorch.

The benchmark model (the configuration the established RNN toolkits are
compared on): joint SentencePiece vocabulary of 8,000 pieces, embeddings 256,
bidirectional GRU encoder of 256 units per direction, GRU decoder of 512 with
Bahdanau (additive) attention and the context fed to the RNN input, dense
bridge from the encoder's final states, batches of 64 sentences, Multi30k
German->English. Runners:

- `keras-jax`, `keras-tensorflow`, `keras-torch`: `keras_s2s.models.Seq2SeqLM`
  (`Seq2SeqBackbone(embedding_dim=256, hidden_dim=512, encoder_hidden_dim=256,
  cell_type="gru", attention_type="bahdanau", bridge="dense")`), trained with
  `train_on_batch` (the compiled train step), decoding with `generate()` in
  batches of 64 (sorted by source length; compiled search).
  `keras-<backend>:mixed_bfloat16` (or `:mixed_float16`) runs the model
  under that dtype policy.
- `torch-reference`: `tools/pytorch_reference_seq2seq.py`, the same model in
  plain PyTorch eager, as a tutorial writes it (packed bi-GRU encoder,
  decoder stepping in Python, greedy and beam search one sentence at a time).

Every runner is a worker process; the parent sends each phase to every
runner in turn, `--rounds` times in rotating order, and keeps each runner's
best round, so all figures of one phase are measured side by side under the
same machine load, and the ratio to `torch-reference` is printed beside
each figure. Phases:

1. Matmul peak: float32 1024x1024 matmuls, GFLOP/s.
2. Training: the same length-bucketed batches of 64 Multi30k pairs for
   every runner (`--train-steps` per round, after one untimed step per batch
   shape), target tokens/s (real tokens: `</s>` included, padding
   excluded) and achieved FLOP/s (matrix products and attention of the real
   tokens, forward and backward = 3x forward) against the peak.
3. Decoding of the 1,000 test2016 sentences (`--num-sentences` to use
   fewer) with greedy search and beam search (5 beams), at most
   `--max-output-length` tokens, sentences/s. Every runner decodes with the
   same weights (those `keras-jax`, or the first keras runner, has after
   training, or `--weights`), so outputs and lengths match; the table gives
   the mean output length and the share of greedy outputs identical to the
   reference's.
4. Time per training step vs. sentence length and batch size (random
   tokens, full rows).

    python tools/benchmark_seq2seq.py                      # everything
    python tools/benchmark_seq2seq.py --train-steps 10 --num-sentences 128 \\
        --rounds 1 --table-lengths 10 20 --table-batch-sizes 16 64   # minutes
    python tools/benchmark_seq2seq.py --runners keras-jax torch-reference

Threads: `--torch-threads` (default 1) is `torch.set_num_threads` for both
PyTorch runners; on 2 contended cores one thread ran PyTorch's matmuls
faster than two, and Keras's PyTorch backend ran the encoder ~7x faster.
`--threads N` (default 0: each library's default) sets `OMP_NUM_THREADS`
and TensorFlow's intra- and inter-op threads (and, for 1, XLA's
single-threaded Eigen on JAX).
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PAD, START, END = 0, 2, 3
MODEL = dict(
    embedding_dim=256,
    hidden_dim=512,
    encoder_hidden_dim=256,
    cell_type="gru",
    bidirectional=True,
    attention_type="bahdanau",
    bridge="dense",
)
REFERENCE = "torch-reference"


# ---------------------------------------------------------------- data


def prepare_data(args):
    """Tokenized Multi30k de->en (train, test2016) in `args.work_dir`."""
    path = os.path.join(args.work_dir, f"multi30k_de_en_{args.vocabulary_size}.npz")
    if os.path.exists(path):
        return path
    import sentencepiece

    from keras_s2s.tokenizers.sentence_piece_trainer import train_sentencepiece

    def read(split, language):
        name = os.path.join(args.data_dir, "multi30k", f"{split}.{language}.gz")
        with gzip.open(name, "rt", encoding="utf-8") as file:
            return [line.rstrip("\n") for line in file]

    train_de, train_en = read("train", "de"), read("train", "en")
    test_de, test_en = read("test_2016_flickr", "de"), read("test_2016_flickr", "en")
    print("training the SentencePiece vocabulary ...", file=sys.stderr, flush=True)
    proto = train_sentencepiece(train_de + train_en, args.vocabulary_size)
    processor = sentencepiece.SentencePieceProcessor(model_proto=proto)

    def encode(texts):
        ids = processor.encode(texts)
        lengths = np.array([len(x) for x in ids])
        return np.concatenate([np.array(x, "int32") for x in ids]), lengths

    arrays = {}
    for name, texts in (("train_de", train_de), ("train_en", train_en),
                        ("test_de", test_de), ("test_en", test_en)):
        arrays[name], arrays[name + "_lengths"] = encode(texts)
    os.makedirs(args.work_dir, exist_ok=True)
    np.savez(path, **arrays)
    return path


def unpack(data, name):
    lengths = data[name + "_lengths"]
    ends = np.cumsum(lengths)
    ids = data[name]  # An NpzFile reads the array at every access.
    return [ids[end - n : end].copy() for n, end in zip(lengths, ends)]


def width_of(length, widths):
    return next((w for w in widths if w >= length), widths[-1])


def training_batches(data_path, batch_size, max_length, seed=0):
    """Length-bucketed batches: (source, decoder inputs, labels) arrays.

    Pairs longer than `max_length` tokens (either side, with `</s>`) are left
    out. Each batch holds pairs of one bucket (by the longer side, buckets
    8 tokens wide); each side is padded to its longest row rounded up to a
    multiple of 8 (as `make_dataset` trims bucketed batches), so there are
    few batch shapes to compile.
    """
    data = np.load(data_path)
    sources = [np.append(x, END) for x in unpack(data, "train_de")]
    targets = unpack(data, "train_en")
    widths = list(range(8, max_length + 8, 8))
    buckets = {}
    for source, target in zip(sources, targets):
        length = max(len(source), len(target) + 1)
        if length <= max_length:
            buckets.setdefault(width_of(length, widths), []).append((source, target))
    rng = np.random.default_rng(seed)
    batches = []
    for width, pairs in sorted(buckets.items()):
        order = rng.permutation(len(pairs))
        for start in range(0, len(pairs) - batch_size + 1, batch_size):
            chosen = [pairs[i] for i in order[start : start + batch_size]]
            source_width = width_of(max(len(s) for s, _ in chosen), widths)
            target_width = width_of(max(len(t) + 1 for _, t in chosen), widths)
            source = np.zeros((batch_size, source_width), "int32")
            decoder = np.zeros((batch_size, target_width), "int32")
            labels = np.zeros((batch_size, target_width), "int32")
            for row, (s, t) in enumerate(chosen):
                source[row, : len(s)] = s
                decoder[row, : len(t) + 1] = np.append(START, t)
                labels[row, : len(t) + 1] = np.append(t, END)
            batches.append((source, decoder, labels))
    return [batches[i] for i in rng.permutation(len(batches))]


def test_sources(data_path, count):
    data = np.load(data_path)
    return [np.append(x, END) for x in unpack(data, "test_de")][:count]


def training_flops(source, labels):
    """Forward + backward FLOPs of one step on the real tokens (3x forward)."""
    e, h_enc, h, v = 256, 256, 512, 8000
    m, a = 2 * h_enc, h
    s = (source != PAD).sum(axis=1).astype(np.float64)
    t = (labels != PAD).sum(axis=1).astype(np.float64)
    encoder = 2 * 2 * 3 * (e * h_enc + h_enc * h_enc) + 2 * m * a  # per source token
    decoder = (2 * 3 * ((e + m) * h + h * h) + 2 * h * a + 2 * (h + m + e) * e
               + 2 * e * v)  # per target token
    attention = 2 * a + 2 * m  # per (target token, source token)
    bridge = 2 * m * h
    forward = s * encoder + t * decoder + t * s * attention + bridge
    return 3.0 * float(forward.sum())


# ------------------------------------------------------------- workers


class KerasRunner:
    def __init__(self, options):
        import keras

        self.keras = keras
        if keras.backend.backend() == "torch":
            import torch

            torch.set_num_threads(options["torch_threads"])
        elif keras.backend.backend() == "tensorflow" and options["threads"]:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(options["threads"])
            tf.config.threading.set_inter_op_parallelism_threads(options["threads"])
        from keras_s2s.models import Seq2SeqBackbone
        from keras_s2s.models import Seq2SeqLM

        keras.utils.set_random_seed(0)
        backbone = Seq2SeqBackbone(
            encoder_vocabulary_size=options["vocabulary_size"],
            dtype=options["dtype"],
            **MODEL,
        )
        self.model = Seq2SeqLM(backbone)
        self.model.compile()
        self.searches = {}
        self.Seq2SeqLM = Seq2SeqLM

    def peak(self, size=1024, repeats=20):
        keras = self.keras
        backend = keras.backend.backend()
        x = keras.ops.ones((size, size), "float32")
        if backend == "jax":
            import jax

            matmul = jax.jit(lambda a: a @ a)
            run = lambda: matmul(x).block_until_ready()  # noqa: E731
        elif backend == "tensorflow":
            import tensorflow as tf

            matmul = tf.function(lambda a: tf.matmul(a, a), jit_compile=True)
            run = lambda: matmul(x).numpy()  # noqa: E731
        else:
            run = lambda: keras.ops.matmul(x, x).cpu()  # noqa: E731
        run()
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        return 2 * size**3 * repeats / (time.perf_counter() - start)

    def train_step(self, batch):
        source, decoder, labels = batch
        x = {
            "encoder_token_ids": source,
            "encoder_padding_mask": source != PAD,
            "decoder_token_ids": decoder,
            "decoder_padding_mask": decoder != PAD,
        }
        return self.model.train_on_batch(
            x, labels, sample_weight=(labels != PAD).astype("float32")
        )

    def save_weights(self, path):
        np.savez(path, **{v.path: self.keras.ops.convert_to_numpy(v)
                          for v in self.model.weights})

    def load_weights(self, path):
        values = np.load(path)
        for variable in self.model.weights:
            variable.assign(values[variable.path])

    def search_model(self, search):
        if search not in self.searches:
            from keras_s2s import samplers

            sampler = (samplers.GreedySampler() if search == "greedy"
                       else samplers.BeamSampler(num_beams=5))
            model = self.Seq2SeqLM(self.model.backbone)
            model.compile(sampler=sampler)
            self.searches[search] = model
        return self.searches[search]

    def decode(self, sources, search, max_output_length, batch_size, sort=True,
               warmup=False):
        """Translates `sources` in batches; returns outputs in input order.

        With `warmup`, only the first batch of each width runs (compiling
        the search for every shape the timed run meets).
        """
        model = self.search_model(search)
        order = (sorted(range(len(sources)), key=lambda i: -len(sources[i]))
                 if sort else list(range(len(sources))))
        outputs = [None] * len(sources)
        widths = list(range(8, 8 * 64, 8))
        seen = set()
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = width_of(max(len(sources[i]) for i in rows), widths)
            if warmup and width in seen:
                continue
            seen.add(width)
            source = np.zeros((batch_size, width), "int32")
            for r, i in enumerate(rows):
                source[r, : len(sources[i])] = sources[i]
            source[len(rows):] = source[0]  # a full batch: one compiled shape
            prompt = np.zeros((batch_size, max_output_length + 1), "int32")
            prompt[:, 0] = START
            result = model.generate(
                {
                    "encoder_token_ids": source,
                    "encoder_padding_mask": source != PAD,
                    "decoder_token_ids": prompt,
                    "decoder_padding_mask": prompt != PAD,
                },
                stop_token_ids=[END],
            )
            ids = np.asarray(result["decoder_token_ids"])
            for r, i in enumerate(rows):
                row = [int(token) for token in ids[r, 1:]]
                outputs[i] = row[: row.index(END)] if END in row else row
        return outputs


class ReferenceRunner:
    def __init__(self, options):
        import torch

        sys.path.insert(0, HERE)
        import pytorch_reference_seq2seq as reference

        torch.set_num_threads(options["torch_threads"])
        torch.manual_seed(0)
        self.torch = torch
        self.reference = reference
        self.model = reference.ReferenceSeq2Seq(options["vocabulary_size"])
        self.optimizer = torch.optim.Adam(self.model.parameters(), 1e-3)

    def peak(self, size=1024, repeats=20):
        x = self.torch.ones(size, size)
        x @ x
        start = time.perf_counter()
        for _ in range(repeats):
            x @ x
        return 2 * size**3 * repeats / (time.perf_counter() - start)

    def train_step(self, batch):
        torch = self.torch
        source, decoder, labels = batch
        # What a tutorial's bucket iterator gives: the batch cut to its
        # longest sentence.
        s = int((source != PAD).sum(1).max())
        t = int((labels != PAD).sum(1).max())
        return self.reference.train_step(
            self.model,
            self.optimizer,
            torch.as_tensor(source[:, :s]).long(),
            torch.as_tensor(decoder[:, :t]).long(),
            torch.as_tensor(labels[:, :t]).long(),
        )

    def save_weights(self, path):
        raise ValueError("the reference loads keras-s2s weights; it saves none")

    def load_weights(self, path):
        self.reference.load_keras_weights(self.model, dict(np.load(path)))

    def decode(self, sources, search, max_output_length, batch_size, sort=True,
               warmup=False):
        if warmup:  # Nothing to compile.
            return []
        self.model.eval()
        torch = self.torch
        outputs = []
        for source in sources:
            source = torch.as_tensor(source).long()
            if search == "greedy":
                outputs.append(self.model.greedy(source, max_output_length))
            else:
                outputs.append(self.model.beam(source, max_output_length, 5))
        return [list(o) for o in outputs]


def worker(args):
    options = json.loads(args.worker_options)
    if args.worker == REFERENCE:
        runner = ReferenceRunner(options)
    else:
        runner = KerasRunner(options)
    data_path = options["data_path"]
    batches = None
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        result = {}
        if op == "quit":
            break
        if op == "peak":
            result["flops"] = runner.peak()
        elif op == "train":
            if batches is None:
                batches = training_batches(data_path, options["batch_size"],
                                           options["max_length"])
            for index in command["warmup"]:
                runner.train_step(batches[index])
            for step in range(command.get("pretrain_steps", 0)):
                runner.train_step(batches[step % len(batches)])
            start = time.perf_counter()
            for index in command["steps"]:
                loss = runner.train_step(batches[index])
            seconds = time.perf_counter() - start
            chosen = [batches[i] for i in command["steps"]]
            result = {
                "seconds": seconds,
                "tokens": int(sum((b[2] != PAD).sum() for b in chosen)),
                "flops": sum(training_flops(b[0], b[2]) for b in chosen),
                "loss": float(np.asarray(loss).ravel()[0]),
            }
        elif op == "save_weights":
            runner.save_weights(command["path"])
        elif op == "load_weights":
            runner.load_weights(command["path"])
        elif op == "decode":
            sources = test_sources(data_path, command["num_sentences"])
            kwargs = dict(max_output_length=command["max_output_length"],
                          batch_size=options["batch_size"], sort=command["sort"])
            if command.get("warmup"):
                runner.decode(sources, command["search"], warmup=True, **kwargs)
            start = time.perf_counter()
            outputs = runner.decode(sources, command["search"], **kwargs)
            result = {"seconds": time.perf_counter() - start, "outputs": outputs}
        elif op == "table":
            rng = np.random.default_rng(0)
            b, n = command["batch_size"], command["length"]
            source = rng.integers(4, options["vocabulary_size"], (b, n)).astype("int32")
            source[:, -1] = END
            labels = rng.integers(4, options["vocabulary_size"], (b, n)).astype("int32")
            labels[:, -1] = END
            decoder = np.concatenate([np.full((b, 1), START, "int32"), labels[:, :-1]], 1)
            batch = (source, decoder, labels)
            runner.train_step(batch)
            start = time.perf_counter()
            for _ in range(command["steps"]):
                runner.train_step(batch)
            result["seconds"] = (time.perf_counter() - start) / command["steps"]
        print("RESULT " + json.dumps(result), flush=True)


# -------------------------------------------------------------- parent


class Worker:
    def __init__(self, name, args, data_path):
        backend, _, dtype = name.partition(":")
        env = dict(os.environ)
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
            if args.threads == 1:
                env["XLA_FLAGS"] = (
                    env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                ).strip()
        if name != REFERENCE:
            env["KERAS_BACKEND"] = backend.replace("keras-", "")
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        options = dict(
            data_path=data_path, vocabulary_size=args.vocabulary_size,
            batch_size=args.batch_size, max_length=args.max_length,
            dtype=dtype or None, torch_threads=args.torch_threads,
            threads=args.threads,
        )
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", name,
             "--worker-options", json.dumps(options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
        )

    def call(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        raise RuntimeError(f"runner {self.name} stopped (exit code "
                           f"{self.process.wait()})")

    def close(self):
        try:
            self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        self.process.wait()


def side_by_side(workers, rounds, label, **command):
    """Runs `command` on every worker `rounds` times in rotating order."""
    results = {w.name: [] for w in workers}
    for r in range(rounds):
        order = workers[r % len(workers):] + workers[: r % len(workers)]
        for w in order:
            print(f"  {label}, round {r + 1}: {w.name} ...", file=sys.stderr, flush=True)
            results[w.name].append(w.call(**command))
    return results


def ratio(value, reference):
    if reference is None or not reference:
        return ""
    return f"{value / reference:.2f}x"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__[__doc__.index("Every runner"):],
    )
    parser.add_argument("--runners", nargs="+",
                        default=["keras-jax", "keras-tensorflow", "keras-torch", REFERENCE])
    parser.add_argument("--train-steps", type=int, default=30,
                        help="timed training steps per round")
    parser.add_argument("--num-sentences", type=int, default=1000,
                        help="test2016 sentences decoded per search")
    parser.add_argument("--max-output-length", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=48,
                        help="longest training pair in tokens")
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--table-lengths", type=int, nargs="*", default=[10, 20, 40])
    parser.add_argument("--table-batch-sizes", type=int, nargs="*", default=[16, 64])
    parser.add_argument("--table-steps", type=int, default=3)
    parser.add_argument("--weights", default=None,
                        help="decode with these keras-s2s weights (.npz of "
                        "variable paths, as --save-weights writes)")
    parser.add_argument("--save-weights", default=None,
                        help="save the first keras runner's weights after training")
    parser.add_argument("--pretrain-steps", type=int, default=0,
                        help="untimed training steps of the first keras runner "
                        "before decoding (cycling over the training batches), "
                        "so that the decoded outputs have realistic lengths")
    parser.add_argument("--no-sort", action="store_true",
                        help="decode batches in corpus order (default: by length)")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["train", "decode", "greedy", "beam", "table"])
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--data-dir", default=os.environ.get(
        "KERAS_S2S_DATA_DIR", "/work/shared/data"))
    parser.add_argument("--work-dir", default=os.path.join(
        os.path.expanduser("~"), ".cache", "keras-s2s", "benchmark"))
    parser.add_argument("--json", default=None, help="write all results here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-options", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    data_path = prepare_data(args)
    load_before = os.getloadavg()
    workers = [Worker(name, args, data_path) for name in args.runners]
    names = [w.name for w in workers]
    has_reference = REFERENCE in names
    report = {"runners": names, "load_average_before": load_before,
              "arguments": vars(args)}
    start = time.time()
    try:
        print("matmul peak ...", file=sys.stderr, flush=True)
        peaks = side_by_side(workers, args.rounds, "peak", op="peak")
        peak = {n: max(r["flops"] for r in peaks[n]) for n in names}
        report["peak_flops"] = peak

        if "train" not in args.skip:
            batches = training_batches(data_path, args.batch_size, args.max_length)
            shapes = {}
            for i, b in enumerate(batches):
                shapes.setdefault((b[0].shape, b[1].shape), i)
            warmup = sorted(shapes.values())
            steps = [i for i in range(len(batches)) if i not in shapes.values()]
            results = {n: [] for n in names}
            for r in range(args.rounds):
                chosen = steps[r * args.train_steps : (r + 1) * args.train_steps]
                one = side_by_side(workers, 1, f"training round {r + 1}", op="train",
                                   warmup=warmup if r == 0 else [], steps=chosen)
                for n in names:
                    results[n] += one[n]
            report["training"] = {
                n: max(results[n], key=lambda x: x["tokens"] / x["seconds"])
                for n in names
            }

        keras_runners = [w for w in workers if w.name != REFERENCE]
        if args.pretrain_steps and keras_runners:
            print(f"pretraining {keras_runners[0].name} for {args.pretrain_steps} "
                  "steps ...", file=sys.stderr, flush=True)
            keras_runners[0].call(op="train", warmup=[], steps=[],
                                  pretrain_steps=args.pretrain_steps)
        weights = args.weights
        if weights is None and keras_runners:
            weights = os.path.join(args.work_dir, "decode_weights.npz")
            keras_runners[0].call(op="save_weights", path=weights)
        if args.save_weights and keras_runners:
            keras_runners[0].call(op="save_weights", path=args.save_weights)
        if weights is not None:
            for w in workers:
                w.call(op="load_weights", path=weights)

        report["decoding"] = {}
        if "decode" not in args.skip:
            for search in ("greedy", "beam"):
                if search in args.skip:
                    continue
                results = side_by_side(
                    workers, args.rounds, search, op="decode", search=search,
                    num_sentences=args.num_sentences,
                    max_output_length=args.max_output_length,
                    sort=not args.no_sort, warmup=True,
                )
                report["decoding"][search] = {
                    n: min(results[n], key=lambda x: x["seconds"]) for n in names
                }

        report["table"] = []
        if "table" not in args.skip:
            for length in args.table_lengths:
                for batch_size in args.table_batch_sizes:
                    results = side_by_side(
                        workers, args.rounds, f"table L={length} B={batch_size}",
                        op="table", length=length, batch_size=batch_size,
                        steps=args.table_steps,
                    )
                    report["table"].append({
                        "length": length, "batch_size": batch_size,
                        "seconds": {n: min(r["seconds"] for r in results[n])
                                    for n in names},
                    })
    finally:
        for w in workers:
            w.close()
    report["load_average_after"] = os.getloadavg()
    report["wall_seconds"] = time.time() - start
    print_report(report, names, has_reference, args)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=1)


def print_report(report, names, has_reference, args):
    ref = REFERENCE if has_reference else None
    print()
    print(f"Benchmark model: joint SentencePiece {args.vocabulary_size}, emb 256, "
          "biGRU 256/direction, GRU decoder 512, Bahdanau attention (context "
          f"fed to the RNN), dense bridge; batch {args.batch_size}; Multi30k de->en.")
    print(f"Load average (1, 5, 15 min) before: "
          f"{', '.join(f'{x:.1f}' for x in report['load_average_before'])}; after: "
          f"{', '.join(f'{x:.1f}' for x in report['load_average_after'])}; "
          f"{os.cpu_count()} CPUs; torch threads {args.torch_threads}; "
          f"threads {args.threads or 'library default'}; rounds {args.rounds}; "
          f"wall {report['wall_seconds']:.0f} s.")
    peak = report["peak_flops"]
    if "training" in report:
        train = report["training"]
        print()
        print(f"Training ({args.train_steps} timed steps per round, best round)")
        print("| runner | target tokens/s | vs reference | GFLOP/s | matmul peak "
              "GFLOP/s | % of peak | final loss |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        speed = {n: train[n]["tokens"] / train[n]["seconds"] for n in names}
        for n in names:
            flops = train[n]["flops"] / train[n]["seconds"]
            print(f"| {n} | {speed[n]:,.0f} | {ratio(speed[n], speed.get(ref))} | "
                  f"{flops / 1e9:.1f} | {peak[n] / 1e9:.1f} | "
                  f"{100 * flops / peak[n]:.0f}% | {train[n]['loss']:.3f} |")
    decoding = report.get("decoding") or {}
    if decoding:
        print()
        print(f"Decoding test2016 ({args.num_sentences} sentences, at most "
              f"{args.max_output_length} tokens; keras-s2s in batches of "
              f"{args.batch_size}{'' if args.no_sort else ' sorted by length'}; "
              "the reference one sentence at a time; best round)")
        print("| runner | search | sentences/s | vs reference | mean output "
              "tokens | same output as reference |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for search, results in decoding.items():
            label = "greedy" if search == "greedy" else "beam-5"
            speed = {n: len(results[n]["outputs"]) / results[n]["seconds"]
                     for n in names}
            for n in names:
                outputs = results[n]["outputs"]
                mean = np.mean([len(o) for o in outputs])
                same = ""
                if ref:
                    same = f"{100 * np.mean([a == b for a, b in zip(outputs, results[ref]['outputs'])]):.1f}%"
                print(f"| {n} | {label} | {speed[n]:,.1f} | "
                      f"{ratio(speed[n], speed.get(ref))} | {mean:.1f} | {same} |")
    if report.get("table"):
        print()
        print("Training step time (ms) vs. sentence length (source = target) and "
              "batch size; random tokens (ratio: reference time / runner time)")
        print("| length | batch | " + " | ".join(names) + " |")
        print("|" + " ---: |" * (len(names) + 2))
        for row in report["table"]:
            seconds = row["seconds"]
            cells = []
            for n in names:
                cell = f"{1000 * seconds[n]:,.0f}"
                if ref and n != ref:
                    cell += f" ({seconds[ref] / seconds[n]:.2f}x)"
                cells.append(cell)
            print(f"| {row['length']} | {row['batch_size']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
