"""Additive (Bahdanau) attention."""

import math

import keras
from keras import initializers
from keras import ops

from keras_s2s.layers.masked_softmax import check_attention_ranks
from keras_s2s.layers.masked_softmax import check_built
from keras_s2s.layers.masked_softmax import weighted_context
from keras_s2s.utils.argument_validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_s2s")
class BahdanauAttention(keras.layers.Layer):
    """Additive attention (Bahdanau et al., 2015).

    For a query `q` and the keys `k_s = value_s @ key_kernel` of the memory,

    ```
    score(q, s) = v . tanh(q @ query_kernel + k_s)
    weights     = softmax(score) over the unmasked source positions
    context     = sum_s weights_s * value_s
    ```

    With `normalize=True` the score vector is weight-normalized and a bias is
    added inside the `tanh` (Salimans and Kingma, 2016; the normalized form of
    `tfa.seq2seq.BahdanauAttention`):

    ```
    score(q, s) = (g * v / ||v||) . tanh(q @ query_kernel + k_s + b)
    ```

    with a scalar `g` initialized to `sqrt(1 / units)` and `b` to zeros.

    The memory `value` is a call argument, never stored on the layer. A
    decoder that attends to the same memory at every step calls
    `precompute_keys(value)` once and passes the result as `key`, so the memory
    is projected once per sequence rather than once per step. Scores and the
    softmax run in float32; the context is cast back to the compute dtype.

    The weights are `query_dense.kernel` `(query_dim, units)`,
    `key_dense.kernel` `(value_dim, units)`, `attention_v` `(units,)` and, with
    `normalize=True`, `attention_g` `()` and `attention_b` `(units,)`.

    Args:
        units: positive int, size of the hidden layer of the scoring network.
        normalize: bool, whether to weight-normalize the score vector and add
            a bias. Defaults to `False`.
        kernel_initializer: initializer of `query_dense.kernel`,
            `key_dense.kernel` and `attention_v`. Defaults to
            `"glorot_uniform"`.
        **kwargs: base layer arguments, such as `name` and `dtype`.

    Call arguments:
        query: `(batch_size, query_dim)` for one decoding step, or
            `(batch_size, target_len, query_dim)` for every step at once.
        value: the memory, `(batch_size, source_len, value_dim)`.
        key: optional `precompute_keys(value)`,
            `(batch_size, source_len, units)`; computed from `value` when
            `None`.
        value_mask: optional boolean `(batch_size, source_len)`, `True` for
            real tokens and `False` for padding.
        return_attention_scores: bool, whether to also return the weights.
        training: unused; accepted so every attention layer has one call
            signature.

    Returns:
        The context, `(batch_size, value_dim)` for a rank-2 query or
        `(batch_size, target_len, value_dim)` for a rank-3 query. With
        `return_attention_scores=True`, a tuple `(context, weights)` with
        `weights` `(batch_size, source_len)` or
        `(batch_size, target_len, source_len)`: probabilities that sum to 1
        over the unmasked positions and are exactly 0 on padding.

    Example:

    >>> layer = keras_s2s.layers.BahdanauAttention(units=8)
    >>> query = np.ones((2, 16))
    >>> value = np.ones((2, 5, 32))
    >>> context, weights = layer(query, value, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 32), (2, 5))
    """

    def __init__(
        self,
        units,
        normalize=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        if not isinstance(normalize, bool):
            raise ValueError(
                "Expected normalize to be a bool (True or False). "
                f"Received: normalize={normalize!r}"
            )
        self.normalize = normalize
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.query_dense = keras.layers.Dense(
            units,
            use_bias=False,
            kernel_initializer=self._clone_initializer(),
            dtype=self.dtype_policy,
            name="query_dense",
        )
        self.key_dense = keras.layers.Dense(
            units,
            use_bias=False,
            kernel_initializer=self._clone_initializer(),
            dtype=self.dtype_policy,
            name="key_dense",
        )

    def _clone_initializer(self):
        # A fresh instance per weight, so that seeded initializers do not give
        # two weights the same values.
        return self.kernel_initializer.__class__.from_config(
            self.kernel_initializer.get_config()
        )

    def build(self, query_shape, value_shape, key_shape=None):
        check_attention_ranks(self.__class__.__name__, query_shape, value_shape)
        self.query_dense.build(query_shape)
        self.key_dense.build(value_shape)
        # The score-side weights are read in float32 (`autocast=False`).
        self.attention_v = self.add_weight(
            name="attention_v",
            shape=(self.units,),
            initializer=self._clone_initializer(),
            autocast=False,
        )
        if self.normalize:
            self.attention_g = self.add_weight(
                name="attention_g",
                shape=(),
                initializer=initializers.Constant(math.sqrt(1.0 / self.units)),
                autocast=False,
            )
            self.attention_b = self.add_weight(
                name="attention_b",
                shape=(self.units,),
                initializer="zeros",
                autocast=False,
            )
        self.built = True

    def precompute_keys(self, value):
        """Projects the memory once: `value @ key_dense.kernel`.

        A pure function of `value` (nothing is stored on the layer). The layer
        must be built first (by calling it once, or `build(query_shape,
        value_shape)`).

        Args:
            value: the memory, `(batch_size, source_len, value_dim)`.

        Returns:
            The keys, `(batch_size, source_len, units)`.
        """
        check_built(self)
        return self.key_dense(value)  # (batch_size, source_len, units)

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
        value = ops.cast(value, self.compute_dtype)
        if key is None:
            key = self.key_dense(value)  # (batch_size, source_len, units)
        processed_query = self.query_dense(query)  # (batch_size, T, units)

        # hidden: (batch_size, T, source_len, units), in float32.
        hidden = ops.expand_dims(
            ops.cast(processed_query, "float32"), 2
        ) + ops.expand_dims(ops.cast(key, "float32"), 1)
        v = ops.cast(self.attention_v, "float32")
        if self.normalize:
            hidden = hidden + ops.cast(self.attention_b, "float32")
            g = ops.cast(self.attention_g, "float32")
            v = g * v / ops.sqrt(ops.sum(ops.square(v)))
        scores = ops.einsum("btsu,u->bts", ops.tanh(hidden), v)  # (b, T, S)

        context, weights = weighted_context(
            scores, value, value_mask, self.compute_dtype, single_step
        )
        if return_attention_scores:
            return context, weights
        return context

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "normalize": self.normalize,
                "kernel_initializer": initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config

