import keras
from keras import ops

from keras_s2s.utils.argument_validation import check_choice
from keras_s2s.utils.argument_validation import check_positive_int
from keras_s2s.utils.argument_validation import check_rate

CELL_TYPES = ("gru", "lstm", "simple_rnn")

_FUSED_LAYERS = {
    "gru": keras.layers.GRU,
    "lstm": keras.layers.LSTM,
    "simple_rnn": keras.layers.SimpleRNN,
}


def num_cell_states(cell_type):
    """Number of state tensors of a cell type: 2 for LSTM (h, c), else 1."""
    return 2 if cell_type == "lstm" else 1


def _gather_time(x, indices):
    """`x[b, indices[b, t]]` for `x` `(batch_size, time, dim)`."""
    indices = ops.broadcast_to(
        indices[:, :, None], ops.shape(x)
    )  # (batch_size, time, dim)
    return ops.take_along_axis(x, indices, axis=1)


def _state_at_length(outputs, lengths, initial):
    """Each row's output at its last real step (`initial` where length is 0).

    Args:
        outputs: `(batch_size, time, units)`, outputs of an unmasked run.
        lengths: int `(batch_size,)`.
        initial: `(batch_size, units)`, the state before the first step.

    Returns:
        `(batch_size, units)`.
    """
    last = ops.maximum(lengths - 1, 0)  # (batch_size,)
    state = ops.take_along_axis(
        outputs, ops.broadcast_to(last[:, None, None], (ops.shape(outputs)[0], 1,
                                                        ops.shape(outputs)[2])),
        axis=1,
    )[:, 0]  # (batch_size, units)
    return ops.where((lengths > 0)[:, None], state, ops.cast(initial, state.dtype))


def _lstm_cell_state_at_length(cell, inputs, outputs, lengths, h0, c0):
    """An LSTM's cell state after each row's last real step, in parallel.

    A fused LSTM run without a mask returns the hidden states `h_t` of every
    step but only the cell state of the last (padded) step. With `h_{t-1}`
    known for every step, the input, forget and candidate gates of all steps
    come from two batched matrix products, and `c_t = f_t c_{t-1} + i_t g_t`
    is a linear recurrence: with `f = 1` and `i g = 0` after each row's
    length, `c_T = sum_s (prod_{r > s} f_r) i_s g_s + (prod_r f_r) c_0`.

    Args:
        cell: the layer's `keras.layers.LSTMCell` (gate order i, f, c, o).
        inputs: `(batch_size, time, input_dim)`, in processing order.
        outputs: `(batch_size, time, units)`, the unmasked run's `h_t`.
        lengths: int `(batch_size,)`.
        h0: `(batch_size, units)`, c0: `(batch_size, units)`, initial states.

    Returns:
        `(batch_size, units)`, float32 (the recurrence is summed in float32).
    """
    units = cell.units
    time = ops.shape(outputs)[1]
    h0 = ops.cast(h0, outputs.dtype)
    # previous: (batch_size, time, units), h_{t-1} for every step t.
    previous = ops.concatenate([h0[:, None, :], outputs[:, :-1]], axis=1)
    kernel = ops.cast(cell.kernel[:, : 3 * units], inputs.dtype)
    recurrent = ops.cast(cell.recurrent_kernel[:, : 3 * units], inputs.dtype)
    # z: (batch_size, time, 3 * units), gates i, f, c before activation.
    z = ops.matmul(inputs, kernel) + ops.matmul(previous, recurrent)
    if cell.use_bias:
        z = z + ops.cast(cell.bias[: 3 * units], z.dtype)
    z = ops.cast(z, "float32")
    i = cell.recurrent_activation(z[..., :units])
    f = cell.recurrent_activation(z[..., units : 2 * units])
    g = cell.activation(z[..., 2 * units :])
    real = (ops.arange(time)[None, :] < lengths[:, None])[:, :, None]
    f = ops.where(real, f, 1.0)  # (batch_size, time, units)
    update = ops.where(real, i * g, 0.0)  # (batch_size, time, units)
    # suffix[:, s] = prod_{r >= s} f_r; after[:, s] = prod_{r > s} f_r.
    suffix = ops.flip(ops.cumprod(ops.flip(f, axis=1), axis=1), axis=1)
    after = ops.concatenate([suffix[:, 1:], ops.ones_like(suffix[:, :1])], axis=1)
    return ops.sum(after * update, axis=1) + suffix[:, 0] * ops.cast(c0, "float32")


