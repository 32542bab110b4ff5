"""The coverage loss of See et al. (2017)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_s2s")
class CoverageLoss(keras.layers.Layer):
    """Adds the coverage loss `sum_s min(a_ts, c_ts)` to the model's losses.

    The coverage `c_t = sum_{t' < t} a_t'` is the attention already spent on
    each source position. The penalty of step `t` is
    `sum_s min(a_ts, c_ts)`: zero when the step attends only to positions
    not yet covered. The layer adds
    `loss_weight * mean over real target steps of the penalty` with
    `add_loss` (so `fit` minimizes it with the model's loss) and returns the
    per-step penalty.

    Args:
        loss_weight: float >= 0, the weight `lambda` of the loss.
        **kwargs: base layer arguments, such as `name` and `dtype`.

    Call arguments:
        attention_weights: `(batch_size, target_len, source_len)`.
        padding_mask: optional bool `(batch_size, target_len)`, True on real
            target steps.

    Returns:
        float32 `(batch_size, target_len)`, the per-step penalty.

    Example:
    >>> layer = keras_s2s.layers.CoverageLoss()
    >>> weights = np.array([[[1.0, 0.0], [1.0, 0.0]]])
    >>> ops.convert_to_numpy(layer(weights)).tolist()
    [[0.0, 1.0]]
    """

    def __init__(self, loss_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(loss_weight, (int, float)) or loss_weight < 0:
            raise ValueError(
                "Expected loss_weight to be a float >= 0. "
                f"Received: loss_weight={loss_weight!r}"
            )
        self.loss_weight = float(loss_weight)

    def call(self, attention_weights, padding_mask=None):
        weights = ops.cast(attention_weights, "float32")  # (b, T, S)
        # coverage: (batch_size, target_len, source_len), previous steps only.
        coverage = ops.cumsum(weights, axis=1) - weights
        penalty = ops.sum(ops.minimum(weights, coverage), axis=-1)  # (b, T)
        if padding_mask is None:
            mask = ops.ones_like(penalty)
        else:
            mask = ops.cast(padding_mask, "float32")
        loss = ops.sum(penalty * mask) / ops.maximum(ops.sum(mask), 1.0)
        if self.loss_weight:
            self.add_loss(self.loss_weight * loss)
        return penalty * mask

    def compute_output_spec(self, attention_weights, padding_mask=None):
        return keras.KerasTensor(tuple(attention_weights.shape[:2]), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({"loss_weight": self.loss_weight})
        return config
