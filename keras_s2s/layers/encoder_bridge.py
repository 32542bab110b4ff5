import keras
from keras import ops

from keras_s2s.utils.argument_validation import check_choice
from keras_s2s.utils.argument_validation import check_positive_int

BRIDGE_TYPES = ("dense", "copy", "zero")


@keras.saving.register_keras_serializable(package="keras_s2s")
class EncoderBridge(keras.layers.Layer):
    """Maps the encoder's final states to the decoder's initial states.

    - `"dense"`: `tanh(W s + b)` of the top encoder layer's final states (one
      projection per state tensor, so an LSTM's `h` and `c` each get one), the
      same initial state for every decoder layer (as in JoeyNMT and nmtpy).
    - `"copy"`: the encoder's final states unchanged; encoder layer `i` feeds
      decoder layer `i` when both have as many layers, otherwise the top
      encoder layer feeds every decoder layer. Needs
      `encoder_state_dim == hidden_dim`.
    - `"zero"`: all-zero initial states (the encoder only reaches the decoder
      through attention).

    Args:
        bridge_type: one of `"dense"`, `"copy"`, `"zero"`.
        hidden_dim: int. Units of each decoder layer.
        num_layers: int. Number of decoder layers.
        num_states: int. State tensors per layer (2 for LSTM, else 1).

    Call arguments:
        encoder_states: list with one entry per encoder layer, each a list of
            `num_states` tensors `(batch_size, encoder_state_dim)`.

    Returns:
        A list with one entry per decoder layer, each a list of `num_states`
        tensors `(batch_size, hidden_dim)`.
    """

    def __init__(self, bridge_type, hidden_dim, num_layers=1, num_states=1, **kwargs):
        super().__init__(**kwargs)
        self.bridge_type = check_choice("bridge_type", bridge_type, BRIDGE_TYPES)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.num_states = check_choice("num_states", num_states, (1, 2))
        self.projections = []
        if bridge_type == "dense":
            self.projections = [
                keras.layers.Dense(
                    hidden_dim,
                    activation="tanh",
                    dtype=self.dtype_policy,
                    name=f"projection_{i}",
                )
                for i in range(num_states)
            ]

    def build(self, encoder_states_shape):
        top = encoder_states_shape[-1]
        encoder_state_dim = top[0][-1]
        if self.bridge_type == "copy" and encoder_state_dim != self.hidden_dim:
            raise ValueError(
                "bridge_type='copy' needs the encoder's final state size to equal "
                f"the decoder's hidden_dim. Received: encoder state size "
                f"{encoder_state_dim}, hidden_dim={self.hidden_dim}. Use "
                "bridge_type='dense' or match the sizes (a bidirectional encoder's "
                "state size is 2 * its hidden_dim)."
            )
        for projection, shape in zip(self.projections, top):
            projection.build(shape)
        self.built = True

    def call(self, encoder_states):
        top = encoder_states[-1]
        if self.bridge_type == "zero":
            batch_size = ops.shape(top[0])[0]
            zeros = ops.zeros((batch_size, self.hidden_dim), dtype=self.compute_dtype)
            return [[zeros] * self.num_states for _ in range(self.num_layers)]
        if self.bridge_type == "dense":
            # state: (batch_size, hidden_dim)
            states = [p(s) for p, s in zip(self.projections, top)]
            return [list(states) for _ in range(self.num_layers)]
        if len(encoder_states) == self.num_layers:
            return [list(layer) for layer in encoder_states]
        return [list(top) for _ in range(self.num_layers)]

    def compute_output_spec(self, encoder_states):
        batch_size = encoder_states[-1][0].shape[0]
        # One distinct symbolic tensor per state: the functional graph maps
        # outputs by object, so a repeated spec would merge `h` and `c`.
        return [
            [
                keras.KerasTensor((batch_size, self.hidden_dim), dtype=self.compute_dtype)
                for _ in range(self.num_states)
            ]
            for _ in range(self.num_layers)
        ]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "bridge_type": self.bridge_type,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "num_states": self.num_states,
            }
        )
        return config
