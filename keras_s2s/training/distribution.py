"""Data-parallel training on the backends' own engines.

The one training module that imports a backend: `tf.distribute` under
TensorFlow. JAX goes through `keras.distribution`; PyTorch has no engine
here (use one process per device with PyTorch's own tools).
"""

import contextlib

import keras

DISTRIBUTIONS = ("data_parallel",)


def check_distribution(distribution):
    """Validates a distribution name for the current backend.

    Args:
        distribution: None (one device) or `"data_parallel"`.

    Returns:
        `distribution`.

    Raises:
        ValueError: an unknown name, or a distribution on PyTorch.
    """
    if distribution is None:
        return None
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"Expected distribution in {{None, {', '.join(repr(d) for d in DISTRIBUTIONS)}}}. "
            f"Received: distribution={distribution!r}"
        )
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ValueError(
            f"distribution={distribution!r} runs on JAX "
            "(keras.distribution.DataParallel) or TensorFlow "
            f"(tf.distribute.MirroredStrategy); the {backend} backend has no "
            "distribution engine here. Set KERAS_BACKEND=jax or tensorflow, or "
            "train on one device (distribution=None)."
        )
    return distribution


def distribution_devices():
    """The devices data-parallel training uses: every accelerator, else every CPU.

    Returns:
        A list of device names: JAX's (`"gpu:0"`, ...) or TensorFlow's
        logical devices (`"/device:GPU:0"`, ...). On a machine without
        accelerators these are the CPU devices (several only when set up,
        e.g. `XLA_FLAGS=--xla_force_host_platform_device_count=2` for JAX or
        `tf.config.set_logical_device_configuration` for TensorFlow).
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices(
            "CPU"
        )
        return [device.name for device in devices]
    return keras.distribution.list_devices()


@contextlib.contextmanager
def distribution_scope(distribution):
    """Builds, compiles and trains the models created inside on many devices.

    `"data_parallel"` replicates every variable on every device of
    `distribution_devices()` and splits each batch along its first axis:
    under JAX with `keras.distribution.DataParallel` (one SPMD program, the
    gradients of the whole batch), under TensorFlow with
    `tf.distribute.MirroredStrategy` (one replica per device, gradients
    summed across replicas). A step on a batch of `batch_size` examples is
    the step one device takes on the same batch, up to float rounding. The
    batch size must be divisible by the number of devices.

    Args:
        distribution: None (a no-op scope) or `"data_parallel"`.

    Yields:
        The number of devices (1 without a distribution).

    Example:

    ```python
    with distribution_scope("data_parallel") as num_devices:
        model = Seq2SeqLM(Seq2SeqBackbone(...))
        model.compile()
        model.fit(dataset)
    ```
    """
    if check_distribution(distribution) is None:
        yield 1
        return
    devices = distribution_devices()
    if keras.backend.backend() == "jax":
        engine = keras.distribution.DataParallel(devices=devices)
        with engine.scope():
            yield len(devices)
        return
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():
        yield strategy.num_replicas_in_sync


def prepare_distributed_dataset(dataset, distribution):
    """Adapts a `tf.data` training dataset to `distribution`.

    Under TensorFlow with a distribution, boolean tensors (the padding
    masks) become int8: Keras 3.15's TensorFlow trainer averages a first
    distributed batch across replicas to build the model, which fails on
    booleans. The model's boolean inputs cast them back. Otherwise the
    dataset is returned unchanged.

    Args:
        dataset: a `tf.data.Dataset` of `(x, y, sample_weight)` batches.
        distribution: None or `"data_parallel"`.

    Returns:
        A `tf.data.Dataset`.
    """
    if distribution is None or keras.backend.backend() != "tensorflow":
        return dataset
    import tensorflow as tf

    def cast(*batch):
        return tf.nest.map_structure(
            lambda t: tf.cast(t, "int8") if t.dtype == tf.bool else t, batch
        )

    return dataset.map(cast)
