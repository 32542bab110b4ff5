"""A `tf.data` input pipeline from (source, target) string pairs."""


def _check_strings(name, values):
    if isinstance(values, str) or not hasattr(values, "__len__"):
        raise ValueError(
            f"Expected {name} to be a list of strings. Received: {type(values)}"
        )
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise ValueError(
                f"Expected {name} to contain strings. {name}[{index}] is "
                f"{type(value).__name__}: {value!r}"
            )


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"Expected {name} to be a positive integer. Received: {name}={value!r}"
        )


def _trim_to_bucket(tf, widths_encoder, widths_decoder):
    """Returns a map cutting a packed batch to the smallest width that fits."""
    widths_encoder = tf.constant(widths_encoder, dtype="int32")
    widths_decoder = tf.constant(widths_decoder, dtype="int32")

    def width(widths, mask):
        needed = tf.reduce_max(tf.reduce_sum(tf.cast(mask, "int32"), axis=-1))
        index = tf.searchsorted(widths, needed[tf.newaxis], side="left")[0]
        return widths[tf.minimum(index, tf.size(widths) - 1)]

    def trim(x, y, sample_weight):
        encoder = width(widths_encoder, x["encoder_padding_mask"])
        decoder = width(
            widths_decoder,
            x["decoder_padding_mask"] | tf.cast(sample_weight, "bool"),
        )
        x = {
            "encoder_token_ids": x["encoder_token_ids"][:, :encoder],
            "encoder_padding_mask": x["encoder_padding_mask"][:, :encoder],
            "decoder_token_ids": x["decoder_token_ids"][:, :decoder],
            "decoder_padding_mask": x["decoder_padding_mask"][:, :decoder],
        }
        return x, y[:, :decoder], sample_weight[:, :decoder]

    return trim


