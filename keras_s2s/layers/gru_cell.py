"""Gated recurrent unit cell with optional layer normalization."""

import keras
from keras import activations
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

# `DropoutRNNCell` is the mixin that `keras.layers.RNN` recognises: before its
# time loop the layer asks the cell for its dropout masks, so a mask is drawn
# once per sequence and reused at every step. Under JAX the loop is a traced
# `lax.scan`; drawing the mask inside it would make a new mask at trace time
# only (and leak a tracer into the cell), so the masks must exist beforehand.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from keras_s2s.layers.recurrent_cell_utils import layer_norm_blocks
from keras_s2s.utils.argument_validation import check_positive_int
from keras_s2s.utils.argument_validation import check_rate


@keras.saving.register_keras_serializable(package="keras_s2s")
class GRUCell(keras.layers.Layer, DropoutRNNCell):
    """GRU cell (Cho et al., 2014), weight-compatible with Keras.

    With `W = kernel`, `U = recurrent_kernel` split into the three gate blocks
    in the order update, reset, candidate (`z, r, h`), `sigma =
    recurrent_activation` and `phi = activation`, one step computes

    ```
    z_t = sigma(x_t @ W_z + b_z + h_{t-1} @ U_z + b'_z)
    r_t = sigma(x_t @ W_r + b_r + h_{t-1} @ U_r + b'_r)
    reset_after=True:   g_t = phi(x_t @ W_h + b_h + r_t * (h_{t-1} @ U_h + b'_h))
    reset_after=False:  g_t = phi(x_t @ W_h + b_h + (r_t * h_{t-1}) @ U_h)
    h_t = z_t * h_{t-1} + (1 - z_t) * g_t
    ```

    and returns `h_t` as output and new state. `reset_after=True` (the
    default) applies the reset gate after the recurrent matrix product, as
    cuDNN does; it has an input bias `b` and a recurrent bias `b'`, stored
    together as `bias` of shape `(2, 3 * units)` (row 0 is `b`, row 1 is
    `b'`). `reset_after=False` is the original formulation, with one `bias` `b`
    of shape `(3 * units,)` (and `b' = 0` above). The other weights are `kernel`
    `(input_dim, 3 * units)` and `recurrent_kernel` `(units, 3 * units)`; order,
    names and shapes are those of `keras.layers.GRUCell`, so `get_weights()` /
    `set_weights()` move weights between this cell, Keras's cell and the fused
    `keras.layers.GRU` with the same `reset_after`.

    With `layer_normalization=True` (Ba et al., 2016), every matrix product
    above is layer-normalized per gate block and scaled by a gain, before any
    bias is added and before the reset gate multiplies it:

    ```
    x_t @ W_k                ->  LN(x_t @ W_k) * input_norm_gamma_k
    h_{t-1} @ U_k            ->  LN(h_{t-1} @ U_k) * recurrent_norm_gamma_k
    (r_t * h_{t-1}) @ U_h    ->  LN((r_t * h_{t-1}) @ U_h) * recurrent_norm_gamma_h
    ```

    for the blocks `k` in `z, r, h` (with `reset_after=False` the candidate
    block uses the third line instead of the second).
    `LN(a) = (a - mean(a)) / sqrt(var(a) + layer_norm_epsilon)` is taken over
    the `units` features of each gate block separately (each gate has its own
    statistics). The normalization has gains only, since an offset would
    duplicate the biases. The gains `input_norm_gamma` and
    `recurrent_norm_gamma`, of shape `(3 * units,)` in `z, r, h` order, come
    after the Keras weights.

    Dropout masks are drawn once per sequence and shared by every time step
    (Gal and Ghahramani, 2016); one mask on `x_t` (`dropout`) and one on
    `h_{t-1}` where it enters the recurrent products (`recurrent_dropout`)
    serve all three gates, only when `training=True`. Code that steps the cell
    itself, rather than through `keras.layers.RNN`, with dropout should call
    `get_dropout_mask(x_0)` and `get_recurrent_dropout_mask(h_0)` before its
    loop and `reset_dropout_mask()` / `reset_recurrent_dropout_mask()` after
    it.

    Args:
        units: positive int, dimensionality of the output and state.
        activation: `phi`, activation of the candidate. Defaults to `"tanh"`;
            `None` means linear.
        recurrent_activation: `sigma`, activation of the gates. Defaults to
            `"sigmoid"`.
        use_bias: bool, whether to add biases. Defaults to `True`.
        kernel_initializer: initializer of `kernel`.
        recurrent_initializer: initializer of `recurrent_kernel`.
        bias_initializer: initializer of `bias`.
        kernel_regularizer: optional regularizer of `kernel`.
        recurrent_regularizer: optional regularizer of `recurrent_kernel`.
        bias_regularizer: optional regularizer of `bias`.
        kernel_constraint: optional constraint on `kernel`.
        recurrent_constraint: optional constraint on `recurrent_kernel`.
        bias_constraint: optional constraint on `bias`.
        dropout: float in `[0, 1)`, dropout rate on the inputs.
        recurrent_dropout: float in `[0, 1)`, dropout rate on `h_{t-1}`.
        reset_after: bool, where the reset gate is applied (see above).
            Defaults to `True`.
        seed: optional int, seed of the dropout masks.
        layer_normalization: bool, whether to layer-normalize as described
            above. Defaults to `False`.
        layer_norm_epsilon: float added to the variance in layer normalization.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor of shape `(batch_size, input_dim)`, one time step.
        states: list holding the previous state of shape
            `(batch_size, units)`, or that tensor alone.
        training: bool, whether to apply dropout.

    Returns:
        `(output, new_states)`: the output of shape `(batch_size, units)` and
        the new state, a list holding the output (or the tensor alone when
        `states` was passed as a tensor).

    Example:

    >>> cell = keras_s2s.layers.GRUCell(4)
    >>> rnn = keras.layers.RNN(cell, return_sequences=True)
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        reset_after=True,
        seed=None,
        layer_normalization=False,
        layer_norm_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate(
            "recurrent_dropout", recurrent_dropout
        )
        self.reset_after = bool(reset_after)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.layer_normalization = bool(layer_normalization)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, 3 * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 3 * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            # Row 0: input bias, row 1: recurrent bias (as in Keras and cuDNN).
            bias_shape = (
                (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            )
            self.bias = self.add_weight(
                shape=bias_shape,
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        if self.layer_normalization:
            self.input_norm_gamma = self.add_weight(
                shape=(3 * self.units,),
                name="input_norm_gamma",
                initializer="ones",
            )
            self.recurrent_norm_gamma = self.add_weight(
                shape=(3 * self.units,),
                name="recurrent_norm_gamma",
                initializer="ones",
            )

    def _normalize(self, x, gamma, num_blocks):
        if not self.layer_normalization:
            return x
        return layer_norm_blocks(x, gamma, num_blocks, self.layer_norm_epsilon)

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h_tm1 = states[0] if nested else states  # (batch_size, units)
        units = self.units
        input_bias, recurrent_bias = None, None
        if self.use_bias:
            if self.reset_after:
                input_bias, recurrent_bias = self.bias[0], self.bias[1]
            else:
                input_bias = self.bias
        input_gamma = recurrent_gamma = None
        if self.layer_normalization:
            input_gamma = self.input_norm_gamma
            recurrent_gamma = self.recurrent_norm_gamma

        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        h_in = h_tm1
        if training and self.recurrent_dropout > 0.0:
            h_in = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)

        x_proj = ops.matmul(inputs, self.kernel)  # (batch_size, 3 * units)
        x_proj = self._normalize(x_proj, input_gamma, 3)
        if input_bias is not None:
            x_proj = x_proj + input_bias
        x_z = x_proj[:, :units]  # (batch_size, units)
        x_r = x_proj[:, units : 2 * units]
        x_h = x_proj[:, 2 * units :]

        if self.reset_after:
            h_proj = ops.matmul(h_in, self.recurrent_kernel)  # (batch_size, 3 * units)
            h_proj = self._normalize(h_proj, recurrent_gamma, 3)
            if recurrent_bias is not None:
                h_proj = h_proj + recurrent_bias
            h_z = h_proj[:, :units]  # (batch_size, units)
            h_r = h_proj[:, units : 2 * units]
            z = self.recurrent_activation(x_z + h_z)
            r = self.recurrent_activation(x_r + h_r)
            h_h = r * h_proj[:, 2 * units :]
        else:
            h_proj = ops.matmul(
                h_in, self.recurrent_kernel[:, : 2 * units]
            )  # (batch_size, 2 * units)
            h_proj = self._normalize(
                h_proj,
                None if recurrent_gamma is None else recurrent_gamma[: 2 * units],
                2,
            )
            z = self.recurrent_activation(x_z + h_proj[:, :units])
            r = self.recurrent_activation(x_r + h_proj[:, units:])
            h_h = ops.matmul(
                r * h_in, self.recurrent_kernel[:, 2 * units :]
            )  # (batch_size, units)
            h_h = self._normalize(
                h_h,
                None if recurrent_gamma is None else recurrent_gamma[2 * units :],
                1,
            )
        candidate = self.activation(x_h + h_h)  # (batch_size, units)
        h = z * h_tm1 + (1.0 - z) * candidate  # (batch_size, units)
        return h, ([h] if nested else h)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(
                    self.recurrent_activation
                ),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(
                    self.kernel_initializer
                ),
                "recurrent_initializer": initializers.serialize(
                    self.recurrent_initializer
                ),
                "bias_initializer": initializers.serialize(
                    self.bias_initializer
                ),
                "kernel_regularizer": regularizers.serialize(
                    self.kernel_regularizer
                ),
                "recurrent_regularizer": regularizers.serialize(
                    self.recurrent_regularizer
                ),
                "bias_regularizer": regularizers.serialize(
                    self.bias_regularizer
                ),
                "kernel_constraint": constraints.serialize(
                    self.kernel_constraint
                ),
                "recurrent_constraint": constraints.serialize(
                    self.recurrent_constraint
                ),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "reset_after": self.reset_after,
                "seed": self.seed,
                "layer_normalization": self.layer_normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
