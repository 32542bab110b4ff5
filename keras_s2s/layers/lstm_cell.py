"""Long short-term memory cell with optional layer normalization."""

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
class LSTMCell(keras.layers.Layer, DropoutRNNCell):
    """LSTM cell (Hochreiter and Schmidhuber, 1997), weight-compatible with Keras.

    One step computes, with `W = kernel`, `U = recurrent_kernel`, `b = bias`
    split into the four gate blocks in the order input, forget, candidate,
    output (`i, f, c, o`), `sigma = recurrent_activation` and
    `phi = activation`:

    ```
    i_t = sigma(x_t @ W_i + h_{t-1} @ U_i + b_i)
    f_t = sigma(x_t @ W_f + h_{t-1} @ U_f + b_f)
    g_t = phi(x_t @ W_c + h_{t-1} @ U_c + b_c)
    o_t = sigma(x_t @ W_o + h_{t-1} @ U_o + b_o)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * phi(c_t)
    ```

    The output is `h_t`, the new states `[h_t, c_t]`. The weights are
    `kernel` `(input_dim, 4 * units)`, `recurrent_kernel` `(units, 4 * units)`
    and `bias` `(4 * units,)`, in this order and with the names and gate order
    of `keras.layers.LSTMCell`, so `get_weights()` / `set_weights()` move
    weights between this cell, Keras's cell and the fused `keras.layers.LSTM`.

    With `layer_normalization=True` (Ba et al., 2016), the input
    projection `x_t @ W` and the recurrent projection `h_{t-1} @ U` are each
    layer-normalized before they are summed and the bias is added, and the
    cell state is normalized before the output nonlinearity:

    ```
    a_t = LN(x_t @ W) * input_norm_gamma
          + LN(h_{t-1} @ U) * recurrent_norm_gamma + b      # then gates as above
    h_t = o_t * phi(LN(c_t) * cell_norm_gamma + cell_norm_beta)
    ```

    `LN(a) = (a - mean(a)) / sqrt(var(a) + layer_norm_epsilon)` is taken over
    the `units` features of each gate block separately (each gate has its own
    statistics), not over all `4 * units` at once. The projections have gains
    only (an offset would duplicate `b`); the carried state `c_t` itself is
    not normalized. The extra weights, `input_norm_gamma` and
    `recurrent_norm_gamma` `(4 * units,)`, `cell_norm_gamma` and
    `cell_norm_beta` `(units,)`, come after the Keras weights.

    Dropout masks are drawn once per sequence and shared by every time step
    (Gal and Ghahramani, 2016); one mask on `x_t` (`dropout`) and one on
    `h_{t-1}` (`recurrent_dropout`) serve all four gates, only when
    `training=True`. Code that steps the cell itself, rather than through
    `keras.layers.RNN`, with dropout should call `get_dropout_mask(x_0)` and
    `get_recurrent_dropout_mask(h_0)` before its loop and
    `reset_dropout_mask()` / `reset_recurrent_dropout_mask()` after it.

    Args:
        units: positive int, dimensionality of the output and states.
        activation: `phi`, activation of the candidate and of the output.
            Defaults to `"tanh"`; `None` means linear.
        recurrent_activation: `sigma`, activation of the gates. Defaults to
            `"sigmoid"`.
        use_bias: bool, whether to add `bias`. Defaults to `True`.
        kernel_initializer: initializer of `kernel`.
        recurrent_initializer: initializer of `recurrent_kernel`.
        bias_initializer: initializer of `bias`.
        unit_forget_bias: bool, whether to initialize the forget-gate bias to
            ones (the other blocks use `bias_initializer`). Defaults to `True`.
        kernel_regularizer: optional regularizer of `kernel`.
        recurrent_regularizer: optional regularizer of `recurrent_kernel`.
        bias_regularizer: optional regularizer of `bias`.
        kernel_constraint: optional constraint on `kernel`.
        recurrent_constraint: optional constraint on `recurrent_kernel`.
        bias_constraint: optional constraint on `bias`.
        dropout: float in `[0, 1)`, dropout rate on the inputs.
        recurrent_dropout: float in `[0, 1)`, dropout rate on `h_{t-1}`.
        seed: optional int, seed of the dropout masks.
        layer_normalization: bool, whether to layer-normalize as described
            above. Defaults to `False`.
        layer_norm_epsilon: float added to the variance in layer normalization.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor of shape `(batch_size, input_dim)`, one time step.
        states: list `[h, c]` of two tensors of shape `(batch_size, units)`.
        training: bool, whether to apply dropout.

    Returns:
        `(output, [h, c])`: the output `h` of shape `(batch_size, units)` and
        the new states, each of shape `(batch_size, units)`.

    Example:

    >>> cell = keras_s2s.layers.LSTMCell(4)
    >>> rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    >>> outputs, h, c = rnn(np.ones((2, 5, 3), "float32"))
    >>> tuple(outputs.shape), tuple(h.shape), tuple(c.shape)
    ((2, 5, 4), (2, 4), (2, 4))
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
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
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
        self.unit_forget_bias = unit_forget_bias
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
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.layer_normalization = bool(layer_normalization)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, 4 * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 4 * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            bias_initializer = self.bias_initializer
            if self.unit_forget_bias:

                def bias_initializer(_, *args, **kwargs):
                    # Blocks i, f, c, o: ones for the forget gate.
                    return ops.concatenate(
                        [
                            self.bias_initializer(
                                (self.units,), *args, **kwargs
                            ),
                            initializers.get("ones")(
                                (self.units,), *args, **kwargs
                            ),
                            self.bias_initializer(
                                (2 * self.units,), *args, **kwargs
                            ),
                        ]
                    )

            self.bias = self.add_weight(
                shape=(4 * self.units,),
                name="bias",
                initializer=bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        if self.layer_normalization:
            self.input_norm_gamma = self.add_weight(
                shape=(4 * self.units,),
                name="input_norm_gamma",
                initializer="ones",
            )
            self.recurrent_norm_gamma = self.add_weight(
                shape=(4 * self.units,),
                name="recurrent_norm_gamma",
                initializer="ones",
            )
            self.cell_norm_gamma = self.add_weight(
                shape=(self.units,), name="cell_norm_gamma", initializer="ones"
            )
            self.cell_norm_beta = self.add_weight(
                shape=(self.units,), name="cell_norm_beta", initializer="zeros"
            )

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]  # (batch_size, units) each
        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        h_in = h_tm1
        if training and self.recurrent_dropout > 0.0:
            h_in = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        x_proj = ops.matmul(inputs, self.kernel)  # (batch_size, 4 * units)
        h_proj = ops.matmul(h_in, self.recurrent_kernel)  # (batch_size, 4 * units)
        if self.layer_normalization:
            x_proj = layer_norm_blocks(
                x_proj, self.input_norm_gamma, 4, self.layer_norm_epsilon
            )
            h_proj = layer_norm_blocks(
                h_proj, self.recurrent_norm_gamma, 4, self.layer_norm_epsilon
            )
        z = x_proj + h_proj  # (batch_size, 4 * units)
        if self.use_bias:
            z = z + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)  # (batch_size, units) each
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        o = self.recurrent_activation(z_o)
        c = f * c_tm1 + i * self.activation(z_c)  # (batch_size, units)
        c_out = c
        if self.layer_normalization:
            c_out = layer_norm_blocks(
                c,
                self.cell_norm_gamma,
                1,
                self.layer_norm_epsilon,
                beta=self.cell_norm_beta,
            )
        h = o * self.activation(c_out)  # (batch_size, units)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype),
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype),
        ]

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
                "unit_forget_bias": self.unit_forget_bias,
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
                "seed": self.seed,
                "layer_normalization": self.layer_normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