def make_dataset(
    sources,
    targets,
    preprocessor=None,
    batch_size=32,
    shuffle=False,
    shuffle_buffer_size=None,
    seed=None,
    bucket_boundaries=None,
    bucket_batch_sizes=None,
    drop_remainder=False,
):
    """Builds a batched `tf.data.Dataset` from (source, target) strings.

    Pipeline: pairs -> optional shuffle -> batching (optionally bucketed by
    length) -> `preprocessor` -> prefetch. With a preprocessor the elements
    are `(x, y, sample_weight)` ready for `model.fit`, which accepts
    `tf.data` on the TensorFlow, JAX and PyTorch backends (a
    `keras_s2s.models.Seq2SeqLM` that has the preprocessor attached maps it
    again over `fit` data; packed batches pass through it unchanged).
    Without one they are `{"encoder_text", "decoder_text"}` string batches,
    for a model that preprocesses its data itself.

    Length bucketing groups pairs whose token length (the longer side, as
    counted by the preprocessor's tokenizers; words without a preprocessor)
    falls between the same `bucket_boundaries`, and with a preprocessor
    each packed batch is cut to the smallest boundary that holds it (or the
    preprocessor's sequence length), so short batches carry little padding.
    The batch shapes are then one of a few widths; JAX compiles each once.

    Args:
        sources: list of source strings. An empty source is an error.
        targets: list of target strings, same length.
        preprocessor: a `keras_s2s.models.Seq2SeqLMPreprocessor` (or any
            callable `(source, target) -> (x, y, sample_weight)` usable in
            `Dataset.map`), or None.
        batch_size: int, batch size (default for every bucket).
        shuffle: shuffle the pairs (again each epoch).
        shuffle_buffer_size: defaults to the number of pairs (full shuffle).
        seed: shuffle seed, for reproducible order.
        bucket_boundaries: increasing list of token lengths, or None for
            plain batching.
        bucket_batch_sizes: one batch size per bucket
            (`len(bucket_boundaries) + 1`); defaults to `batch_size` each.
        drop_remainder: drop the last incomplete batch (of each bucket).

    Returns:
        A `tf.data.Dataset`.

    Example:

    >>> ds = make_dataset(["ein Hund", "zwei Katzen", "drei"], ["a dog", "two cats", "three"],
    ...                   batch_size=2)
    >>> [t.decode() for t in next(iter(ds))["decoder_text"].numpy()]
    ['a dog', 'two cats']

    For training, pass the preprocessor and (optionally) bucket by length:
    `make_dataset(sources, targets, preprocessor, batch_size=64,
    shuffle=True, seed=0, bucket_boundaries=[16, 24, 32])`, then
    `model.fit(ds, epochs=10)`.
    """
    import tensorflow as tf

    _check_strings("sources", sources)
    _check_strings("targets", targets)
    if len(sources) != len(targets):
        raise ValueError(
            "Expected as many targets as sources. Received "
            f"{len(sources)} sources and {len(targets)} targets."
        )
    if not sources:
        raise ValueError("Expected at least one (source, target) pair.")
    for index, source in enumerate(sources):
        if not source.strip():
            raise ValueError(
                f"sources[{index}] is empty. Expected non-empty source text in "
                "every pair; drop or fix that pair."
            )
    _check_positive_int("batch_size", batch_size)
    if shuffle_buffer_size is not None:
        _check_positive_int("shuffle_buffer_size", shuffle_buffer_size)
    bucket_boundaries, bucket_batch_sizes = check_buckets(
        bucket_boundaries, bucket_batch_sizes, batch_size
    )

    ds = tf.data.Dataset.from_tensor_slices(
        (tf.constant(list(sources), tf.string), tf.constant(list(targets), tf.string))
    )
    if shuffle:
        ds = ds.shuffle(
            shuffle_buffer_size or len(sources),
            seed=seed,
            reshuffle_each_iteration=True,
        )

    ds = batch_pairs(
        ds, preprocessor, batch_size, bucket_boundaries, bucket_batch_sizes, drop_remainder
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def check_buckets(bucket_boundaries, bucket_batch_sizes, batch_size):
    """Validated `(bucket_boundaries, bucket_batch_sizes)` (None, None: no buckets)."""
    if bucket_boundaries is not None:
        bucket_boundaries = [int(b) for b in bucket_boundaries]
        if not bucket_boundaries or any(b < 1 for b in bucket_boundaries) or any(
            a >= b for a, b in zip(bucket_boundaries, bucket_boundaries[1:])
        ):
            raise ValueError(
                "Expected bucket_boundaries to be a strictly increasing list of "
                f"positive integers. Received: bucket_boundaries={bucket_boundaries}"
            )
        if bucket_batch_sizes is None:
            bucket_batch_sizes = [batch_size] * (len(bucket_boundaries) + 1)
        if len(bucket_batch_sizes) != len(bucket_boundaries) + 1:
            raise ValueError(
                "Expected len(bucket_batch_sizes) == len(bucket_boundaries) + 1 "
                f"= {len(bucket_boundaries) + 1}. Received: "
                f"bucket_batch_sizes={bucket_batch_sizes}"
            )
        for size in bucket_batch_sizes:
            _check_positive_int("bucket_batch_sizes[i]", size)
    elif bucket_batch_sizes is not None:
        raise ValueError("bucket_batch_sizes needs bucket_boundaries.")
    return bucket_boundaries, bucket_batch_sizes


def batch_pairs(ds, preprocessor, batch_size, bucket_boundaries=None,
                bucket_batch_sizes=None, drop_remainder=False):
    """Batches a dataset of `(source, target)` strings and packs the batches.

    The batching, bucketing and packing steps of `make_dataset` (see there),
    shared with `make_file_dataset`.
    """
    import tensorflow as tf

    if bucket_boundaries is None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    else:
        encoder_tokenizer = getattr(preprocessor, "encoder_tokenizer", None)
        decoder_tokenizer = getattr(preprocessor, "decoder_tokenizer", None)

        def length(text, tokenizer):
            if tokenizer is None:
                return tf.size(tf.strings.split(text))
            return tf.shape(tokenizer(text), out_type="int32")[0]

        def element_length(source, target):
            return tf.maximum(
                length(source, encoder_tokenizer), length(target, decoder_tokenizer)
            )

        ds = ds.bucket_by_sequence_length(
            element_length,
            bucket_boundaries=bucket_boundaries,
            bucket_batch_sizes=bucket_batch_sizes,
            drop_remainder=drop_remainder,
        )

    if preprocessor is None:
        ds = ds.map(
            lambda source, target: {"encoder_text": source, "decoder_text": target},
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        ds = ds.map(preprocessor, num_parallel_calls=tf.data.AUTOTUNE)
        encoder_length = getattr(preprocessor, "encoder_sequence_length", None)
        decoder_length = getattr(preprocessor, "decoder_sequence_length", None)
        if bucket_boundaries is not None and encoder_length and decoder_length:
            # +1: the end token (encoder) or start token (decoder).
            def widths(full):
                return [b + 1 for b in bucket_boundaries if b + 1 < full] + [full]

            ds = ds.map(
                _trim_to_bucket(tf, widths(encoder_length), widths(decoder_length)),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
    return ds
