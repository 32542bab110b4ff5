"""tools/make_synthetic_corpus.py: deterministic, realistic lengths, streamable shards."""

import gzip
import hashlib
import os

import numpy as np

from tests.test_case import load_tool


def _digest(directory):
    digest = hashlib.sha256()
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as file:
            digest.update(name.encode() + file.read())
    return digest.hexdigest()


def test_same_arguments_same_bytes_and_a_caption_like_length_distribution(tmp_path):
    tool = load_tool("make_synthetic_corpus.py")
    sources, targets = tool.write_corpus(str(tmp_path / "a"), 3001, 3, vocabulary_size=500)
    tool.write_corpus(str(tmp_path / "b"), 3001, 3, vocabulary_size=500)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert sources.endswith("train.*.src.gz") and targets.endswith("train.*.tgt.gz")
    lines = {"src": [], "tgt": []}
    for shard in range(3):
        for side in lines:
            with gzip.open(tmp_path / "a" / f"train.{shard:02d}.{side}.gz", "rt") as file:
                lines[side].extend(file.read().splitlines())
    assert len(lines["src"]) == len(lines["tgt"]) == 3001
    lengths = np.array([len(line.split()) - 1 for line in lines["src"]])
    assert 10 <= np.median(lengths) <= 14
    assert lengths.min() >= 1 and lengths.max() <= 60 and np.percentile(lengths, 99) > 20
    # Target = the source's words mapped one to one, so lengths agree.
    assert [len(s.split()) for s in lines["src"]] == [len(t.split()) for t in lines["tgt"]]
