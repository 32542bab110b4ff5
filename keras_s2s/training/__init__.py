"""Training presets from recipes: checkpoints, resume, selection, presets.

`Trainer(recipe, output_dir=...).run()` (or `python tools/train.py RECIPE
--output-dir DIR`) trains a `Seq2SeqLM` from a `Recipe` kept in `zoo/`,
checkpoints every epoch, resumes after interruption, selects the model on
validation BLEU (optionally averaging the last epochs' weights) and writes
a verified keras-hub preset with its model card.
"""

from keras_s2s.training.checkpoint_averaging import average_checkpoints
from keras_s2s.training.checkpoint_averaging import average_weights
from keras_s2s.training.checkpoint_manager import CheckpointManager
from keras_s2s.training.checkpoint_manager import load_arrays
from keras_s2s.training.checkpoint_manager import save_arrays
from keras_s2s.training.distribution import DISTRIBUTIONS
from keras_s2s.training.distribution import distribution_scope
from keras_s2s.training.evaluation import METRIC_DESCRIPTIONS
from keras_s2s.training.evaluation import score_translations
from keras_s2s.training.evaluation import translate
from keras_s2s.training.model_card import describe_hardware
from keras_s2s.training.model_card import format_model_card
from keras_s2s.training.preset_writer import check_preset_dir_free
from keras_s2s.training.preset_writer import write_preset
from keras_s2s.training.recipe import Recipe
from keras_s2s.training.scheduled_sampling_model import ScheduledSamplingModel
from keras_s2s.training.scheduled_sampling_model import scheduled_sampling_probability
from keras_s2s.training.trainer import DEFAULT_RUNS_DIR
from keras_s2s.training.trainer import Trainer
from keras_s2s.training.validation_score import ValidationScore
from keras_s2s.training.sequence_distillation import SequenceDistillationTrainer
from keras_s2s.training.sequence_distillation import distill
from keras_s2s.training.sequence_distillation import distill_targets
