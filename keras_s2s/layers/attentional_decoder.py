import keras
from keras import ops

from keras_s2s.layers.rnn_encoder import CELL_TYPES
from keras_s2s.layers.rnn_encoder import fused_rnn_layer
from keras_s2s.layers.rnn_encoder import num_cell_states
from keras_s2s.utils.argument_validation import check_choice
from keras_s2s.utils.argument_validation import check_positive_int
from keras_s2s.utils.argument_validation import check_rate

ATTENTION_TYPES = ("bahdanau", "luong", "multi_head")
LUONG_SCORE_MODES = ("dot", "general", "concat")


def _make_cell(cell_type, units, layer_normalization, dtype, name):
    from keras_s2s.layers.gru_cell import GRUCell
    from keras_s2s.layers.lstm_cell import LSTMCell
    from keras_s2s.layers.simple_rnn_cell import SimpleRNNCell

    cell_class = {"gru": GRUCell, "lstm": LSTMCell, "simple_rnn": SimpleRNNCell}
    return cell_class[cell_type](
        units, layer_normalization=layer_normalization, dtype=dtype, name=name
    )


def _make_attention(attention_type, score_mode, units, num_heads, dtype):
    if attention_type == "bahdanau":
        from keras_s2s.layers.bahdanau_attention import BahdanauAttention

        return BahdanauAttention(units, dtype=dtype, name="attention")
    if attention_type == "luong":
        from keras_s2s.layers.luong_attention import LuongAttention

        return LuongAttention(
            score_mode=score_mode,
            units=units if score_mode == "concat" else None,
            dtype=dtype,
            name="attention",
        )
    from keras_s2s.layers.multi_head_attention import MultiHeadAttention

    return MultiHeadAttention(
        num_heads=num_heads, key_dim=units // num_heads, dtype=dtype, name="attention"
    )


def _spec(shape, dtype):
    return keras.KerasTensor(tuple(shape), dtype=dtype)


