"""A callback scoring generated validation translations after each epoch."""

import math
import time

import keras

from keras_s2s.training.evaluation import score_translations
from keras_s2s.training.evaluation import translate


def validation_log_name(metric):
    """The logs key of a validation metric: `val_bleu`, `val_chrf`, `val_wer`, ..."""
    if metric in ("multi30k_bleu", "sacrebleu"):
        return "val_bleu"
    return f"val_{metric}"


class ValidationScore(keras.callbacks.Callback):
    """Translates a validation set at the end of each epoch and logs its score.

    The score (BLEU by default) goes into the epoch logs as `log_name`, so
    it appears in the progress bar and in `History`, and other callbacks
    (`keras.callbacks.EarlyStopping(monitor="val_bleu", mode="max")`) can
    use it. Nothing is computed after an epoch whose loss is not finite.

    Args:
        model: the `Seq2SeqLM` to generate with (the model being fitted, or
            the one wrapped by a `ScheduledSamplingModel`); compiled with
            the search to use.
        sources: list of validation source strings.
        references: list of raw validation target strings (or of lists of
            acceptable references, for E2E and CMUdict).
        metric: a metric of `keras_s2s.training.evaluation.METRICS`
            (`"multi30k_bleu"`, `"sacrebleu"`, `"chrf"`, `"e2e_bleu"`,
            `"wer"`, `"token_f1"`, ...).
        language: target language (for `"multi30k_bleu"`).
        split: Multi30k split of the references (for `"multi30k_bleu"`).
        tokenized_references: official tokenized references (for
            `"multi30k_bleu"`; default: loaded for `split`).
        batch_size: sentences per `generate()` call.
        max_length: maximum output length, or None.
        log_name: the logs key. Defaults to `"val_bleu"`.

    Example:

    ```python
    callback = ValidationScore(lm, val_sources, val_targets, "sacrebleu")
    lm.fit(train_ds, epochs=10, callbacks=[callback])
    print(callback.history)  # [(epoch, score), ...]
    ```
    """

    def __init__(
        self,
        model,
        sources,
        references,
        metric="multi30k_bleu",
        language=None,
        split=None,
        tokenized_references=None,
        batch_size=128,
        max_length=None,
        log_name="val_bleu",
    ):
        super().__init__()
        if len(sources) != len(references):
            raise ValueError(
                f"Expected as many references as sources. Received "
                f"{len(sources)} sources and {len(references)} references."
            )
        self.generation_model = model
        self.sources = list(sources)
        self.references = list(references)
        self.metric = metric
        self.language = language
        self.split = split
        self.tokenized_references = tokenized_references
        self.batch_size = batch_size
        self.max_length = max_length
        self.log_name = log_name
        self.history = []
        self.last_hypotheses = None
        self.last_seconds = None

    def evaluate(self):
        """Translates the sources and returns the `MetricResult`."""
        start = time.perf_counter()
        hypotheses = translate(
            self.generation_model,
            self.sources,
            batch_size=self.batch_size,
            max_length=self.max_length,
        )
        result = score_translations(
            hypotheses,
            self.references,
            self.metric,
            language=self.language,
            split=self.split,
            tokenized_references=self.tokenized_references,
            sources=self.sources,
        )
        self.last_hypotheses = hypotheses
        self.last_seconds = time.perf_counter() - start
        return result

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            return
        result = self.evaluate()
        logs[self.log_name] = result.score
        self.history.append((epoch + 1, result.score))
