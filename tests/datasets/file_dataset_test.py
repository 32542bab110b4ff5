"""`make_file_dataset`: the pairs of (sharded, gzip) files, streamed and packed."""

import gzip
import os

import numpy as np
import pytest

from keras_s2s.datasets import make_dataset
from keras_s2s.datasets import make_file_dataset
from keras_s2s.models import Seq2SeqLMPreprocessor
from keras_s2s.tokenizers import SentencePieceTokenizer
from keras_s2s.tokenizers import train_sentencepiece

WORDS = "a dog cat man woman runs plays sleeps in the snow park house red big small".split()


def _pairs(count, seed=0):
    rng = np.random.default_rng(seed)
    pairs = []
    for index in range(count):
        length = int(rng.integers(2, 12))
        source = " ".join(rng.choice(WORDS, length)) + f" {index}"
        pairs.append((source, source.upper()))
    return pairs


def _write_shards(directory, pairs, shards):
    """Writes `shards` source/target file pairs; even shards gzip, odd plain."""
    for shard in range(shards):
        part = pairs[shard::shards]
        for side, suffix in ((0, "src"), (1, "tgt")):
            text = "".join(pair[side] + "\n" for pair in part).encode("utf-8")
            path = os.path.join(directory, f"train.{shard:02d}.{suffix}")
            if shard % 2 == 0:
                with gzip.open(path + ".gz", "wb") as file:
                    file.write(text)
            else:
                with open(path, "wb") as file:
                    file.write(text)
    return os.path.join(directory, "train.*.src*"), os.path.join(directory, "train.*.tgt*")


@pytest.fixture
def preprocessor():
    # Built in each test, after the random seed is set: `tf.random.set_seed`
    # clears TensorFlow's op caches, SentencePiece resources included.
    texts = [text for pair in _pairs(200) for text in pair]
    tokenizer = SentencePieceTokenizer(train_sentencepiece(texts, vocabulary_size=60))
    return Seq2SeqLMPreprocessor(
        tokenizer=tokenizer, encoder_sequence_length=24, decoder_sequence_length=24
    )


def _source_rows(dataset):
    """Every encoder row of a dataset, as a tuple of ids without padding."""
    rows = []
    for x, _, _ in dataset:
        for row in np.asarray(x["encoder_token_ids"]):
            rows.append(tuple(int(i) for i in row if i != 0))
    return rows


def _expected_rows(pairs, preprocessor):
    sources, targets = [p[0] for p in pairs], [p[1] for p in pairs]
    return _source_rows(make_dataset(sources, targets, preprocessor, batch_size=64))


def test_every_pair_of_every_shard_once_per_epoch(tmp_path, preprocessor):
    pairs = _pairs(103)
    sources, targets = _write_shards(str(tmp_path), pairs, shards=4)
    dataset = make_file_dataset(
        sources, targets, preprocessor, batch_size=8, seed=3, bucket_boundaries=[6, 10]
    )
    expected = sorted(_expected_rows(pairs, preprocessor))
    assert len(expected) == 103
    for _ in range(2):
        assert sorted(_source_rows(dataset)) == expected


def test_same_batches_as_make_dataset_without_shuffling(tmp_path, preprocessor):
    pairs = _pairs(40)
    sources, targets = _write_shards(str(tmp_path), pairs, shards=1)
    streamed = make_file_dataset(sources, targets, preprocessor, batch_size=8, shuffle=False)
    in_memory = make_dataset(
        [p[0] for p in pairs], [p[1] for p in pairs], preprocessor, batch_size=8
    )
    for (x1, y1, w1), (x2, y2, w2) in zip(streamed, in_memory):
        for key in x1:
            np.testing.assert_array_equal(np.asarray(x1[key]), np.asarray(x2[key]))
        np.testing.assert_array_equal(np.asarray(y1), np.asarray(y2))
        np.testing.assert_array_equal(np.asarray(w1), np.asarray(w2))


def test_seeded_stream_resumes_after_skipped_batches(tmp_path, preprocessor):
    sources, targets = _write_shards(str(tmp_path), _pairs(90), shards=3)

    def stream(**kwargs):
        dataset = make_file_dataset(
            sources, targets, preprocessor, batch_size=8, seed=5, epoch=2, **kwargs
        )
        return [np.asarray(x["encoder_token_ids"]) for x, _, _ in dataset]

    full = stream()
    assert len(full) == 12
    resumed = stream(skip_batches=5)
    assert len(resumed) == len(full) - 5
    for mine, theirs in zip(resumed, full[5:]):
        np.testing.assert_array_equal(mine, theirs)
    other_epoch = make_file_dataset(
        sources, targets, preprocessor, batch_size=8, seed=5, epoch=3
    )
    first = np.asarray(next(iter(other_epoch))[0]["encoder_token_ids"])
    assert not np.array_equal(first, full[0])


def test_blank_and_over_long_pairs_are_dropped(tmp_path, preprocessor):
    pairs = [("a dog runs", "A DOG RUNS"), ("   ", "X"), ("a cat", ""),
             (" ".join(WORDS), " ".join(WORDS).upper())]
    sources, targets = _write_shards(str(tmp_path), pairs, shards=1)
    tokens = len(preprocessor.encoder_tokenizer(pairs[0][0]))
    dataset = make_file_dataset(
        sources, targets, preprocessor, batch_size=8, shuffle=False,
        max_source_length=tokens + 2,
    )
    assert _source_rows(dataset) == _expected_rows(pairs[:1], preprocessor)


def test_bad_file_arguments_name_the_problem(tmp_path, preprocessor):
    sources, targets = _write_shards(str(tmp_path), _pairs(10), shards=2)
    with pytest.raises(ValueError, match="no file matches '.*nothing.*'"):
        make_file_dataset(str(tmp_path / "nothing*"), targets, preprocessor)
    with pytest.raises(ValueError, match="2 source files and 1 target files"):
        make_file_dataset(sources, str(tmp_path / "train.00.tgt.gz"), preprocessor)
    with pytest.raises(ValueError, match="skip_batches"):
        make_file_dataset(sources, targets, preprocessor, skip_batches=-1)


def test_fit_trains_on_the_stream(tmp_path, preprocessor):
    from keras_s2s.models import Seq2SeqBackbone
    from keras_s2s.models import Seq2SeqLM

    sources, targets = _write_shards(str(tmp_path), _pairs(64), shards=2)
    backbone = Seq2SeqBackbone(
        encoder_vocabulary_size=preprocessor.encoder_tokenizer.vocabulary_size(),
        embedding_dim=8, hidden_dim=8,
    )
    model = Seq2SeqLM(backbone, preprocessor=preprocessor)
    model.compile(optimizer="adam")
    dataset = make_file_dataset(
        sources, targets, preprocessor, batch_size=16, seed=1, bucket_boundaries=[8]
    )
    history = model.fit(dataset, epochs=2, verbose=0)
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[1] < losses[0]
