"""Export time, SavedModel size and SavedModel latency of a Seq2SeqLM.

By default builds a random model (seed 0) shaped like the zoo's Multi30k
recipes: a joint SentencePiece vocabulary (`--vocabulary-size`, trained on
the Multi30k en+de training text), embeddings and hidden size 256 (tied),
bidirectional GRU encoder, GRU decoder with Bahdanau attention, sequence
lengths 64; or loads `--preset`. Then, under the current backend:

1. exports it with `keras_s2s.export.export_saved_model` (wall time; a
   TensorFlow subprocess under JAX and PyTorch) and measures the SavedModel
   size on disk;
2. loads it with `tf.saved_model.load` and times `serving_default` on the
   first `--batch-sizes` Multi30k `test_2016_flickr` sources: the first call
   and the median of `--rounds` further calls.

A random model rarely emits the stop token, so every search runs to the
maximum length (the slowest case). `--save-preset DIR` also writes the
random model as a preset, for `tools/export_parity.py` and
`tools/load_test.py`.

    KERAS_S2S_DATA_DIR=/work/shared/data KERAS_BACKEND=tensorflow \\
        python tools/benchmark_export.py --save-preset /tmp/random_en_de
    KERAS_BACKEND=torch python tools/benchmark_export.py --preset /tmp/random_en_de
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

DEFAULT_SAMPLER = {"class_name": "BeamSampler",
                   "config": {"num_beams": 5, "length_penalty": 0.6}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", help="benchmark this preset instead")
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--embedding-dim", type=int, default=256)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--sampler", default=json.dumps(DEFAULT_SAMPLER),
                        help="a sampler name or JSON config")
    parser.add_argument("--batch-sizes", default="1,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument("--save-preset", help="write the random model here")
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args(argv)


def random_model(args):
    import keras

    from keras_s2s import datasets
    from keras_s2s.models import Seq2SeqBackbone
    from keras_s2s.models import Seq2SeqLM
    from keras_s2s.models import Seq2SeqLMPreprocessor
    from keras_s2s.tokenizers import SentencePieceTokenizer
    from keras_s2s.tokenizers import train_sentencepiece

    keras.utils.set_random_seed(0)
    english, german = datasets.load_multi30k("train", "en", "de")
    tokenizer = SentencePieceTokenizer(
        train_sentencepiece(english + german, vocabulary_size=args.vocabulary_size)
    )
    preprocessor = Seq2SeqLMPreprocessor(
        tokenizer=tokenizer,
        encoder_sequence_length=args.sequence_length,
        decoder_sequence_length=args.sequence_length,
    )
    backbone = Seq2SeqBackbone(
        encoder_vocabulary_size=tokenizer.vocabulary_size(),
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        cell_type="gru",
        bidirectional=True,
        attention_type="bahdanau",
        tie_embeddings=True,
    )
    return Seq2SeqLM(backbone, preprocessor=preprocessor)


def directory_size(path):
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def main(argv=None):
    args = parse_args(argv)
    import keras
    import tensorflow as tf

    from keras_s2s import datasets
    from keras_s2s import samplers
    from keras_s2s.export import export_saved_model
    from keras_s2s.models import Seq2SeqLM

    text = args.sampler.strip()
    sampler = samplers.get(json.loads(text) if text.startswith("{") else text)
    if args.preset:
        model = Seq2SeqLM.from_preset(args.preset)
    else:
        start = time.perf_counter()
        model = random_model(args)
        print(f"random model built in {time.perf_counter() - start:.1f} s "
              "(SentencePiece training included)", flush=True)
    model.compile(sampler=sampler)
    if args.save_preset:
        from keras_s2s.training import write_preset

        write_preset(model, args.save_preset, overwrite=True, metadata={
            "task": "translation", "source_language": "en",
            "target_language": "de", "evaluation_search": samplers.serialize(sampler),
            "note": "random weights (tools/benchmark_export.py)",
        })
    sources, _ = datasets.load_multi30k("test_2016_flickr", "en", "de")
    results = {
        "backend": keras.config.backend(),
        "parameters": int(model.count_params()),
        "vocabulary_size": int(model.backbone.decoder_vocabulary_size),
        "sampler": samplers.serialize(sampler),
        "jit_compile": args.jit_compile,
        "latency_seconds": {},
    }
    with tempfile.TemporaryDirectory() as temporary:
        path = os.path.join(temporary, "saved_model")
        start = time.perf_counter()
        export_saved_model(model, path, jit_compile=args.jit_compile)
        results["export_seconds"] = round(time.perf_counter() - start, 2)
        results["saved_model_bytes"] = directory_size(path)
        start = time.perf_counter()
        signature = tf.saved_model.load(path).signatures["serving_default"]
        results["load_seconds"] = round(time.perf_counter() - start, 2)
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            batch = tf.constant(sources[:batch_size])
            start = time.perf_counter()
            signature(inputs=batch)
            first = time.perf_counter() - start
            times = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                signature(inputs=batch)
                times.append(time.perf_counter() - start)
            results["latency_seconds"][str(batch_size)] = {
                "first": round(first, 3), "median": round(statistics.median(times), 3)
            }
    print(f"backend {results['backend']}, {results['parameters']:,} "
          f"parameters, vocabulary {results['vocabulary_size']}, "
          f"{type(sampler).__name__}")
    print(f"export {results['export_seconds']:.1f} s, SavedModel "
          f"{results['saved_model_bytes'] / 2**20:.1f} MiB, load "
          f"{results['load_seconds']:.1f} s")
    for batch_size, latency in results["latency_seconds"].items():
        print(f"batch {batch_size}: first call {latency['first']:.3f} s, then "
              f"{latency['median']:.3f} s ({int(batch_size) / latency['median']:.1f}"
              " sentences/s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)
            file.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
