"""Multi-head dot-product attention over an encoder memory."""

import math

import keras
from keras import initializers
from keras import ops

from keras_s2s.layers.masked_softmax import check_attention_ranks
from keras_s2s.layers.masked_softmax import check_built
from keras_s2s.layers.masked_softmax import masked_softmax
from keras_s2s.utils.argument_validation import check_positive_int
from keras_s2s.utils.argument_validation import check_rate


@keras.saving.register_keras_serializable(package="keras_s2s")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention with the interface of the other attention layers.

    Holds a `keras.layers.MultiHeadAttention` (as `attention`) whose output
    projection maps back to `value_dim`, and computes, per head `n`,

    ```
    q_n = query @ W_q[n] + b_q[n]      k_n = value @ W_k[n] + b_k[n]
    weights_n = softmax(q_n . k_n / sqrt(key_dim)) over unmasked positions
    context   = sum_n (weights_n @ (value @ W_v[n] + b_v[n])) @ W_o[n] + b_o
    ```

    which is what the wrapped Keras layer computes, with the same weights.
    The returned weights are the mean of the heads' weights.

    Keras's layer only accepts unprojected keys, so this layer calls its
    public projection sublayers (`query_dense`, `key_dense`, `value_dense`,
    `output_dense`) itself: `precompute_keys(value)` returns the projected
    keys `(batch_size, source_len, num_heads, key_dim)`, and a decoder that
    passes them as `key` projects the memory's keys once per sequence rather
    than once per step (the value projection still runs at every call). The
    scores and the softmax run in float32, padding gets exactly zero weight,
    and an all-padding row gets all-zero weights.

    Args:
        num_heads: positive int, number of attention heads.
        key_dim: positive int, size of each head's query and key.
        value_dim: optional positive int, size of each head's value; defaults
            to `key_dim`.
        dropout: float in `[0, 1)`, dropout rate on the attention weights
            (training only; the returned weights are taken before dropout).
        use_bias: bool, whether the projections have biases. Defaults to
            `True`.
        kernel_initializer: initializer of the projection kernels.
        bias_initializer: initializer of the projection biases.
        seed: optional int, seed of the dropout.
        **kwargs: base layer arguments, such as `name` and `dtype`.

    Call arguments:
        query: `(batch_size, query_dim)` for one decoding step, or
            `(batch_size, target_len, query_dim)` for every step at once.
        value: the memory, `(batch_size, source_len, value_dim)`.
        key: optional `precompute_keys(value)`,
            `(batch_size, source_len, num_heads, key_dim)`; computed from
            `value` when `None`.
        value_mask: optional boolean `(batch_size, source_len)`, `True` for
            real tokens and `False` for padding.
        return_attention_scores: bool, whether to also return the weights.
        training: bool, whether dropout is active.

    Returns:
        The context, `(batch_size, value_dim)` for a rank-2 query or
        `(batch_size, target_len, value_dim)` for a rank-3 query, where
        `value_dim` is the last dimension of `value`. With
        `return_attention_scores=True`, a tuple `(context, weights)` with
        `weights` `(batch_size, source_len)` or
        `(batch_size, target_len, source_len)`, averaged over the heads:
        probabilities that sum to 1 over the unmasked positions and are
        exactly 0 on padding.

    Example:

    >>> layer = keras_s2s.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    >>> query = np.ones((2, 16))
    >>> value = np.ones((2, 5, 32))
    >>> context, weights = layer(query, value, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 32), (2, 5))
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.key_dim = check_positive_int("key_dim", key_dim)
        self.value_dim = check_positive_int("value_dim", value_dim, allow_none=True)
        self.dropout = check_rate("dropout", dropout)
        if not isinstance(use_bias, bool):
            raise ValueError(
                "Expected use_bias to be a bool (True or False). "
                f"Received: use_bias={use_bias!r}"
            )
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.seed = seed
        self.attention = None
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, seed=seed, dtype=self.dtype_policy, name="dropout"
        )

    def build(self, query_shape, value_shape, key_shape=None):
        check_attention_ranks(self.__class__.__name__, query_shape, value_shape)
        # The output projection maps back to the memory's size, which is known
        # only now.
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            value_dim=self.value_dim,
            dropout=self.dropout,
            use_bias=self.use_bias,
            output_shape=(value_shape[-1],),
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            seed=self.seed,
            dtype=self.dtype_policy,
            name="attention",
        )
        # Always built for a rank-3 query: a one-step query is run as a
        # sequence of length 1, so both ranks share the weights.
        self.attention.build(
            (query_shape[0], None, query_shape[-1]), tuple(value_shape)
        )
        self.built = True

    def precompute_keys(self, value):
        """Projects the memory into per-head keys once.

        A pure function of `value` (nothing is stored on the layer). The layer
        must be built first (by calling it once, or `build(query_shape,
        value_shape)`).

        Args:
            value: the memory, `(batch_size, source_len, value_dim)`.

        Returns:
            The keys, `(batch_size, source_len, num_heads, key_dim)`.
        """
        check_built(self)
        return self.attention.key_dense(value)  # (b, S, num_heads, key_dim)

    def call(
        self,
        query,
        value,
        key=None,
        value_mask=None,
        return_attention_scores=False,
        training=None,
    ):
        check_attention_ranks(self.__class__.__name__, query.shape, value.shape)
        single_step = len(query.shape) == 2
        if single_step:
            query = ops.expand_dims(query, 1)  # (batch_size, 1, query_dim)
        if key is None:
            key = self.attention.key_dense(value)  # (b, S, heads, key_dim)
        projected_query = self.attention.query_dense(query)  # (b, T, N, H)
        projected_value = self.attention.value_dense(value)  # (b, S, N, Hv)

        scores = ops.einsum(
            "btnh,bsnh->bnts",
            ops.cast(projected_query, "float32"),
            ops.cast(key, "float32"),
        )  # (batch_size, num_heads, T, S)
        scores = scores / math.sqrt(float(self.key_dim))
        mask = None
        if value_mask is not None:
            mask = ops.expand_dims(ops.expand_dims(value_mask, 1), 1)  # (b, 1, 1, S)
        weights = masked_softmax(scores, mask)  # (batch_size, N, T, S) float32

        dropped = self.dropout_layer(
            ops.cast(weights, self.compute_dtype), training=training
        )
        heads = ops.einsum(
            "bnts,bsnh->btnh", dropped, projected_value
        )  # (batch_size, T, num_heads, value_head_dim)
        context = self.attention.output_dense(heads)  # (b, T, value_dim)
        weights = ops.cast(ops.mean(weights, axis=1), self.compute_dtype)

        if single_step:
            context = ops.squeeze(context, 1)  # (batch_size, value_dim)
            weights = ops.squeeze(weights, 1)  # (batch_size, source_len)
        if return_attention_scores:
            return context, weights
        return context

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": initializers.serialize(
                    self.bias_initializer
                ),
                "seed": self.seed,
            }
        )
        return config