@keras.saving.register_keras_serializable(package="keras_s2s")
class AttentionalDecoder(keras.layers.Layer):
    """Recurrent decoder that attends over the encoder's memory.

    Two classic wirings, chosen by `attention_type`:

    - **Bahdanau** (`"bahdanau"`, Bahdanau et al. 2015): at step `t` the
      previous top-layer state `s_{t-1}` queries the memory, the context `c_t`
      is concatenated to the input embedding `e_t`, the RNN steps, and the
      output is `o_t = tanh(W_o [s_t; c_t; e_t])`.
    - **Luong** (`"luong"` with `score_mode` dot/general/concat, or
      `"multi_head"`, Luong et al. 2015): the RNN steps first, `s_t` queries
      the memory and `o_t = tanh(W_c [c_t; s_t])` (the "attentional vector").
      With `input_feeding=True`, `o_{t-1}` is concatenated to `e_t`.

    `o_t` has `output_dim` features (a deep-output layer; the model projects it
    to the vocabulary, optionally with the tied embedding matrix).

    **Fast path.** The Luong decoder without input feeding and without layer
    normalization runs Keras's fused `GRU`/`LSTM`/`SimpleRNN` over the whole
    target at once (cuDNN on GPU) and attends for all steps in one batched
    call. The other configurations step a `keras_s2s.layers` cell with
    `keras.ops.scan`; the memory keys are projected once per sequence
    (`precompute_keys`), not once per step.

    Args:
        hidden_dim: int. Units of each recurrent layer.
        output_dim: int. Size of the output vectors `o_t`.
        cell_type: one of `"gru"`, `"lstm"`, `"simple_rnn"`.
        num_layers: int. Stacked recurrent layers.
        attention_type: one of `"bahdanau"`, `"luong"`, `"multi_head"`.
        score_mode: Luong score, one of `"dot"`, `"general"`, `"concat"`.
        attention_units: int. Hidden size of additive scores and of the
            multi-head projections. Defaults to `hidden_dim`.
        num_heads: int. Heads of `"multi_head"` attention.
        input_feeding: bool. Luong-style input feeding (ignored by Bahdanau,
            whose RNN input always carries the context).
        dropout: float in [0, 1). Dropout on the inputs, between layers and on
            the outputs; masks are drawn once per sequence.
        layer_normalization: bool. Layer-normalized cells (stepping path).

    Call arguments:
        inputs: float tensor `(batch_size, target_len, embedding_dim)`, the
            embedded (teacher-forced) decoder inputs.
        memory: float tensor `(batch_size, source_len, memory_dim)`.
        memory_mask: bool tensor `(batch_size, source_len)`, True on real
            source tokens.
        initial_state: list with one entry per layer, each a list of state
            tensors `(batch_size, hidden_dim)` (`[h]`, or `[h, c]` for LSTM).
            Defaults to zeros.
        training: bool, whether dropout is active.

    Returns:
        A tuple `(outputs, attention_weights)` with `outputs`
        `(batch_size, target_len, output_dim)` and `attention_weights`
        `(batch_size, target_len, source_len)`.
    """

    def __init__(
        self,
        hidden_dim,
        output_dim,
        cell_type="gru",
        num_layers=1,
        attention_type="bahdanau",
        score_mode="general",
        attention_units=None,
        num_heads=4,
        input_feeding=True,
        dropout=0.0,
        layer_normalization=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.output_dim = check_positive_int("output_dim", output_dim)
        self.cell_type = check_choice("cell_type", cell_type, CELL_TYPES)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.attention_type = check_choice(
            "attention_type", attention_type, ATTENTION_TYPES
        )
        self.score_mode = check_choice("score_mode", score_mode, LUONG_SCORE_MODES)
        self.attention_units = check_positive_int(
            "attention_units", attention_units, allow_none=True
        )
        self.num_heads = check_positive_int("num_heads", num_heads)
        units = attention_units or hidden_dim
        if attention_type == "multi_head" and units % num_heads:
            raise ValueError(
                "Expected attention_units (default: hidden_dim) to be divisible "
                f"by num_heads. Received: attention_units={units}, "
                f"num_heads={num_heads}"
            )
        self.input_feeding = bool(input_feeding)
        self.dropout = check_rate("dropout", dropout)
        self.layer_normalization = bool(layer_normalization)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

        self.is_bahdanau = attention_type == "bahdanau"
        self.feeds_input = self.input_feeding and not self.is_bahdanau
        self.uses_fused_rnn = not (
            self.is_bahdanau or self.input_feeding or self.layer_normalization
        )
        self.num_states = num_cell_states(cell_type)

        if self.uses_fused_rnn:
            self.rnn_layers = [
                fused_rnn_layer(
                    cell_type,
                    hidden_dim,
                    return_sequences=True,
                    return_state=True,
                    dtype=self.dtype_policy,
                    name=f"{cell_type}_{i}",
                )
                for i in range(num_layers)
            ]
            self.cells = []
        else:
            self.rnn_layers = []
            self.cells = [
                _make_cell(
                    cell_type,
                    hidden_dim,
                    layer_normalization,
                    self.dtype_policy,
                    f"{cell_type}_cell_{i}",
                )
                for i in range(num_layers)
            ]
        self.attention = _make_attention(
            attention_type, score_mode, units, num_heads, self.dtype_policy
        )
        self.output_dense = keras.layers.Dense(
            output_dim, activation="tanh", dtype=self.dtype_policy, name="output_dense"
        )
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    # ------------------------------------------------------------------ build

    def build(self, inputs_shape, memory_shape=None, *args, **kwargs):
        if memory_shape is None:
            raise ValueError(
                "AttentionalDecoder needs the encoder memory to build: call it "
                "as decoder(inputs, memory, memory_mask=..., initial_state=...)."
            )
        batch_size = inputs_shape[0]
        embedding_dim = inputs_shape[-1]
        memory_dim = memory_shape[-1]
        dtype = self.compute_dtype
        rnn_input_dim = embedding_dim
        if self.is_bahdanau:
            rnn_input_dim += memory_dim
        elif self.feeds_input:
            rnn_input_dim += self.output_dim
        input_dim = rnn_input_dim
        for i in range(self.num_layers):
            if self.uses_fused_rnn:
                self.rnn_layers[i].build((batch_size, None, input_dim))
            else:
                self.cells[i].build((batch_size, input_dim))
            input_dim = self.hidden_dim
        # Build the attention symbolically with a one-step query.
        self.attention(
            _spec((batch_size, self.hidden_dim), dtype),
            _spec(memory_shape, dtype),
            value_mask=_spec(memory_shape[:2], "bool"),
        )
        readout_dim = self.hidden_dim + memory_dim
        if self.is_bahdanau:
            readout_dim += embedding_dim
        self.output_dense.build((batch_size, readout_dim))
        self.built = True

    # ------------------------------------------------------------------ state

    def get_initial_state(self, initial_state, memory):
        """The decoding state before the first step, as a pytree.

        Args:
            initial_state: per-layer list of state tensors, or None for zeros.
            memory: `(batch_size, source_len, memory_dim)`.

        Returns:
            A dict `{"rnn": [[h] or [h, c] per layer]}`, with `"feed"`
            `(batch_size, output_dim)` zeros when input feeding is on.
        """
        batch_size = ops.shape(memory)[0]
        if initial_state is None:
            zeros = ops.zeros((batch_size, self.hidden_dim), dtype=self.compute_dtype)
            initial_state = [[zeros] * self.num_states for _ in range(self.num_layers)]
        if len(initial_state) != self.num_layers:
            raise ValueError(
                f"Expected initial_state for {self.num_layers} decoder layer(s). "
                f"Received states for {len(initial_state)} layer(s)."
            )
        state = {"rnn": [list(s) for s in initial_state]}
        if self.feeds_input:
            state["feed"] = ops.zeros(
                (batch_size, self.output_dim), dtype=self.compute_dtype
            )
        return state

    # ------------------------------------------------------------------- step

    def _dropout_masks(self, batch_size, rnn_input_dim, training):
        """Per-sequence dropout masks for the stepping path (or None)."""
        if not training or self.dropout == 0.0:
            return None
        dims = [rnn_input_dim] + [self.hidden_dim] * (self.num_layers - 1)
        ones = [ops.ones((batch_size, d), dtype=self.compute_dtype) for d in dims]
        return [
            keras.random.dropout(o, self.dropout, seed=self.seed_generator)
            for o in ones
        ]

    @property
    def step_cells(self):
        """The cells that one decoding step runs, one per layer.

        On the fused path these are the cells of the fused layers, so
        training (fused) and generation (stepping) share the same weights.
        """
        if self.uses_fused_rnn:
            return [layer.cell for layer in self.rnn_layers]
        return self.cells

    def _run_cells(self, x, rnn_state, dropout_masks=None):
        new_state = []
        for i, cell in enumerate(self.step_cells):
            if dropout_masks is not None:
                x = x * dropout_masks[i]
            x, states = cell(x, rnn_state[i])
            new_state.append(list(states) if isinstance(states, (list, tuple)) else [states])
        return x, new_state

    def step(self, inputs, state, memory, keys, memory_mask, dropout_masks=None):
        """One decoding step (used by `call` and by generation).

        Args:
            inputs: `(batch_size, embedding_dim)`, the embedded previous token.
            state: the decoding state pytree (see `get_initial_state`).
            memory: `(batch_size, source_len, memory_dim)`.
            keys: `self.attention.precompute_keys(memory)`.
            memory_mask: bool `(batch_size, source_len)`.
            dropout_masks: optional per-sequence masks (training only).

        Returns:
            A tuple `(output, attention_weights, new_state)`: `output` is
            `(batch_size, output_dim)`, `attention_weights`
            `(batch_size, source_len)`.
        """
        if self.is_bahdanau:
            query = state["rnn"][-1][0]
            # context: (batch_size, memory_dim), weights: (batch_size, source_len)
            context, weights = self.attention(
                query, memory, key=keys, value_mask=memory_mask,
                return_attention_scores=True,
            )
            rnn_input = ops.concatenate([inputs, context], axis=-1)
            top, rnn_state = self._run_cells(rnn_input, state["rnn"], dropout_masks)
            # output: (batch_size, output_dim)
            output = self.output_dense(ops.concatenate([top, context, inputs], axis=-1))
        else:
            rnn_input = inputs
            if self.feeds_input:
                rnn_input = ops.concatenate([inputs, state["feed"]], axis=-1)
            top, rnn_state = self._run_cells(rnn_input, state["rnn"], dropout_masks)
            context, weights = self.attention(
                top, memory, key=keys, value_mask=memory_mask,
                return_attention_scores=True,
            )
            output = self.output_dense(ops.concatenate([context, top], axis=-1))
        new_state = {"rnn": rnn_state}
        if self.feeds_input:
            new_state["feed"] = output
        return output, weights, new_state

    # ------------------------------------------------------------------- call

    def call(self, inputs, memory, memory_mask=None, initial_state=None, training=None):
        if len(inputs.shape) != 3:
            raise ValueError(
                "Expected decoder `inputs` of rank 3 (batch_size, target_len, "
                f"embedding_dim). Received shape: {tuple(inputs.shape)}"
            )
        if memory_mask is None:
            memory_mask = ops.ones(ops.shape(memory)[:2], dtype="bool")
        memory_mask = ops.cast(memory_mask, "bool")
        inputs = self.dropout_layer(inputs, training=training)
        keys = self.attention.precompute_keys(memory)
        if self.uses_fused_rnn:
            outputs, weights = self._call_fused(
                inputs, memory, keys, memory_mask, initial_state, training
            )
        else:
            outputs, weights = self._call_stepping(
                inputs, memory, keys, memory_mask, initial_state, training
            )
        return self.dropout_layer(outputs, training=training), weights

    def _call_fused(self, inputs, memory, keys, memory_mask, initial_state, training):
        state = self.get_initial_state(initial_state, memory)["rnn"]
        x = inputs
        for i, layer in enumerate(self.rnn_layers):
            if i > 0:
                x = self.dropout_layer(x, training=training)
            # x: (batch_size, target_len, hidden_dim)
            x = layer(x, initial_state=state[i], training=training)[0]
        # context: (batch_size, target_len, memory_dim)
        # weights: (batch_size, target_len, source_len)
        context, weights = self.attention(
            x, memory, key=keys, value_mask=memory_mask, return_attention_scores=True
        )
        # outputs: (batch_size, target_len, output_dim)
        outputs = self.output_dense(ops.concatenate([context, x], axis=-1))
        return outputs, weights

    def _call_stepping(self, inputs, memory, keys, memory_mask, initial_state, training):
        batch_size = ops.shape(inputs)[0]
        state = self.get_initial_state(initial_state, memory)
        rnn_input_dim = inputs.shape[-1] + (
            memory.shape[-1]
            if self.is_bahdanau
            else (self.output_dim if self.feeds_input else 0)
        )
        dropout_masks = self._dropout_masks(batch_size, rnn_input_dim, training)
        # A subclass with its own `step` is stepped through it.
        if self.is_bahdanau and type(self).step is AttentionalDecoder.step:
            return self._call_bahdanau(
                inputs, memory, keys, memory_mask, state, dropout_masks
            )
        # The scan carries the step's output and attention weights too:
        # TensorFlow's `scan` needs each step's result to match the carry.
        carry = {
            "state": state,
            "output": ops.zeros((batch_size, self.output_dim), dtype=self.compute_dtype),
            "weights": ops.zeros(ops.shape(memory)[:2], dtype=self.compute_dtype),
        }

        def step_fn(carry, x_t):
            output, weights, new_state = self.step(
                x_t, carry["state"], memory, keys, memory_mask, dropout_masks
            )
            new_carry = {
                "state": new_state,
                "output": output,
                "weights": ops.cast(weights, self.compute_dtype),
            }
            return new_carry, new_carry

        # time_major: (target_len, batch_size, embedding_dim)
        time_major = ops.transpose(inputs, (1, 0, 2))
        _, stacked = ops.scan(step_fn, carry, time_major)
        outputs = ops.transpose(stacked["output"], (1, 0, 2))
        weights = ops.transpose(stacked["weights"], (1, 0, 2))
        return outputs, weights

    def _call_bahdanau(self, inputs, memory, keys, memory_mask, state, dropout_masks):
        """Teacher-forced Bahdanau decoding: only the recurrence is stepped.

        The output `o_t = tanh(W_o [s_t; c_t; e_t])` does not feed back into
        the recurrence, so the scan steps attention and cells only and the
        output layer runs once over all steps (the same values as `step`).
        """
        batch_size = ops.shape(inputs)[0]
        carry = {
            "state": state["rnn"],
            "top": ops.zeros((batch_size, self.hidden_dim), dtype=self.compute_dtype),
            "context": ops.zeros(
                (batch_size, memory.shape[-1]), dtype=self.compute_dtype
            ),
            "weights": ops.zeros(ops.shape(memory)[:2], dtype=self.compute_dtype),
        }

        def step_fn(carry, x_t):
            # context: (batch_size, memory_dim), weights: (batch_size, source_len)
            context, weights = self.attention(
                carry["state"][-1][0], memory, key=keys, value_mask=memory_mask,
                return_attention_scores=True,
            )
            context = ops.cast(context, self.compute_dtype)
            rnn_input = ops.concatenate([x_t, context], axis=-1)
            top, rnn_state = self._run_cells(rnn_input, carry["state"], dropout_masks)
            new_carry = {
                "state": rnn_state,
                "top": top,
                "context": context,
                "weights": ops.cast(weights, self.compute_dtype),
            }
            return new_carry, new_carry

        # time_major: (target_len, batch_size, embedding_dim)
        time_major = ops.transpose(inputs, (1, 0, 2))
        _, stacked = ops.scan(step_fn, carry, time_major)
        # tops: (batch_size, target_len, hidden_dim)
        tops = ops.transpose(stacked["top"], (1, 0, 2))
        # contexts: (batch_size, target_len, memory_dim)
        contexts = ops.transpose(stacked["context"], (1, 0, 2))
        weights = ops.transpose(stacked["weights"], (1, 0, 2))
        # outputs: (batch_size, target_len, output_dim)
        outputs = self.output_dense(ops.concatenate([tops, contexts, inputs], axis=-1))
        return outputs, weights

    def compute_output_spec(
        self, inputs, memory, memory_mask=None, initial_state=None, training=None
    ):
        batch_size, target_len = inputs.shape[0], inputs.shape[1]
        return (
            _spec((batch_size, target_len, self.output_dim), self.compute_dtype),
            _spec((batch_size, target_len, memory.shape[1]), self.compute_dtype),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "output_dim": self.output_dim,
                "cell_type": self.cell_type,
                "num_layers": self.num_layers,
                "attention_type": self.attention_type,
                "score_mode": self.score_mode,
                "attention_units": self.attention_units,
                "num_heads": self.num_heads,
                "input_feeding": self.input_feeding,
                "dropout": self.dropout,
                "layer_normalization": self.layer_normalization,
                "seed": self.seed,
            }
        )
        return config
