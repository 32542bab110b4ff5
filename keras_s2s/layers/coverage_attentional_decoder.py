"""A Bahdanau decoder whose attention sees the coverage vector."""

import keras
from keras import ops

from keras_s2s.layers.attentional_decoder import AttentionalDecoder


@keras.saving.register_keras_serializable(package="keras_s2s")
class CoverageAttentionalDecoder(AttentionalDecoder):
    """`AttentionalDecoder` with coverage (Tu et al., 2016; See et al., 2017).

    The coverage vector `c_t = sum_{t' < t} a_t'` (attention already spent
    on each source position) enters the additive attention score:

    ```
    score(s_{t-1}, j) = v . tanh(W_q s_{t-1} + W_k h_j + w_c c_tj)
    ```

    implemented by adding `c_tj * w_c` to the precomputed keys of each step,
    so `BahdanauAttention` is used unchanged. The coverage is part of the
    decoding state (`state["coverage"]`, `(batch_size, source_len)`), so
    beam search tiles and reorders it with the RNN states. Teacher forcing
    steps `step()` with `keras.ops.scan`, giving generation's values exactly.
    The extra weight is `coverage_kernel` `(1, attention_units)`.

    Only `attention_type="bahdanau"` is supported. The coverage loss itself
    is `keras_s2s.layers.CoverageLoss`, applied to the returned weights.

    Args:
        Those of `AttentionalDecoder`.

    Call arguments:
        Those of `AttentionalDecoder`.

    Returns:
        A tuple `(outputs, attention_weights)`: `(batch_size, target_len,
        output_dim)` and `(batch_size, target_len, source_len)`.

    Example:
    >>> decoder = keras_s2s.layers.CoverageAttentionalDecoder(
    ...     hidden_dim=8, output_dim=6)
    >>> outputs, weights = decoder(np.ones((2, 3, 4)), np.ones((2, 5, 8)))
    >>> tuple(outputs.shape), tuple(weights.shape)
    ((2, 3, 6), (2, 3, 5))
    """

    def __init__(self, hidden_dim, output_dim, attention_type="bahdanau", **kwargs):
        if attention_type != "bahdanau":
            raise ValueError(
                "Expected attention_type in {'bahdanau'} for a coverage "
                f"decoder. Received: attention_type={attention_type!r}"
            )
        super().__init__(
            hidden_dim, output_dim, attention_type=attention_type, **kwargs
        )

    def build(self, inputs_shape, memory_shape=None, *args, **kwargs):
        self.coverage_kernel = self.add_weight(
            name="coverage_kernel",
            shape=(1, self.attention_units or self.hidden_dim),
            initializer="glorot_uniform",
        )
        super().build(inputs_shape, memory_shape, *args, **kwargs)

    def get_initial_state(self, initial_state, memory):
        """The state of `AttentionalDecoder` plus zero coverage.

        Returns:
            A dict `{"rnn": ..., "coverage": (batch_size, source_len)}`.
        """
        state = super().get_initial_state(initial_state, memory)
        state["coverage"] = ops.zeros(ops.shape(memory)[:2], dtype=self.compute_dtype)
        return state

    def step(self, inputs, state, memory, keys, memory_mask, dropout_masks=None):
        """One decoding step; also adds the step's weights to the coverage.

        See `AttentionalDecoder.step`; `state` carries `"coverage"`.
        """
        coverage = state["coverage"]  # (batch_size, source_len)
        # covered_keys: (batch_size, source_len, units)
        covered_keys = keys + ops.expand_dims(
            ops.cast(coverage, keys.dtype), -1
        ) * ops.cast(self.coverage_kernel, keys.dtype)
        base_state = {k: v for k, v in state.items() if k != "coverage"}
        output, weights, new_state = super().step(
            inputs, base_state, memory, covered_keys, memory_mask, dropout_masks
        )
        new_state = dict(new_state)
        new_state["coverage"] = coverage + ops.cast(weights, coverage.dtype)
        return output, weights, new_state

    def _call_stepping(self, inputs, memory, keys, memory_mask, initial_state, training):
        batch_size = ops.shape(inputs)[0]
        state = self.get_initial_state(initial_state, memory)
        rnn_input_dim = inputs.shape[-1] + memory.shape[-1]
        dropout_masks = self._dropout_masks(batch_size, rnn_input_dim, training)
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
                "output": ops.cast(output, self.compute_dtype),
                "weights": ops.cast(weights, self.compute_dtype),
            }
            return new_carry, new_carry

        # time_major: (target_len, batch_size, embedding_dim)
        time_major = ops.transpose(inputs, (1, 0, 2))
        _, stacked = ops.scan(step_fn, carry, time_major)
        outputs = ops.transpose(stacked["output"], (1, 0, 2))
        weights = ops.transpose(stacked["weights"], (1, 0, 2))
        return outputs, weights
