"""Estimating memory before allocating it, and refusing what cannot fit.

A model whose weights, or a batch whose activations, need more memory than
the machine has would otherwise run for minutes before the backend fails
with an out-of-memory error that names no argument. The estimates here are
lower bounds (the largest terms only), so a refusal is never a false alarm;
set the environment variable `KERAS_S2S_SKIP_MEMORY_CHECK=1` to skip the
checks (for example where memory is overcommitted on purpose).
"""

import os

SKIP_ENVIRONMENT_VARIABLE = "KERAS_S2S_SKIP_MEMORY_CHECK"
# Bytes per parameter while training with Adam: weights, gradients and the
# two moment estimates.
TRAINING_COPIES = 4
_UNLIMITED = 1 << 62


def format_bytes(size):
    """`size` in bytes as a short human-readable string.

    Example:
    >>> format_bytes(3 * 1024**3)
    '3.0 GiB'
    >>> format_bytes(1.5e16)
    '13.3 PiB'
    """
    size = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} PiB"


def _read_int(path):
    try:
        with open(path, encoding="ascii") as file:
            text = file.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory_bytes():
    """Memory a new allocation can use now, in bytes.

    The smallest of the kernel's `MemAvailable` (`/proc/meminfo`, else
    `os.sysconf`) and the room left under a cgroup memory limit (v2 or v1),
    where those exist. None if none can be read (the checks then pass).
    """
    candidates = []
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(
                os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            )
        except (ValueError, OSError, AttributeError):
            pass
    for limit_path, usage_path in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
         "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        limit, usage = _read_int(limit_path), _read_int(usage_path)
        if limit is not None and usage is not None and limit < _UNLIMITED:
            candidates.append(max(limit - usage, 0))
    return min(candidates) if candidates else None


def _rnn_parameters(cell_type, input_dim, units):
    """Parameters of one Keras GRU / LSTM / SimpleRNN layer (one direction)."""
    gates = {"gru": 3, "lstm": 4}.get(cell_type, 1)
    biases = 2 if cell_type == "gru" else 1  # GRU: reset_after biases.
    return gates * (input_dim * units + units * units + biases * units)


def estimate_backbone_parameters(
    encoder_vocabulary_size,
    decoder_vocabulary_size,
    embedding_dim,
    hidden_dim,
    encoder_hidden_dim,
    cell_type="gru",
    num_encoder_layers=1,
    num_decoder_layers=1,
    bidirectional=True,
    attention_units=None,
    input_feeding=True,
    tie_embeddings=False,
    **unused,
):
    """The parameter count of a `Seq2SeqBackbone`, from its arguments.

    Counts the embeddings, the encoder and decoder RNN layers, the attention
    projections and the output layer (not the small bridge, layer-norm or
    copy-switch weights), so it is a slight under-estimate.

    Returns:
        A list of `(term, argument, count)`: what the parameters are, the
        argument that sizes them most, and how many there are.

    Example:
    >>> terms = estimate_backbone_parameters(100, 100, 8, 16, 8)
    >>> sum(count for _, _, count in terms)
    5680
    """
    directions = 2 if bidirectional else 1
    units = attention_units or hidden_dim
    memory_dim = encoder_hidden_dim * directions
    encoder = 0
    input_dim = embedding_dim
    for _ in range(num_encoder_layers):
        encoder += directions * _rnn_parameters(cell_type, input_dim, encoder_hidden_dim)
        input_dim = memory_dim
    decoder = 0
    input_dim = embedding_dim + (embedding_dim if input_feeding else 0)
    for _ in range(num_decoder_layers):
        decoder += _rnn_parameters(cell_type, input_dim, hidden_dim)
        input_dim = hidden_dim
    attention = hidden_dim * units + memory_dim * units + units
    output = (hidden_dim + memory_dim) * embedding_dim
    embeddings = (encoder_vocabulary_size + decoder_vocabulary_size) * embedding_dim
    projection = 0 if tie_embeddings else decoder_vocabulary_size * embedding_dim
    return [
        ("encoder RNN", "encoder_hidden_dim" if encoder_hidden_dim else "hidden_dim",
         encoder),
        ("decoder RNN", "hidden_dim", decoder),
        ("attention", "attention_units" if attention_units else "hidden_dim",
         attention),
        ("attentional output layer", "hidden_dim", output),
        ("token embeddings", "encoder_vocabulary_size", embeddings),
        ("output projection", "decoder_vocabulary_size", projection),
    ]


def _skip():
    return os.environ.get(SKIP_ENVIRONMENT_VARIABLE, "").strip() not in ("", "0")


def _check_fits(needed, what, advice, available=None):
    if _skip():
        return
    available = available_memory_bytes() if available is None else available
    if available is None or needed <= available:
        return
    raise MemoryError(
        f"{what} needs at least {format_bytes(needed)} of memory, more than the "
        f"{format_bytes(available)} available now. {advice} (To try anyway, "
        f"set the environment variable {SKIP_ENVIRONMENT_VARIABLE}=1.)"
    )