def _run_unmasked(layer, inputs, lengths, cell_type, go_backwards):
    """One direction of a fused layer on right-padded `inputs`, no mask.

    The forward direction runs the batch as it is: padding comes after each
    row's real steps, so the outputs at real positions are those of a masked
    run, and the final state is the output at the row's last real step. The
    backward direction (`layer.go_backwards=True`, which reverses the time
    axis itself) is given each row rolled so that, once reversed, the row's
    real steps come first in reverse order and its padding after them.

    Returns:
        `(outputs, states)`: `outputs` `(batch_size, time, units)` in the
        original time order, zero at padded positions, and the final states
        (`[h]`, or `[h, c]` for LSTM).
    """
    time = ops.shape(inputs)[1]
    positions = ops.arange(time)[None, :]  # (1, time)
    if go_backwards:
        # rolled[b, t] = inputs[b, (t + L_b) mod T]; reversed by the layer,
        # step j reads inputs[b, L_b - 1 - j].
        inputs = _gather_time(inputs, (positions + lengths[:, None]) % time)
    outputs = layer(inputs)
    sequence, states = outputs[0], list(outputs[1:])  # processing order
    batch_size = ops.shape(inputs)[0]
    zeros = ops.zeros((batch_size, layer.cell.units), dtype=sequence.dtype)
    h = _state_at_length(sequence, lengths, zeros)
    if cell_type == "lstm":
        processed = ops.flip(inputs, axis=1) if go_backwards else inputs
        c = _lstm_cell_state_at_length(
            layer.cell, processed, sequence, lengths, zeros, zeros
        )
        states = [h, ops.cast(c, h.dtype)]
    else:
        states = [h]
    if go_backwards:
        # Original position p was step L_b - 1 - p.
        sequence = _gather_time(sequence, (lengths[:, None] - 1 - positions) % time)
    real = positions < lengths[:, None]  # (batch_size, time)
    sequence = sequence * ops.cast(real[:, :, None], sequence.dtype)
    return sequence, states


def fused_rnn_layer(cell_type, units, **kwargs):
    """Keras's fused recurrent layer (cuDNN on GPU) for `cell_type`.

    Under JAX, LSTM layers keep Keras's `lax.scan` kernel
    (`use_cudnn=False`): trained through Keras 3.15's JAX cuDNN LSTM path
    (`jax.experimental.rnn`) on an H200, the Multi30k German-English
    LSTM + Luong model stayed at 15 validation BLEU where its GRU twin, on the
    scan kernel, reached 39.7 in the same 25 epochs. Layer by layer
    (`tools/benchmark_fused_rnn.py` on an H100) the two kernels agree to
    1e-4 in outputs and gradients, initial states included, and cuDNN is no
    faster under JAX at these sizes (0.90-1.19x), so the scan costs nothing.
    """
    if cell_type == "lstm" and keras.backend.backend() == "jax":
        kwargs.setdefault("use_cudnn", False)
    return _FUSED_LAYERS[cell_type](units, **kwargs)


