import keras
from keras import ops

from keras_s2s.utils.argument_validation import check_rate


@keras.saving.register_keras_serializable(package="keras_s2s")
class SparseCrossentropy(keras.losses.Loss):
    """Token-level cross-entropy from integer targets, with label smoothing.

    `loss = (1 - eps) * -log p(y) + eps * mean_v(-log p(v))`: the target
    distribution puts `1 - eps` on the reference token and spreads `eps`
    uniformly over the vocabulary (Szegedy et al. 2016). Keras's own
    `SparseCategoricalCrossentropy` has no label smoothing. Padding is
    excluded through `sample_weight` (the preprocessor's target mask), so the
    mean is over real target tokens.

    Args:
        label_smoothing: float in [0, 1).
        from_logits: bool. Whether `y_pred` are logits (else probabilities).

    Example:
    >>> loss = SparseCrossentropy(label_smoothing=0.0)
    >>> float(loss(np.array([[1]]), np.log(np.array([[[0.5, 0.5]]]))))
    0.6931...
    """

    def __init__(
        self, label_smoothing=0.0, from_logits=True, name="sparse_crossentropy", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = check_rate("label_smoothing", label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        # y_pred: (batch_size, target_len, vocabulary_size), in float32.
        y_pred = ops.cast(y_pred, "float32")
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:
            log_probs = ops.log(ops.clip(y_pred, 1e-12, 1.0))
        y_true = ops.cast(y_true, "int32")
        # nll: (batch_size, target_len)
        nll = -ops.squeeze(
            ops.take_along_axis(log_probs, ops.expand_dims(y_true, -1), axis=-1), -1
        )
        if self.label_smoothing == 0.0:
            return nll
        smooth = -ops.mean(log_probs, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * smooth

    def get_config(self):
        config = super().get_config()
        config.update(
            {"label_smoothing": self.label_smoothing, "from_logits": self.from_logits}
        )
        return config