def check_backbone_fits(config, bytes_per_parameter=4, copies=1, available=None):
    """Raises `MemoryError` if a backbone's weights cannot fit in memory.

    Args:
        config: the `Seq2SeqBackbone` arguments (a dict).
        bytes_per_parameter: 4 for float32 variables.
        copies: 1 to build the model, `TRAINING_COPIES` to train it.
        available: bytes available; defaults to `available_memory_bytes()`.

    Raises:
        MemoryError: naming the argument behind the largest term, the
            estimate and the available memory.

    Example:
    >>> config = dict(encoder_vocabulary_size=100, decoder_vocabulary_size=100,
    ...               embedding_dim=8, hidden_dim=10_000_000,
    ...               encoder_hidden_dim=5_000_000)
    >>> check_backbone_fits(config, available=2**30)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    MemoryError: Seq2SeqBackbone(hidden_dim=10000000): about 6.5e+14 parameters ...
    """
    terms = estimate_backbone_parameters(**config)
    total = sum(count for _, _, count in terms)
    term, argument, count = max(terms, key=lambda t: t[2])
    what = (
        f"Seq2SeqBackbone({argument}={config.get(argument)!r}): about "
        f"{total:.2g} parameters ({count:.2g} in the {term})"
    )
    if copies > 1:
        what += f", weights, gradients and optimizer moments ({copies} copies),"
    _check_fits(
        total * bytes_per_parameter * copies,
        what,
        f"Lower {argument} (or the other sizes) to fit this machine.",
        available,
    )


def estimate_generation_bytes(backbone_config, rows, source_length):
    """A lower bound of the memory one generation batch holds.

    Per row (example x beam): the encoder memory and its projected keys
    `(source_length, memory_dim + attention_units)` and the step's logits,
    log-probabilities and candidate scores (three vocabulary-sized float32
    vectors).
    """
    config = backbone_config
    directions = 2 if config.get("bidirectional", True) else 1
    memory_dim = config["encoder_hidden_dim"] * directions
    units = config.get("attention_units") or config["hidden_dim"]
    per_row = source_length * (memory_dim + units) + 3 * config["decoder_vocabulary_size"]
    return 4 * rows * per_row


def estimate_training_activation_bytes(backbone_config, batch_size, source_length,
                                       target_length):
    """A lower bound of the activations a training step keeps for backprop.

    Per example: the encoder outputs `(source_length, memory_dim)`, the
    decoder's per-step states and attention weights `(target_length,
    hidden_dim + source_length)`, and the logits with their softmax and
    gradient `(target_length, 3 * decoder_vocabulary_size)`, in float32.
    """
    config = backbone_config
    directions = 2 if config.get("bidirectional", True) else 1
    memory_dim = config["encoder_hidden_dim"] * directions
    per_example = (
        source_length * memory_dim * config.get("num_encoder_layers", 1)
        + target_length * (config["hidden_dim"] * config.get("num_decoder_layers", 1)
                           + source_length)
        + target_length * 3 * config["decoder_vocabulary_size"]
    )
    return 4 * batch_size * per_example


def check_generation_fits(backbone, batch_size, source_length, argument, value,
                          available=None):
    """Raises `MemoryError` if one generation batch cannot fit in memory.

    Args:
        backbone: a `Seq2SeqBackbone`.
        batch_size: rows searched at once (examples x beams).
        source_length: padded source length.
        argument, value: the user's argument behind `batch_size`, named in
            the message (e.g. `"chunk_size"`).
        available: bytes available; defaults to `available_memory_bytes()`.
    """
    needed = estimate_generation_bytes(backbone.get_config(), batch_size, source_length)
    _check_fits(
        needed,
        f"Generating with {argument}={value!r} ({batch_size} rows with the beams, "
        f"source length {source_length})",
        f"Lower {argument}.",
        available,
    )


def check_training_fits(backbone, batch_size, source_length, target_length,
                        argument="batch_size", available=None):
    """Raises `MemoryError` if training `backbone` on such batches cannot fit.

    Counts the weights with gradients and Adam moments (`TRAINING_COPIES`
    copies) plus `estimate_training_activation_bytes`.
    """
    config = backbone.get_config()
    parameters = sum(count for _, _, count in estimate_backbone_parameters(**config))
    needed = parameters * 4 * TRAINING_COPIES + estimate_training_activation_bytes(
        config, batch_size, source_length, target_length
    )
    _check_fits(
        needed,
        f"Training with {argument}={batch_size} (source length {source_length}, "
        f"target length {target_length}, {parameters:.2g} parameters)",
        f"Lower {argument} or the sequence lengths.",
        available,
    )
