"""Writes a deterministic synthetic parallel corpus of any size, in gzip shards.

For scale tests of `keras_s2s.datasets.make_file_dataset` and the trainer:
N sentence pairs whose source lengths follow a log-normal distribution
close to Multi30k's (median 12 words, long tail, 1-60 words), with words
drawn from a Zipf distribution over a synthetic vocabulary; the target is a
fixed word-by-word mapping of the source, reordered in a fixed way (so a
model can learn it). The same arguments always write the same bytes.

    python tools/make_synthetic_corpus.py --pairs 3000000 --shards 30 \\
        --output-dir /tmp/synthetic
    # /tmp/synthetic/train.00.src.gz ... train.29.tgt.gz
"""

import argparse
import gzip
import os

import numpy as np

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def vocabulary(size, seed):
    """`size` distinct pseudo-words of 1-3 syllables."""
    rng = np.random.default_rng(seed)
    words = set()
    while len(words) < size:
        count = int(rng.integers(1, 4))
        words.add("".join(rng.choice(SYLLABLES, count)))
    return sorted(words)


def shard_pairs(count, shard, vocabulary_size, seed):
    """`(sources, targets)`: `count` pairs of shard `shard`, deterministic."""
    rng = np.random.default_rng([seed, shard])
    source_words = np.array(vocabulary(vocabulary_size, seed))
    target_words = np.array(vocabulary(vocabulary_size, seed + 1))
    ranks = np.arange(1, vocabulary_size + 1)
    probabilities = (1.0 / ranks) / np.sum(1.0 / ranks)
    lengths = np.clip(np.rint(rng.lognormal(np.log(12.0), 0.45, count)), 1, 60).astype(int)
    ids = rng.choice(vocabulary_size, size=int(lengths.sum()), p=probabilities)
    sources, targets = [], []
    start = 0
    for length in lengths:
        words = ids[start : start + length]
        start += length
        sources.append(" ".join(source_words[words]) + " .")
        # Target: the mapped words, the first half moved behind the second.
        half = length // 2
        reordered = np.concatenate([words[half:], words[:half]])
        targets.append(" ".join(target_words[reordered]) + " .")
    return sources, targets


def write_corpus(output_dir, pairs, shards, vocabulary_size=20000, seed=0, prefix="train"):
    """Writes `shards` gzip shard pairs; returns the source and target glob patterns."""
    os.makedirs(output_dir, exist_ok=True)
    per_shard = [pairs // shards + (1 if k < pairs % shards else 0) for k in range(shards)]
    for shard, count in enumerate(per_shard):
        sources, targets = shard_pairs(count, shard, vocabulary_size, seed)
        for suffix, lines in (("src", sources), ("tgt", targets)):
            path = os.path.join(output_dir, f"{prefix}.{shard:02d}.{suffix}.gz")
            # mtime=0: the same bytes on every run.
            with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as file:
                file.write(("\n".join(lines) + "\n").encode("utf-8"))
    return (
        os.path.join(output_dir, f"{prefix}.*.src.gz"),
        os.path.join(output_dir, f"{prefix}.*.tgt.gz"),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, required=True)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--vocabulary-size", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    sources, targets = write_corpus(
        args.output_dir, args.pairs, args.shards, args.vocabulary_size, args.seed
    )
    print(f"{args.pairs:,} pairs in {args.shards} shards: {sources} / {targets}")


if __name__ == "__main__":
    main()
