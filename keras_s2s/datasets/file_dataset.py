"""A `tf.data` pipeline that streams parallel text from (sharded) files.

`make_dataset` takes lists in memory; `make_file_dataset` reads the same
pairs from files of any size with memory that does not grow with the corpus:
lines are read as they are needed, tokenized on the fly, shuffled within a
bounded buffer, and batched, bucketed and packed exactly as `make_dataset`
does. tf.data is the engine (it runs under every Keras backend's `fit`, reads
gzip, interleaves shards in parallel and never loads a file whole).
"""

import glob
import os

from keras_s2s.datasets.make_dataset import _check_positive_int
from keras_s2s.datasets.make_dataset import batch_pairs
from keras_s2s.datasets.make_dataset import check_buckets

DEFAULT_SHUFFLE_BUFFER_SIZE = 10_000


def resolve_files(name, patterns):
    """The sorted files that `patterns` (a path, a glob or a list of them) name.

    Raises:
        ValueError: a pattern matches no file (the pattern is named).
    """
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    if not isinstance(patterns, (list, tuple)) or not patterns:
        raise ValueError(
            f"Expected {name} to be a file path, a glob pattern or a non-empty list "
            f"of them. Received: {name}={patterns!r}"
        )
    files = []
    for pattern in patterns:
        pattern = os.fspath(pattern)
        matched = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        matched = [path for path in matched if os.path.isfile(path)]
        if not matched:
            raise ValueError(
                f"{name}: no file matches '{pattern}'. Expected existing text files "
                "(plain or .gz), one sentence per line."
            )
        files.extend(matched)
    return files


def _line_dataset(tf, path):
    compression = tf.where(tf.strings.regex_full_match(path, r".*\.gz"), "GZIP", "")
    return tf.data.TextLineDataset(path, compression_type=compression)


def make_file_dataset(
    source_files,
    target_files,
    preprocessor,
    batch_size=64,
    bucket_boundaries=None,
    bucket_batch_sizes=None,
    max_source_length=None,
    max_target_length=None,
    shuffle=True,
    shuffle_buffer_size=DEFAULT_SHUFFLE_BUFFER_SIZE,
    seed=None,
    epoch=0,
    cycle_length=4,
    drop_remainder=False,
    skip_batches=0,
):
    """Streams `(x, y, sample_weight)` batches from parallel text files.

    Line `i` of a source file pairs with line `i` of the target file at the
    same position in the sorted list of files (shard `k` of the source with
    shard `k` of the target). Files ending in `.gz` are read as gzip.

    Pipeline: the shard pairs (in a shuffled order each epoch when `shuffle`)
    -> `cycle_length` shards read in parallel, interleaved line by line ->
    pairs with an empty side dropped -> pairs longer than
    `max_source_length` / `max_target_length` tokens dropped -> shuffled
    within `shuffle_buffer_size` pairs -> batched (and bucketed by length),
    packed by `preprocessor` and cut to the bucket's width, as in
    `keras_s2s.datasets.make_dataset`. Memory holds the shuffle buffer and a
    few batches, whatever the size of the files.

    With a `seed`, the first pass over the dataset has an order fixed by
    `(seed, epoch)` (later passes reshuffle), so a job that restarts in
    epoch `e` after `n` batches continues where the stream was: build the
    dataset with `epoch=e, skip_batches=n` (the `n` batches are read and
    dropped, not trained on again).

    Args:
        source_files: a path, a glob pattern (`"data/train.*.de.gz"`) or a
            list of them.
        target_files: the same for the targets; as many files as sources.
        preprocessor: a `keras_s2s.models.Seq2SeqLMPreprocessor` (its
            tokenizers count lengths and pack batches).
        batch_size: pairs per batch (per bucket, see `bucket_batch_sizes`).
        bucket_boundaries: increasing token lengths for length bucketing,
            or None.
        bucket_batch_sizes: one batch size per bucket, or None.
        max_source_length: drop pairs whose source has more tokens (None:
            keep, the preprocessor truncates).
        max_target_length: the same for targets.
        shuffle: shuffle shard order and pairs (again each epoch).
        shuffle_buffer_size: pairs held for shuffling.
        seed: seed of every shuffle (None: a new order each run).
        epoch: with a seed, the epoch the first pass is for (see above).
        cycle_length: shards read at once.
        drop_remainder: drop incomplete batches.
        skip_batches: batches to skip at the start (resuming).

    Returns:
        A `tf.data.Dataset` for `model.fit`.

    Raises:
        ValueError: no or missing files, a different number of source and
            target files, bad sizes.
    """
    import tensorflow as tf

    sources = resolve_files("source_files", source_files)
    targets = resolve_files("target_files", target_files)
    if len(sources) != len(targets):
        raise ValueError(
            f"Expected as many target files as source files (one per shard). "
            f"Received {len(sources)} source files and {len(targets)} target files."
        )
    if preprocessor is None:
        raise ValueError("Expected a Seq2SeqLMPreprocessor; received preprocessor=None.")
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("shuffle_buffer_size", shuffle_buffer_size)
    _check_positive_int("cycle_length", cycle_length)
    for name, value in (("max_source_length", max_source_length),
                        ("max_target_length", max_target_length)):
        if value is not None:
            _check_positive_int(name, value)
    if isinstance(skip_batches, bool) or not isinstance(skip_batches, int) or skip_batches < 0:
        raise ValueError(
            f"Expected skip_batches to be a non-negative integer. Received: {skip_batches!r}"
        )
    bucket_boundaries, bucket_batch_sizes = check_buckets(
        bucket_boundaries, bucket_batch_sizes, batch_size
    )

    if seed is not None:
        seed = int(seed) + int(epoch) * 1_000_003
    shards = tf.data.Dataset.from_tensor_slices((sources, targets))
    if shuffle:
        shards = shards.shuffle(len(sources), seed=seed, reshuffle_each_iteration=True)

    def read_shard(source_path, target_path):
        return tf.data.Dataset.zip(
            (_line_dataset(tf, source_path), _line_dataset(tf, target_path))
        )

    ds = shards.interleave(
        read_shard,
        cycle_length=min(cycle_length, len(sources)),
        block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )

    def not_blank(source, target):
        return tf.logical_and(
            tf.strings.length(tf.strings.strip(source)) > 0,
            tf.strings.length(tf.strings.strip(target)) > 0,
        )

    ds = ds.filter(not_blank)
    limits = (
        (max_source_length, preprocessor.encoder_tokenizer, 0),
        (max_target_length, preprocessor.decoder_tokenizer, 1),
    )
    for limit, tokenizer, side in limits:
        if limit is None:
            continue

        def short_enough(source, target, limit=limit, tokenizer=tokenizer, side=side):
            text = (source, target)[side]
            return tf.shape(tokenizer(text), out_type="int32")[0] <= limit

        ds = ds.filter(short_enough)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True)
    ds = batch_pairs(
        ds, preprocessor, batch_size, bucket_boundaries, bucket_batch_sizes, drop_remainder
    )
    if skip_batches:
        ds = ds.skip(skip_batches)
    return ds.prefetch(tf.data.AUTOTUNE)