@keras.saving.register_keras_serializable(package="keras_s2s")
class RNNEncoder(keras.layers.Layer):
    """Token embedding followed by stacked, optionally bidirectional RNN layers.

    The recurrent layers are Keras's fused `keras.layers.GRU`, `LSTM` or
    `SimpleRNN` (wrapped in `keras.layers.Bidirectional` when
    `bidirectional=True`), so the cuDNN kernel is used on GPU whenever Keras's
    cuDNN conditions hold (default activations, `recurrent_dropout=0`,
    `unroll=False`, `use_bias=True`, and, for GRU, `reset_after=True`).

    **Padding.** JAX and PyTorch leave their fused kernels (cuDNN, and the
    GRU/LSTM kernels that project all inputs at once) for a per-step loop
    whenever a mask is passed. So by default (`mask_rnn=False`) the layers
    run without a mask on the right-padded batch: padding comes after each
    row's real tokens, so the forward outputs at real positions are those of
    a masked run and the final state is read at each row's length; the
    backward direction is given each row with its real tokens reversed
    within its length (padding still last). Only the attention masks the
    padding. An LSTM's final cell state, which the fused layer returns only
    for the last (padded) step, is recomputed from the hidden states of every
    step by two batched matrix products and a parallel linear recurrence.
    Memory and final states equal those of the masked layers (to float
    rounding); the memory is zero at padded positions. `mask_rnn=True` passes
    the mask to the layers instead, for batches that are not right-padded.

    Args:
        vocabulary_size: int. Size of the source vocabulary.
        embedding_dim: int. Size of the token embeddings.
        hidden_dim: int. Units of each recurrent layer, per direction.
        cell_type: one of `"gru"`, `"lstm"`, `"simple_rnn"`.
        num_layers: int. Number of stacked recurrent layers.
        bidirectional: bool. Whether every layer reads the sequence in both
            directions (outputs and states of the two directions are
            concatenated).
        dropout: float in [0, 1). Dropout on the embeddings and between layers.
        embeddings_initializer: initializer of the embedding matrix.
        mask_rnn: bool. Pass the padding mask to the recurrent layers (their
            masked step loop) rather than run them unmasked on the
            right-padded batch (see "Padding" above).

    Call arguments:
        token_ids: int tensor `(batch_size, source_len)`, right-padded.
        padding_mask: bool tensor `(batch_size, source_len)`, True on real
            tokens. Defaults to all True.
        training: bool, whether dropout is active.

    Returns:
        A tuple `(memory, padding_mask, final_states)`: `memory` is
        `(batch_size, source_len, directions * hidden_dim)`, `padding_mask` is
        the bool mask of `memory`, and `final_states` is a list with one entry
        per layer, each a list of the layer's final state tensors (`[h]`, or
        `[h, c]` for LSTM), each `(batch_size, directions * hidden_dim)`, the
        two directions concatenated.

    Example:
    >>> encoder = RNNEncoder(vocabulary_size=10, embedding_dim=4, hidden_dim=3)
    >>> memory, mask, states = encoder(np.array([[3, 4, 5, 0]]))
    >>> tuple(memory.shape), len(states), tuple(states[0][0].shape)
    ((1, 4, 6), 1, (1, 6))
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim,
        hidden_dim,
        cell_type="gru",
        num_layers=1,
        bidirectional=True,
        dropout=0.0,
        embeddings_initializer="uniform",
        mask_rnn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.cell_type = check_choice("cell_type", cell_type, CELL_TYPES)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bidirectional = bool(bidirectional)
        self.dropout = check_rate("dropout", dropout)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.mask_rnn = bool(mask_rnn)

        self.token_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=self.embeddings_initializer,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.rnn_layers = []
        for i in range(num_layers):
            layer = fused_rnn_layer(
                cell_type,
                hidden_dim,
                return_sequences=True,
                return_state=True,
                dtype=self.dtype_policy,
                name=f"{cell_type}_{i}",
            )
            if bidirectional:
                layer = keras.layers.Bidirectional(
                    layer, dtype=self.dtype_policy, name=f"bidirectional_{i}"
                )
            self.rnn_layers.append(layer)

    @property
    def output_dim(self):
        """Feature size of the memory: `directions * hidden_dim`."""
        return self.hidden_dim * (2 if self.bidirectional else 1)

    def build(self, token_ids_shape, padding_mask_shape=None):
        self.token_embedding.build(token_ids_shape)
        batch_size, source_len = token_ids_shape[0], token_ids_shape[1]
        input_dim = self.embedding_dim
        for layer in self.rnn_layers:
            layer.build((batch_size, source_len, input_dim))
            input_dim = self.output_dim
        self.built = True

    def call(self, token_ids, padding_mask=None, training=None):
        if len(token_ids.shape) != 2:
            raise ValueError(
                "Expected `token_ids` of rank 2 (batch_size, source_len). "
                f"Received shape: {tuple(token_ids.shape)}"
            )
        if "int" not in keras.backend.standardize_dtype(token_ids.dtype):
            raise ValueError(
                "Expected integer `token_ids`. "
                f"Received dtype: {keras.backend.standardize_dtype(token_ids.dtype)}"
            )
        if padding_mask is None:
            padding_mask = ops.ones_like(token_ids, dtype="bool")
        padding_mask = ops.cast(padding_mask, "bool")
        # x: (batch_size, source_len, embedding_dim)
        x = self.dropout_layer(self.token_embedding(token_ids), training=training)
        final_states = []
        states_per_direction = num_cell_states(self.cell_type)
        lengths = ops.sum(ops.cast(padding_mask, "int32"), axis=1)  # (batch_size,)
        for i, layer in enumerate(self.rnn_layers):
            if self.mask_rnn:
                outputs = layer(x, mask=padding_mask, training=training)
                # x: (batch_size, source_len, directions * hidden_dim)
                x, states = outputs[0], list(outputs[1:])
                x = x * ops.cast(padding_mask[:, :, None], x.dtype)
            else:
                x, states = self._call_unmasked(layer, x, lengths)
            if self.bidirectional:
                forward = states[:states_per_direction]
                backward = states[states_per_direction:]
                states = [
                    ops.concatenate([f, b], axis=-1) for f, b in zip(forward, backward)
                ]
            final_states.append(states)
            if i < self.num_layers - 1:
                x = self.dropout_layer(x, training=training)
        return x, padding_mask, final_states

    def _call_unmasked(self, layer, x, lengths):
        """One layer without a mask; returns `(outputs, states)` as Keras."""
        if not self.bidirectional:
            return _run_unmasked(layer, x, lengths, self.cell_type, False)
        forward, forward_states = _run_unmasked(
            layer.forward_layer, x, lengths, self.cell_type, False
        )
        backward, backward_states = _run_unmasked(
            layer.backward_layer, x, lengths, self.cell_type, True
        )
        # outputs: (batch_size, source_len, 2 * hidden_dim)
        outputs = ops.concatenate(
            [ops.cast(forward, self.compute_dtype), ops.cast(backward, self.compute_dtype)],
            axis=-1,
        )
        return outputs, forward_states + backward_states

    def compute_output_shape(self, token_ids_shape, padding_mask_shape=None):
        batch_size, source_len = token_ids_shape[0], token_ids_shape[1]
        state_shape = (batch_size, self.output_dim)
        states = [
            [state_shape] * num_cell_states(self.cell_type)
            for _ in range(self.num_layers)
        ]
        return (
            (batch_size, source_len, self.output_dim),
            (batch_size, source_len),
            states,
        )

    def compute_output_spec(self, token_ids, padding_mask=None, training=None):
        memory_shape, mask_shape, state_shapes = self.compute_output_shape(
            token_ids.shape
        )
        return (
            keras.KerasTensor(memory_shape, dtype=self.compute_dtype),
            keras.KerasTensor(mask_shape, dtype="bool"),
            [
                [keras.KerasTensor(s, dtype=self.compute_dtype) for s in layer]
                for layer in state_shapes
            ],
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "cell_type": self.cell_type,
                "num_layers": self.num_layers,
                "bidirectional": self.bidirectional,
                "dropout": self.dropout,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
                "mask_rnn": self.mask_rnn,
            }
        )
        return config
