"""Multiplicative (Luong) attention."""

import keras
from keras import initializers
from keras import ops

from keras_s2s.layers.masked_softmax import check_attention_ranks
from keras_s2s.layers.masked_softmax import check_built
from keras_s2s.layers.masked_softmax import weighted_context
from keras_s2s.utils.argument_validation import check_choice
from keras_s2s.utils.argument_validation import check_positive_int

SCORE_MODES = ("dot", "general", "concat")


@keras.saving.register_keras_serializable(package="keras_s2s")
class LuongAttention(keras.layers.Layer):
    """Global attention of Luong et al. (2015), with its three score functions.

    For a query `q` and the memory `value`, with keys `k = precompute_keys(value)`:

    ```
    "dot":     k_s = value_s                     score = q . k_s
    "general": k_s = value_s @ key_dense.kernel  score = q . k_s
    "concat":  k_s = value_s @ key_dense.kernel  score = v . tanh(q @ query_dense.kernel
                                                                 + k_s)
    weights = softmax(scale * score) over the unmasked source positions
    context = sum_s weights_s * value_s
    ```

    `"general"` is the paper's `q^T W_a value_s`, with `key_dense.kernel` of
    shape `(value_dim, query_dim)` holding `W_a^T`. `"concat"` is the paper's
    `v_a^T tanh(W_a [q; value_s])` with `W_a` split into its query and value
    blocks, so the memory half is projected once by `precompute_keys`. `scale`
    is a learned scalar (initialized to 1) when `use_scale=True`, else 1.

    The memory is a call argument, never stored on the layer. Scores and the
    softmax run in float32; the context is cast back to the compute dtype.

    Args:
        score_mode: one of `"dot"`, `"general"`, `"concat"`. `"dot"` needs
            `query_dim == value_dim`. Defaults to `"dot"`.
        units: positive int, the hidden size of the `"concat"` scoring
            network; required for `"concat"` and must be `None` otherwise.
        use_scale: bool, whether to learn a scalar that multiplies the scores.
            Defaults to `False`.
        kernel_initializer: initializer of the kernels and of `attention_v`.
            Defaults to `"glorot_uniform"`.
        **kwargs: base layer arguments, such as `name` and `dtype`.

    Call arguments:
        query: `(batch_size, query_dim)` for one decoding step, or
            `(batch_size, target_len, query_dim)` for every step at once.
        value: the memory, `(batch_size, source_len, value_dim)`.
        key: optional `precompute_keys(value)`; computed from `value` when
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

    >>> layer = keras_s2s.layers.LuongAttention(score_mode="general")
    >>> query = np.ones((2, 3, 16))
    >>> value = np.ones((2, 5, 32))
    >>> context, weights = layer(query, value, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 3, 32), (2, 3, 5))
    """

    def __init__(
        self,
        score_mode="dot",
        units=None,
        use_scale=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.score_mode = check_choice("score_mode", score_mode, SCORE_MODES)
        if score_mode == "concat":
            if units is None:
                raise ValueError(
                    "score_mode='concat' needs the size of its scoring "
                    "network: pass a positive integer `units`. Received: "
                    "units=None"
                )
            check_positive_int("units", units)
        elif units is not None:
            raise ValueError(
                f"`units` is used only by score_mode='concat'; leave it None "
                f"for score_mode={score_mode!r}. Received: units={units!r}"
            )
        self.units = units
        if not isinstance(use_scale, bool):
            raise ValueError(
                "Expected use_scale to be a bool (True or False). "
                f"Received: use_scale={use_scale!r}"
            )
        self.use_scale = use_scale
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.query_dense = None
        self.key_dense = None

    def _clone_initializer(self):
        # A fresh instance per weight, so that seeded initializers do not give
        # two weights the same values.
        return self.kernel_initializer.__class__.from_config(
            self.kernel_initializer.get_config()
        )

    def _dense(self, units, name):
        return keras.layers.Dense(
            units,
            use_bias=False,
            kernel_initializer=self._clone_initializer(),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, query_shape, value_shape, key_shape=None):
        check_attention_ranks(self.__class__.__name__, query_shape, value_shape)
        query_dim, value_dim = query_shape[-1], value_shape[-1]
        if self.score_mode == "dot" and query_dim != value_dim:
            raise ValueError(
                "score_mode='dot' needs query_dim == value_dim (the score is "
                f"q . value_s). Received: query_dim={query_dim}, "
                f"value_dim={value_dim}. Use score_mode='general' or "
                "'concat' for different sizes."
            )
        if self.score_mode == "general":
            self.key_dense = self._dense(query_dim, "key_dense")
            self.key_dense.build(value_shape)
        elif self.score_mode == "concat":
            self.query_dense = self._dense(self.units, "query_dense")
            self.query_dense.build(query_shape)
            self.key_dense = self._dense(self.units, "key_dense")
            self.key_dense.build(value_shape)
            # Score-side weights are read in float32 (`autocast=False`).
            self.attention_v = self.add_weight(
                name="attention_v",
                shape=(self.units,),
                initializer=self._clone_initializer(),
                autocast=False,
            )
        if self.use_scale:
            self.scale = self.add_weight(
                name="scale", shape=(), initializer="ones", autocast=False
            )
        self.built = True

    def precompute_keys(self, value):
        """Computes the keys of the memory once.

        A pure function of `value` (nothing is stored on the layer). For
        `"general"` and `"concat"` the layer must be built first (by calling
        it once, or `build(query_shape, value_shape)`).

        Args:
            value: the memory, `(batch_size, source_len, value_dim)`.

        Returns:
            The keys: `value` itself for `"dot"`, `(batch_size, source_len,
            query_dim)` for `"general"`, `(batch_size, source_len, units)` for
            `"concat"`.
        """
        if self.score_mode == "dot":
            return ops.cast(value, self.compute_dtype)  # (batch_size, S, value_dim)
        check_built(self)
        return self.key_dense(value)  # (batch_size, source_len, key_dim)

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
            key = self.precompute_keys(value)  # (batch_size, S, key_dim)
        key = ops.cast(key, "float32")

        if self.score_mode == "concat":
            processed_query = self.query_dense(query)  # (batch_size, T, units)
            # hidden: (batch_size, T, source_len, units), in float32.
            hidden = ops.expand_dims(
                ops.cast(processed_query, "float32"), 2
            ) + ops.expand_dims(key, 1)
            v = ops.cast(self.attention_v, "float32")
            scores = ops.einsum("btsu,u->bts", ops.tanh(hidden), v)
        else:
            query = ops.cast(query, "float32")  # (batch_size, T, query_dim)
            scores = ops.einsum("btd,bsd->bts", query, key)  # (b, T, S)
        if self.use_scale:
            scores = scores * ops.cast(self.scale, "float32")

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
                "score_mode": self.score_mode,
                "units": self.units,
                "use_scale": self.use_scale,
                "kernel_initializer": initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
