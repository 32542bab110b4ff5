"""Elman recurrent cell with optional layer normalization."""

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
class SimpleRNNCell(keras.layers.Layer, DropoutRNNCell):
    """Elman recurrent cell, weight-compatible with `keras.layers.SimpleRNN`.

    One step computes

    ```
    h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)
    ```

    and returns `h_t` both as output and as the new state.

    The weights are `kernel` `(input_dim, units)`, `recurrent_kernel`
    `(units, units)` and `bias` `(units,)`, in this order and with the names of
    `keras.layers.SimpleRNNCell`, so `get_weights()` / `set_weights()` move
    weights between this cell, Keras's cell and `keras.layers.SimpleRNN`.

    With `layer_normalization=True` the input and recurrent projections are
    each layer-normalized over their `units` features before the bias is added
    (Ba et al., 2016):

    ```
    h_t = activation(LN(x_t @ kernel) * input_norm_gamma
                     + LN(h_{t-1} @ recurrent_kernel) * recurrent_norm_gamma
                     + bias)
    ```

    where `LN(a) = (a - mean(a)) / sqrt(var(a) + layer_norm_epsilon)`. The
    normalization has gains only: an offset would duplicate `bias`. The two
    gains, of shape `(units,)` and initialized to ones, come after the Keras
    weights.

    Dropout masks are drawn once per sequence and shared by every time step
    (Gal and Ghahramani, 2016); `dropout` applies to `x_t` and
    `recurrent_dropout` to `h_{t-1}`, only when `training=True`. Code that steps
    the cell itself, rather than through `keras.layers.RNN`, with dropout
    should call `get_dropout_mask(x_0)` and `get_recurrent_dropout_mask(h_0)`
    before its loop and `reset_dropout_mask()` /
    `reset_recurrent_dropout_mask()` after it.

    Args:
        units: positive int, dimensionality of the output and state.
        activation: activation of the new state. Defaults to `"tanh"`;
            `None` means linear.
        use_bias: bool, whether to add `bias`. Defaults to `True`.
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
        recurrent_dropout: float in `[0, 1)`, dropout rate on the previous
            state.
        seed: optional int, seed of the dropout masks.
        layer_normalization: bool, whether to layer-normalize the projections
            as described above. Defaults to `False`.
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

    >>> cell = keras_s2s.layers.SimpleRNNCell(4)
    >>> rnn = keras.layers.RNN(cell, return_sequences=True)
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
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
        seed=None,
        layer_normalization=False,
        layer_norm_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = activations.get(activation)
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
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.layer_normalization = bool(layer_normalization)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        if self.layer_normalization:
            self.input_norm_gamma = self.add_weight(
                shape=(self.units,), name="input_norm_gamma", initializer="ones"
            )
            self.recurrent_norm_gamma = self.add_weight(
                shape=(self.units,),
                name="recurrent_norm_gamma",
                initializer="ones",
            )

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h_tm1 = states[0] if nested else states  # (batch_size, units)
        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and self.recurrent_dropout > 0.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        x_proj = ops.matmul(inputs, self.kernel)  # (batch_size, units)
        h_proj = ops.matmul(h_tm1, self.recurrent_kernel)  # (batch_size, units)
        if self.layer_normalization:
            x_proj = layer_norm_blocks(
                x_proj, self.input_norm_gamma, 1, self.layer_norm_epsilon
            )
            h_proj = layer_norm_blocks(
                h_proj, self.recurrent_norm_gamma, 1, self.layer_norm_epsilon
            )
        pre_activation = x_proj + h_proj  # (batch_size, units)
        if self.use_bias:
            pre_activation = pre_activation + self.bias
        h = self.activation(pre_activation)  # (batch_size, units)
        return h, ([h] if nested else h)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
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
                "seed": self.seed,
                "layer_normalization": self.layer_normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
