"""Training presets from recipes: checkpoints, resume, selection, presets.

`Trainer(recipe, output_dir=...).run()` (or `python tools/train.py RECIPE
--output-dir DIR`) trains a `Seq2SeqLM` from a `Recipe` kept in `zoo/`,
checkpoints every epoch, resumes after interruption, selects the model on
validation BLEU (optionally averaging the last epochs' weights) and writes
a verified keras-hub preset with its model card.
"""

from keras_s2s.utils.lazy_exports import lazy_exports

# Public names, imported on first use: `import keras_s2s.training` stays cheap.
EXPORTS = {
    "average_checkpoints": "keras_s2s.training.checkpoint_averaging",
    "average_weights": "keras_s2s.training.checkpoint_averaging",
    "CheckpointManager": "keras_s2s.training.checkpoint_manager",
    "load_arrays": "keras_s2s.training.checkpoint_manager",
    "save_arrays": "keras_s2s.training.checkpoint_manager",
    "DISTRIBUTIONS": "keras_s2s.training.distribution",
    "distribution_scope": "keras_s2s.training.distribution",
    "METRIC_DESCRIPTIONS": "keras_s2s.training.evaluation",
    "score_translations": "keras_s2s.training.evaluation",
    "translate": "keras_s2s.training.evaluation",
    "describe_hardware": "keras_s2s.training.model_card",
    "format_model_card": "keras_s2s.training.model_card",
    "check_preset_dir_free": "keras_s2s.training.preset_writer",
    "write_preset": "keras_s2s.training.preset_writer",
    "Recipe": "keras_s2s.training.recipe",
    "ScheduledSamplingModel": "keras_s2s.training.scheduled_sampling_model",
    "SequenceDistillationTrainer": "keras_s2s.training.sequence_distillation",
    "distill": "keras_s2s.training.sequence_distillation",
    "distill_targets": "keras_s2s.training.sequence_distillation",
    "scheduled_sampling_probability": "keras_s2s.training.scheduled_sampling_model",
    "DEFAULT_RUNS_DIR": "keras_s2s.training.trainer",
    "Trainer": "keras_s2s.training.trainer",
    "ValidationScore": "keras_s2s.training.validation_score",
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
