"""Attention weights of one generated output, and their heatmap."""

import numpy as np
from keras import ops


def import_matplotlib():
    """`matplotlib`, or an `ImportError` that says how to install it."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "Attention plots need matplotlib, which is not installed: "
            "pip install 'keras-s2s[plot]' (or pip install matplotlib)."
        ) from error
    return matplotlib


def _tokens(tokenizer, ids):
    return [str(tokenizer.id_to_token(int(i))) for i in ids]


def attention_weights(model, text, sampler=None, max_length=None):
    """The decoder's attention over the source for one generated output.

    The output is generated with `sampler` (default: the model's compiled
    sampler; an n-best sampler contributes its best hypothesis), then
    replayed one step at a time with `model.call_decoder_step`, which
    returns each step's attention weights.

    Args:
        model: a `keras_s2s.models.Seq2SeqLM` with a preprocessor.
        text: one source string.
        sampler: None, or a sampler name, config or instance for this call.
        max_length: maximum output length in tokens (the start token
            included), or None for the preprocessor's
            `decoder_sequence_length`.

    Returns:
        A tuple `(source_tokens, output_tokens, weights)`: the source's
        subword tokens (the end token included), the output tokens (the
        end token included if one was generated, the start token excluded),
        and a float32 NumPy array `(len(output_tokens), len(source_tokens))`
        whose row `i` is the attention of the step that wrote output token
        `i`; each row sums to 1.

    Example:

    ```python
    model = keras_s2s.models.Seq2SeqLM.from_preset("multi30k_en_de_gru_bahdanau")
    source, output, weights = attention_weights(model, "A dog runs.")
    weights.shape == (len(output), len(source))
    ```
    """
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ValueError(
            "attention_weights() needs a Seq2SeqLM with a preprocessor (it takes "
            "text). Attach a Seq2SeqLMPreprocessor or load a preset."
        )
    if not isinstance(text, str):
        raise ValueError(
            f"Expected text to be one string. Received: {type(text).__name__}"
        )
    inputs = preprocessor.generate_preprocess([text], sequence_length=max_length)
    inputs = {k: np.asarray(ops.convert_to_numpy(v)) for k, v in inputs.items()}
    end = preprocessor.decoder_tokenizer.end_token_id
    # Token ids in, token ids out: the preprocessor is detached for the call.
    model.preprocessor = None
    try:
        outputs = model.generate(inputs, stop_token_ids=[end], sampler=sampler)
    finally:
        model.preprocessor = preprocessor
    # output_ids: (max_length,), the start token first.
    output_ids = np.asarray(ops.convert_to_numpy(outputs["decoder_token_ids"]))[0]
    output_mask = np.asarray(ops.convert_to_numpy(outputs["decoder_padding_mask"]))[0]
    if output_ids.ndim == 2:  # n-best: (num_beams, max_length), best first.
        output_ids, output_mask = output_ids[0], output_mask[0]
    length = int(output_mask.sum())  # Up to and including the stop token.
    source_mask = inputs["encoder_padding_mask"][0].astype(bool)
    source_ids = inputs["encoder_token_ids"][0][source_mask]

    cache = model.build_cache(
        inputs["encoder_token_ids"], inputs["encoder_padding_mask"]
    )
    rows = []
    for position in range(1, length):
        previous = ops.convert_to_tensor(output_ids[position - 1 : position])
        # weights: (1, source_len)
        _, weights, cache = model.call_decoder_step(previous, cache)
        rows.append(np.asarray(ops.convert_to_numpy(weights))[0][source_mask])
    weights = np.zeros((0, len(source_ids)), "float32")
    if rows:
        weights = np.stack(rows).astype("float32")
    return (
        _tokens(preprocessor.encoder_tokenizer, source_ids),
        _tokens(preprocessor.decoder_tokenizer, output_ids[1:length]),
        weights,
    )


def default_figsize(num_source_tokens, num_output_tokens):
    """A figure size in inches that fits the token labels: `(width, height)`."""
    width = min(max(4.0, 0.35 * num_source_tokens + 2.5), 24.0)
    height = min(max(3.0, 0.35 * num_output_tokens + 2.0), 24.0)
    return width, height


def plot_attention_weights(
    weights, source_tokens, output_tokens, figsize=None, dpi=100, cmap="viridis",
    title=None,
):
    """A heatmap of attention weights, output tokens down, source tokens across.

    Args:
        weights: array `(num_output_tokens, num_source_tokens)`.
        source_tokens: labels of the columns (x axis, on top).
        output_tokens: labels of the rows (y axis).
        figsize: `(width, height)` in inches, or None to fit the labels.
            The saved image is `width * dpi` by `height * dpi` pixels (save
            without `bbox_inches="tight"`, which crops).
        dpi: dots per inch of the figure.
        cmap: a matplotlib colormap name.
        title: the figure title, or None.

    Returns:
        A `matplotlib.figure.Figure` (not attached to pyplot; save it with
        `figure.savefig(path)`).

    Example:
    >>> figure = plot_attention_weights(
    ...     np.eye(2), ["a", "b"], ["x", "y"], figsize=(3, 2), dpi=50)
    >>> figure.canvas.get_width_height()
    (150, 100)
    """
    Figure = import_matplotlib().figure.Figure

    weights = np.asarray(weights, dtype="float32")
    expected = (len(output_tokens), len(source_tokens))
    if weights.shape != expected:
        raise ValueError(
            "Expected weights of shape (len(output_tokens), len(source_tokens)) = "
            f"{expected}. Received: weights.shape={weights.shape}"
        )
    if figsize is None:
        figsize = default_figsize(len(source_tokens), len(output_tokens))
    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(weights, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto",
                        interpolation="nearest")
    axes.set_xticks(range(len(source_tokens)), labels=source_tokens, rotation=90)
    axes.set_yticks(range(len(output_tokens)), labels=output_tokens)
    axes.xaxis.tick_top()
    axes.set_xlabel("source")
    axes.xaxis.set_label_position("top")
    axes.set_ylabel("output")
    figure.colorbar(image, ax=axes, label="attention weight")
    if title:
        figure.suptitle(title)
    return figure


def plot_attention(
    model, text, sampler=None, max_length=None, figsize=None, dpi=100,
    cmap="viridis", title=None,
):
    """Generates from one source and plots the attention as a heatmap.

    `attention_weights` then `plot_attention_weights`: output tokens on the
    y axis, source tokens on the x axis, one cell per (step, source token).

    Args:
        model: a `keras_s2s.models.Seq2SeqLM` with a preprocessor.
        text: one source string.
        sampler: None (the compiled sampler) or a sampler name, config or
            instance for this call.
        max_length: maximum output length in tokens, or None.
        figsize: `(width, height)` in inches, or None to fit the labels.
        dpi: dots per inch; the saved PNG is `figsize * dpi` pixels.
        cmap: a matplotlib colormap name.
        title: the figure title, or None.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    ```python
    model = keras_s2s.models.Seq2SeqLM.from_preset("multi30k_en_de_gru_bahdanau")
    figure = keras_s2s.utils.plot_attention(model, "A dog runs.")
    figure.savefig("attention.png")
    ```
    """
    source_tokens, output_tokens, weights = attention_weights(
        model, text, sampler=sampler, max_length=max_length
    )
    return plot_attention_weights(
        weights, source_tokens, output_tokens, figsize=figsize, dpi=dpi, cmap=cmap,
        title=title,
    )
