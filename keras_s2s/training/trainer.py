"""Training a preset from a recipe: checkpoints, resume, selection, preset."""

import contextlib
import json
import math
import os
import time

import keras
import numpy as np

from keras_s2s.training.checkpoint_averaging import average_checkpoints
from keras_s2s.training.checkpoint_manager import CheckpointManager
from keras_s2s.training.distribution import check_distribution
from keras_s2s.training.distribution import distribution_scope
from keras_s2s.training.distribution import prepare_distributed_dataset
from keras_s2s.training.evaluation import score_digits
from keras_s2s.training.evaluation import score_translations
from keras_s2s.training.evaluation import translate
from keras_s2s.training.model_card import describe_hardware
from keras_s2s.training.model_card import format_model_card
from keras_s2s.training.preset_writer import check_preset_dir_free
from keras_s2s.training.preset_writer import write_preset
from keras_s2s.training.recipe import Recipe
from keras_s2s.training.scheduled_sampling_model import ScheduledSamplingModel
from keras_s2s.training.scheduled_sampling_model import scheduled_sampling_probability
from keras_s2s.training.validation_score import ValidationScore
from keras_s2s.training.validation_score import validation_log_name
from keras_s2s.utils.memory_estimate import check_training_fits

DEFAULT_RUNS_DIR = os.path.join("~", ".cache", "keras-s2s", "runs")
RUN_FILE = "run.json"
DTYPES = ("float32", "mixed_float16", "mixed_bfloat16")
LOCK_FILE = "run.lock"
TOKENIZER_DIR = "tokenizer"


class _StopAfterEpoch(keras.callbacks.Callback):
    """Ends `fit()` after one epoch, so the trainer acts between epochs."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


def count_batches(sources, targets, preprocessor, batch_size, bucket_boundaries=None,
                  drop_remainder=False):
    """The number of batches `make_dataset` yields for these pairs.

    Without buckets, `ceil(len(sources) / batch_size)`. With buckets, each
    pair falls in the bucket of its longer side's token count (bucket `i`
    holds lengths in `[boundaries[i - 1], boundaries[i])`) and each bucket
    ends with one partial batch. With `drop_remainder`, partial batches are
    not counted (`floor` instead of `ceil`).

    Example:
    >>> count_batches(["a"] * 5, ["b"] * 5, None, batch_size=2)
    3
    """
    rounding = math.floor if drop_remainder else math.ceil
    if bucket_boundaries is None:
        return rounding(len(sources) / batch_size)
    lengths = [
        max(len(source), len(target))
        for source, target in zip(
            preprocessor.encoder_tokenizer(list(sources)),
            preprocessor.decoder_tokenizer(list(targets)),
        )
    ]
    buckets = np.bincount(
        np.searchsorted(np.asarray(bucket_boundaries), lengths, side="right"),
        minlength=len(bucket_boundaries) + 1,
    )
    return int(sum(rounding(count / batch_size) for count in buckets))


class _SeedGlobalDropout(keras.callbacks.Callback):
    """Seeds the dropout masks that no model variable determines.

    Keras draws dropout masks from each layer's `SeedGenerator`, whose state
    is a model variable (and so in every checkpoint), except on PyTorch,
    where a generator created without a seed falls back to
    `torch.nn.functional.dropout` and PyTorch's global generator. Seeding
    that generator when the epoch begins (after `fit()` has built the model,
    which may draw from it) makes an epoch's masks the same whether or not
    the run was resumed. This is the training code's only backend import
    besides `tf.data`.
    """

    def __init__(self, seed):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        if keras.backend.backend() == "torch":
            import torch

            torch.manual_seed(self.seed)


def _to_numpy(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def _assign(variables, values, what):
    if len(variables) != len(values):
        raise ValueError(
            f"The checkpoint holds {len(values)} {what} arrays but the model has "
            f"{len(variables)}. It was written by a different model; use another "
            "checkpoint directory."
        )
    for variable, value in zip(variables, values):
        if tuple(variable.shape) != tuple(value.shape):
            raise ValueError(
                f"Checkpoint {what} array for '{variable.path}' has shape "
                f"{value.shape}, the model expects {tuple(variable.shape)}. It "
                "was written by a different model; use another checkpoint "
                "directory."
            )
        variable.assign(value.astype(keras.backend.standardize_dtype(variable.dtype)))


@contextlib.contextmanager
def _exclusive_lock(directory):
    path = os.path.join(directory, LOCK_FILE)
    try:
        import fcntl
    except ImportError:  # Not POSIX: no locking.
        yield
        return
    with open(path, "w") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            raise RuntimeError(
                f"Another training process is using the checkpoint directory "
                f"'{directory}'. Wait for it to finish, or pass another "
                "checkpoint directory."
            ) from error
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def _write_text_atomically(path, text):
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


class Trainer:
    """Trains a `Seq2SeqLM` from a `Recipe` and writes it as a preset.

    What `run()` does:

    1. Refuses at once if `output_dir` exists (unless `overwrite`), so a
       long run never ends unable to save.
    2. Loads the data, trains the SentencePiece tokenizer(s) (or reuses the
       ones saved in the checkpoint directory), builds the model with the
       recipe's seed and compiles it with the recipe's optimizer.
    3. Resumes from the newest checkpoint in `checkpoint_dir`, if any: the
       model variables (weights and dropout seed states), the optimizer
       variables (step, learning rate, moments) and the epoch counter,
       best score and early-stopping counters. Epoch `e` visits the pairs in
       the order of a NumPy permutation seeded with `recipe.seed + e - 1`,
       so a resumed run sees the same batches as an uninterrupted one.
    4. Trains one epoch per `model.fit()` call (Keras progress bar,
       `keras.callbacks.TerminateOnNaN`), scores the validation set with
       the recipe's search and metric (`ValidationScore`, logged as
       `val_bleu`, or `val_chrf`), then writes the epoch's checkpoint atomically. A
       non-finite loss stops training with a `FloatingPointError` naming
       the last good checkpoint, which is kept. Training stops after
       `early_stopping_patience` epochs without a better validation score,
       optionally lowering the learning rate on plateaus before that.
    5. Selects the best epoch's weights; with `average_last_n >= 2`, also
       scores the average of the last N epochs' weights and keeps it if its
       validation score is higher.
    6. Scores the selected model on the validation and test splits with the
       evaluation search and writes the preset (`write_preset`) with its
       model card.

    Args:
        recipe: a `Recipe`, a recipe dict, or a path to a recipe file.
        output_dir: the preset directory to write, or None to only train.
        checkpoint_dir: the run's checkpoint directory. Defaults to
            `~/.cache/keras-s2s/runs/<recipe name>`.
        max_epochs: overrides `training.epochs` (e.g. to train longer on
            resume, or a single epoch for a smoke test). A run that stopped
            early stays stopped.
        max_train_examples: overrides `data.max_train_examples` (the run
            then differs from the recipe's: a checkpoint directory is only
            resumed with the same value).
        overwrite: replace an existing `output_dir`.
        verbose: `model.fit` verbosity: 0 silent, 1 progress bar, 2 one line
            per epoch. Above 0, the trainer also prints a line per epoch.
        command: the command line that started the run, for the model card.
        callbacks: extra Keras callbacks for every `fit()` call.
        data_dir: the data set root (see `keras_s2s.datasets.get_data_dir`).
        dtype: None (the recipe's), `"float32"`, `"mixed_float16"` or
            `"mixed_bfloat16"`: the backbone's dtype policy (variables in
            float32; logits, softmax and loss in float32; `mixed_float16`
            adds Keras's dynamic loss scaling). The preset records it.
        distribution: None (one device) or `"data_parallel"` (JAX:
            `keras.distribution.DataParallel`; TensorFlow:
            `tf.distribute.MirroredStrategy`; see
            `keras_s2s.training.distribution_scope`) over every accelerator
            (or every CPU device). `training.batch_size` is the global batch
            and must be divisible by the number of devices; each bucket's
            last partial batch is dropped so every batch splits evenly.

    Example:

    ```python
    trainer = Trainer("zoo/multi30k_en_de_gru_bahdanau.json",
                      output_dir="keras_s2s/presets/multi30k_en_de_gru_bahdanau")
    report = trainer.run()
    print(report["scores"])
    ```
    """

    def __init__(
        self,
        recipe,
        output_dir=None,
        checkpoint_dir=None,
        max_epochs=None,
        max_train_examples=None,
        overwrite=False,
        verbose=1,
        command=None,
        callbacks=None,
        data_dir=None,
        dtype=None,
        distribution=None,
    ):
        if isinstance(recipe, dict):
            recipe = Recipe.from_dict(recipe)
        elif isinstance(recipe, (str, os.PathLike)):
            recipe = Recipe.from_file(recipe)
        elif not isinstance(recipe, Recipe):
            raise ValueError(
                "Expected recipe to be a Recipe, a dict or a recipe file path. "
                f"Received: {type(recipe).__name__}"
            )
        for name, value in (
            ("max_epochs", max_epochs),
            ("max_train_examples", max_train_examples),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(
                    f"Expected {name} to be a positive integer or None. "
                    f"Received: {name}={value!r}"
                )
        if verbose not in (0, 1, 2):
            raise ValueError(f"Expected verbose in {{0, 1, 2}}. Received: {verbose!r}")
        if dtype is not None and dtype not in DTYPES:
            raise ValueError(
                f"Expected dtype in {{None, {', '.join(repr(d) for d in DTYPES)}}}. "
                f"Received: dtype={dtype!r}"
            )
        self.dtype = dtype
        self.distribution = check_distribution(distribution)
        self.num_devices = 1
        self.recipe = recipe
        self.output_dir = (
            os.path.abspath(os.path.expanduser(os.fspath(output_dir)))
            if output_dir is not None
            else None
        )
        if checkpoint_dir is None:
            checkpoint_dir = os.path.join(DEFAULT_RUNS_DIR, recipe.name)
        self.checkpoint_dir = os.path.abspath(
            os.path.expanduser(os.fspath(checkpoint_dir))
        )
        self.max_epochs = max_epochs
        self.max_train_examples = max_train_examples
        self.overwrite = overwrite
        self.verbose = verbose
        self.command = command
        self.callbacks = list(callbacks or [])
        self.data_dir = data_dir
        # The machine the epochs ran on, for the model card (default: this one).
        self.hardware = None
        self.model = None
        self.training_model = None
        self.manager = None
        self.state = None
        self.validation = None
        self._train_data = None

    # ------------------------------------------------------------ internals

    def _print(self, message):
        if self.verbose:
            print(message, flush=True)

    @property
    def epochs(self):
        """The number of epochs this run trains for (at most)."""
        return self.max_epochs or self.recipe.training["epochs"]

    @property
    def train_examples_limit(self):
        if self.max_train_examples is not None:
            return self.max_train_examples
        return self.recipe.data["max_train_examples"]

    def _load_split(self, split, limit, scored=False):
        """`(sources, targets)` of a split: training pairs, or the scored set.

        The scored set has one source per output to score (E2E: per distinct
        MR, CMUdict: per distinct word) with its list of references.
        """
        task_data = self.recipe.task_data
        if scored:
            sources, targets = task_data.scored_set(split, data_dir=self.data_dir)
        else:
            sources, targets = task_data.training_pairs(split, data_dir=self.data_dir)
        if limit is not None:
            sources, targets = sources[:limit], targets[:limit]
        return list(sources), list(targets)

    def _tokenized_references(self, split, count):
        if self.recipe.data["dataset"] != "multi30k":
            return None
        from keras_s2s.datasets import load_multi30k_references

        references = load_multi30k_references(
            split, self.recipe.target_language, data_dir=self.data_dir
        )
        return references[:count]

    def _check_run(self):
        """Records the run's identity, or checks it matches on resume."""
        identity = {
            "recipe_name": self.recipe.name,
            "recipe_fingerprint": self.recipe.fingerprint(),
            "max_train_examples": self.train_examples_limit,
        }
        path = os.path.join(self.checkpoint_dir, RUN_FILE)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as file:
                recorded = json.load(file)
            different = [
                key for key in identity if recorded.get(key) != identity[key]
            ]
            if different:
                raise ValueError(
                    f"The checkpoint directory '{self.checkpoint_dir}' holds a "
                    f"run with a different {different[0]} "
                    f"({recorded.get(different[0])!r}, now "
                    f"{identity[different[0]]!r}). Resume it with the recipe and "
                    "options it was started with, or use another checkpoint "
                    "directory."
                )
            return
        record = dict(identity, recipe=self.recipe.get_config())
        _write_text_atomically(path, json.dumps(record, indent=2) + "\n")

    def _tokenizers(self, sources, targets):
        """Trains (or reloads from the checkpoint directory) the tokenizer(s)."""
        config = self.recipe.tokenizer
        if config["type"] == "symbol":
            return self._symbol_tokenizers(sources, targets)
        from keras_s2s.tokenizers import SentencePieceTokenizer
        from keras_s2s.tokenizers import train_sentencepiece

        directory = os.path.join(self.checkpoint_dir, TOKENIZER_DIR)
        os.makedirs(directory, exist_ok=True)

        def get(name, texts, size):
            path = os.path.join(directory, f"{name}.spm")
            if os.path.exists(path):
                with open(path, "rb") as file:
                    proto = file.read()
            else:
                # A soft limit: a small training subset (a smoke test) may
                # not support the full vocabulary; the model is built with
                # the size the tokenizer actually has.
                proto = train_sentencepiece(
                    texts,
                    vocabulary_size=size,
                    model_type=config["model_type"],
                    character_coverage=config["character_coverage"],
                    hard_vocab_limit=False,
                )
                temporary = f"{path}.tmp-{os.getpid()}"
                with open(temporary, "wb") as file:
                    file.write(proto)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, path)
            tokenizer = SentencePieceTokenizer(proto)
            if tokenizer.vocabulary_size() != size:
                self._print(
                    f"The {name} SentencePiece vocabulary has "
                    f"{tokenizer.vocabulary_size()} pieces, not {size}: the "
                    "training text is too small for more."
                )
            return tokenizer

        size = config["vocabulary_size"]
        if config["joint"]:
            tokenizer = get("joint", sources + targets, size)
            return {"tokenizer": tokenizer}
        if isinstance(size, int):
            size = {"source": size, "target": size}
        return {
            "encoder_tokenizer": get("source", sources, size["source"]),
            "decoder_tokenizer": get("target", targets, size["target"]),
        }

    def _symbol_tokenizers(self, sources, targets):
        """Character / symbol vocabularies, computed once and kept with the run."""
        from keras_s2s.tokenizers import SymbolTokenizer
        from keras_s2s.tokenizers import compute_symbol_vocabulary
        from keras_s2s.tokenizers.symbol_tokenizer import normalize_case

        config = self.recipe.tokenizer
        directory = os.path.join(self.checkpoint_dir, TOKENIZER_DIR)
        os.makedirs(directory, exist_ok=True)

        def get(name, texts, split):
            path = os.path.join(directory, f"{name}.vocabulary.txt")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as file:
                    vocabulary = file.read().split("\n")[:-1]
            else:
                case = config["normalize_case"]
                texts = [normalize_case(text, case) for text in texts]
                vocabulary = compute_symbol_vocabulary(
                    texts, split=split, min_frequency=config["min_frequency"]
                )
                _write_text_atomically(path, "".join(f"{v}\n" for v in vocabulary))
            return SymbolTokenizer(
                vocabulary, split=split, normalize_case=config["normalize_case"]
            )

        return {
            "encoder_tokenizer": get("source", sources, config["source_split"]),
            "decoder_tokenizer": get("target", targets, config["target_split"]),
        }

    def _improved(self, score, best):
        """Whether `score` beats `best` (None: nothing to beat yet)."""
        if best is None:
            return True
        return score > best if self.recipe.greater_is_better else score < best

    def _build_models(self, tokenizers):
        from keras_s2s.losses import SparseCrossentropy
        from keras_s2s.models import Seq2SeqBackbone
        from keras_s2s.models import Seq2SeqLM
        from keras_s2s.models import Seq2SeqLMPreprocessor

        recipe = self.recipe
        preprocessor = Seq2SeqLMPreprocessor(**tokenizers, **recipe.preprocessor)
        encoder_tokenizer = tokenizers.get("encoder_tokenizer", tokenizers.get("tokenizer"))
        decoder_tokenizer = tokenizers.get("decoder_tokenizer", tokenizers.get("tokenizer"))
        model_config = dict(recipe.model)
        if self.dtype is not None:
            model_config["dtype"] = self.dtype
        backbone = Seq2SeqBackbone(
            encoder_vocabulary_size=encoder_tokenizer.vocabulary_size(),
            decoder_vocabulary_size=decoder_tokenizer.vocabulary_size(),
            **model_config,
        )
        # Refuse a batch whose training step cannot fit before fit() tries.
        check_training_fits(
            backbone,
            batch_size=recipe.training["batch_size"],
            source_length=preprocessor.encoder_sequence_length,
            target_length=preprocessor.decoder_sequence_length,
            argument="training.batch_size",
        )
        lm = Seq2SeqLM(backbone, preprocessor=preprocessor)
        optimizer = keras.optimizers.get(json.loads(json.dumps(recipe.optimizer)))
        loss = SparseCrossentropy(
            label_smoothing=recipe.training["label_smoothing"], from_logits=True
        )
        search = recipe.validation["search"]
        if recipe.scheduled_sampling is None:
            lm.compile(optimizer=optimizer, loss=loss, sampler=search,
                       label_smoothing=recipe.training["label_smoothing"])
            training_model = lm
        else:
            lm.compile(sampler=search)
            training_model = ScheduledSamplingModel(lm, seed=recipe.seed)
            training_model.compile(
                optimizer=optimizer,
                loss=loss,
                weighted_metrics=[
                    keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")
                ],
            )
        training_model.optimizer.build(training_model.trainable_variables)
        return lm, training_model

    def _extra_variables(self):
        own = {id(v) for v in self.model.variables}
        return [v for v in self.training_model.variables if id(v) not in own]

    def _fresh_state(self):
        return {
            "epoch": 0,
            "best_score": None,
            "best_epoch": None,
            "epochs_without_improvement": 0,
            "plateau_wait": 0,
            "stopped_early": False,
            "train_seconds": 0.0,
            "history": [],
            "backends": [],
        }

    def _restore(self):
        checkpoint = self.manager.load()
        if checkpoint is None:
            return self._fresh_state()
        _assign(self.model.variables, checkpoint["model"], "model")
        _assign(self._extra_variables(), checkpoint["extra"], "training-model")
        _assign(self.training_model.optimizer.variables, checkpoint["optimizer"],
                "optimizer")
        state = checkpoint["state"]
        for path, reason in checkpoint.get("skipped", ()):
            self._print(f"Skipped a damaged checkpoint: {reason}")
        self._print(
            f"Resuming from '{self.manager.checkpoint_path(state['epoch'])}': "
            f"{state['epoch']} epoch(s) done, best validation score "
            f"{state['best_score']} (epoch {state['best_epoch']})."
        )
        return state

    def _learning_rate(self):
        optimizer = self.training_model.optimizer
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    def _reduce_learning_rate(self, improved):
        plateau = self.recipe.training["reduce_lr_on_plateau"]
        if plateau is None:
            return
        state = self.state
        state["plateau_wait"] = 0 if improved else state["plateau_wait"] + 1
        if state["plateau_wait"] < plateau["patience"]:
            return
        state["plateau_wait"] = 0
        optimizer = self.training_model.optimizer
        if isinstance(optimizer._learning_rate,
                      keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "training.reduce_lr_on_plateau needs a constant learning rate; "
                "the recipe's optimizer uses a learning-rate schedule. Use one "
                "or the other."
            )
        old = self._learning_rate()
        new = max(old * plateau["factor"], plateau["min_learning_rate"])
        if new < old:
            optimizer.learning_rate.assign(new)
            self._print(f"Learning rate lowered from {old:.3g} to {new:.3g}.")

    # ------------------------------------------------------------------ run

    def train(self):
        """Trains, or resumes, until the last epoch or early stopping.

        Steps 2-4 of the class description, without selection, evaluation
        or preset writing (`run()` does those). Calling it again after an
        interruption continues from the newest checkpoint.

        Returns:
            The training state: `"epoch"` (epochs done), `"best_score"`,
            `"best_epoch"`, `"epochs_without_improvement"`,
            `"stopped_early"`, `"history"` (one dict per epoch), ...

        Raises:
            FloatingPointError: the loss became NaN or infinite.
        """
        with _exclusive_lock(self._prepare_checkpoint_dir()), self._distributed():
            self._setup()
            self._train()
            return self.state

    def run(self):
        """Trains (or resumes), selects, evaluates and writes the preset.

        Returns:
            A report dict: `"scores"` (list of dicts with `split`,
            `metric`, `value`, `signature`, `examples`), `"headline_score"`,
            `"best_epoch"`, `"best_score"`, `"selected"`, `"epochs_run"`,
            `"preset_dir"`, `"history"` and `"metadata"`.

        Raises:
            FileExistsError: `output_dir` exists and `overwrite` is False.
            FloatingPointError: the loss became NaN or infinite.
        """
        run_start = time.perf_counter()
        if self.output_dir is not None:
            check_preset_dir_free(self.output_dir, self.overwrite)
        with _exclusive_lock(self._prepare_checkpoint_dir()), self._distributed():
            self._setup()
            self._train()
            selection = self._select()
            return self._finish(selection, run_start)

    @contextlib.contextmanager
    def _distributed(self):
        """The distribution scope models are built, trained and used in."""
        with distribution_scope(self.distribution) as num_devices:
            batch_size = self.recipe.training["batch_size"]
            if batch_size % num_devices:
                raise ValueError(
                    f"distribution={self.distribution!r} splits each batch over "
                    f"{num_devices} devices, so training.batch_size must be "
                    f"divisible by {num_devices}. Received: batch_size={batch_size}"
                )
            self.num_devices = num_devices
            yield

    def _prepare_checkpoint_dir(self):
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        return self.checkpoint_dir

    def _setup(self):
        """Data, tokenizers, models, restored checkpoint (the lock is held)."""
        average_last_n = self.recipe.training["average_last_n"]
        self.manager = CheckpointManager(
            self.checkpoint_dir,
            keep_checkpoints=2,
            keep_weights=average_last_n if average_last_n >= 2 else 0,
        )
        self.manager.remove_temporary_files()
        self._check_run()
        # Before any tokenizer exists: seeding TensorFlow clears its kernel
        # caches, which drops the SentencePiece op resources.
        keras.utils.set_random_seed(self.recipe.seed)
        self._train_data = self._load_split(
            self.recipe.data["train_split"], self.train_examples_limit
        )
        tokenizers = self._tokenizers(*self._train_data)
        self.model, self.training_model = self._build_models(tokenizers)
        self.state = self._restore()
        backend = keras.backend.backend()
        if backend not in self.state["backends"]:
            self.state["backends"].append(backend)
        self.validation = self._validation_callback()

    def _validation_callback(self):
        data, config = self.recipe.data, self.recipe.validation
        split = data["validation_split"]
        sources, targets = self._load_split(
            split, data["max_validation_examples"], scored=True
        )
        metric = config["metric"]
        tokenized = None
        if metric == "multi30k_bleu":
            tokenized = self._tokenized_references(split, len(sources))
        return ValidationScore(
            self.model,
            sources,
            targets,
            metric=metric,
            language=self.recipe.target_language,
            split=split,
            tokenized_references=tokenized,
            batch_size=config["batch_size"],
            max_length=config["max_length"],
            log_name=validation_log_name(metric),
        )

    def _count_batches(self):
        """Batches per epoch (known: a progress bar with a total and an ETA)."""
        train_sources, train_targets = self._train_data
        training = self.recipe.training
        return count_batches(
            train_sources,
            train_targets,
            self.model.preprocessor,
            training["batch_size"],
            training["bucket_boundaries"],
            drop_remainder=self.distribution is not None,
        )

    def _epoch_dataset(self, epoch, num_batches):
        """The training batches of `epoch` (1-based), in the epoch's order."""
        import tensorflow as tf

        from keras_s2s.datasets import make_dataset

        train_sources, train_targets = self._train_data
        training = self.recipe.training
        # The epoch's order is a NumPy permutation of its own seed, fixed
        # however many times Keras iterates the dataset (a model's first
        # `fit()` reads one batch to build itself).
        order = np.random.default_rng(self.recipe.seed + epoch - 1).permutation(
            len(train_sources)
        )
        dataset = make_dataset(
            [train_sources[i] for i in order],
            [train_targets[i] for i in order],
            self.model.preprocessor,
            batch_size=training["batch_size"],
            shuffle=False,
            bucket_boundaries=training["bucket_boundaries"],
            drop_remainder=self.distribution is not None,
        ).apply(tf.data.experimental.assert_cardinality(num_batches))
        return prepare_distributed_dataset(dataset, self.distribution)

    def _train(self):
        recipe, state, validation = self.recipe, self.state, self.validation
        training = recipe.training
        patience = training["early_stopping_patience"]
        num_batches = self._count_batches()
        while state["epoch"] < self.epochs and not state["stopped_early"]:
            epoch = state["epoch"] + 1
            probability = None
            if recipe.scheduled_sampling is not None:
                probability = scheduled_sampling_probability(
                    epoch, **recipe.scheduled_sampling
                )
                self.training_model.sampling_probability.assign(probability)
            dataset = self._epoch_dataset(epoch, num_batches)
            learning_rate = self._learning_rate()
            start = time.perf_counter()
            history = self.training_model.fit(
                dataset,
                initial_epoch=epoch - 1,
                epochs=self.epochs,
                callbacks=[
                    _SeedGlobalDropout(recipe.seed + epoch - 1),
                    keras.callbacks.TerminateOnNaN(),
                    validation,
                    *self.callbacks,
                    _StopAfterEpoch(),
                ],
                verbose=self.verbose,
                shuffle=False,  # `make_dataset` shuffles, with the epoch's seed.
            )
            seconds = time.perf_counter() - start
            logs = {k: v[-1] for k, v in history.history.items() if v}
            loss = logs.get("loss", float("nan"))
            if not math.isfinite(loss):
                latest = self.manager.latest_epoch()
                where = (
                    f"The last good checkpoint, '{self.manager.checkpoint_path(latest)}' "
                    f"(epoch {latest}), is kept"
                    if latest
                    else "No epoch had finished, so there is no checkpoint"
                )
                raise FloatingPointError(
                    f"Training stopped: the loss became {loss} during epoch "
                    f"{epoch}. {where}. Lower the learning rate or clip "
                    "gradients (optimizer global_clipnorm) in the recipe and "
                    "start a new run, or resume to retry."
                )
            score = float(logs[validation.log_name])
            improved = self._improved(score, state["best_score"])
            values = _to_numpy(self.model.variables)
            if improved:
                state["best_score"], state["best_epoch"] = score, epoch
                state["epochs_without_improvement"] = 0
                self.manager.save_best(epoch, values, {"score": score})
            else:
                state["epochs_without_improvement"] += 1
            self._reduce_learning_rate(improved)
            if patience is not None and state["epochs_without_improvement"] >= patience:
                state["stopped_early"] = True
            state["train_seconds"] += seconds
            state["history"].append(
                {
                    "epoch": epoch,
                    "loss": float(loss),
                    "validation_score": score,
                    "learning_rate": learning_rate,
                    "sampling_probability": probability,
                    "seconds": round(seconds, 3),
                    "validation_seconds": round(validation.last_seconds or 0.0, 3),
                    "backend": keras.backend.backend(),
                }
            )
            state["epoch"] = epoch
            self.manager.save(
                epoch,
                values,
                _to_numpy(self._extra_variables()),
                _to_numpy(self.training_model.optimizer.variables),
                state,
            )
            self._print(
                f"Epoch {epoch}: loss {loss:.4f}, validation score {score:.2f} "
                f"(best {state['best_score']:.2f} at epoch {state['best_epoch']}); "
                f"checkpoint '{self.manager.checkpoint_path(epoch)}'."
            )
            if state["stopped_early"]:
                self._print(
                    f"Early stopping: no better validation score for {patience} "
                    "epochs."
                )

    def _select(self):
        """Loads the best epoch's weights, or the average of the last N."""
        state, validation = self.state, self.validation
        if state["best_epoch"] is None:
            raise RuntimeError(
                "No epoch finished, so there is no model to select. Run more "
                "epochs."
            )
        best_values, _ = self.manager.load_best(state["best_epoch"])
        _assign(self.model.variables, best_values, "model")
        selection = {
            "selected": f"epoch {state['best_epoch']}",
            "validation_score": state["best_score"],
            "averaged_epochs": None,
            "averaged_score": None,
        }
        n = self.recipe.training["average_last_n"]
        epochs = self.manager.weights_epochs()[-n:] if n >= 2 else []
        if len(epochs) >= 2:
            averaged = average_checkpoints(self.manager, epochs)
            _assign(self.model.variables, averaged, "model")
            score = validation.evaluate().score
            selection["averaged_epochs"] = epochs
            selection["averaged_score"] = score
            self._print(
                f"Average of epochs {epochs[0]}-{epochs[-1]}: validation score "
                f"{score:.2f} (best single epoch {state['best_score']:.2f})."
            )
            if self._improved(score, state["best_score"]):
                selection["selected"] = (
                    f"average of epochs {', '.join(str(e) for e in epochs)}"
                )
                selection["validation_score"] = score
            else:
                _assign(self.model.variables, best_values, "model")
        return selection

    def _evaluate(self):
        """Scores the selected model on the validation and test splits.

        Returns:
            A tuple `(scores, first_validation_source)`.
        """
        recipe = self.recipe
        data, config = recipe.data, recipe.evaluation
        if config["search"] != recipe.validation["search"]:
            self.model.compile(sampler=config["search"])
        metrics = list(recipe.task_data.metrics)
        scores = []
        outputs_dir = os.path.join(self.checkpoint_dir, "outputs")
        os.makedirs(outputs_dir, exist_ok=True)
        splits = [(data["validation_split"], data["max_validation_examples"])]
        splits += [(split, data["max_test_examples"]) for split in data["test_splits"]]
        for split, limit in splits:
            sources, targets = self._load_split(split, limit, scored=True)
            if split == data["validation_split"]:
                first_validation_source = sources[0]
            hypotheses = translate(
                self.model,
                sources,
                batch_size=config["batch_size"],
                max_length=config["max_length"],
            )
            _write_text_atomically(
                os.path.join(outputs_dir, f"{split}.{recipe.target_language}.txt"),
                "\n".join(hypotheses) + "\n",
            )
            for metric in metrics:
                result = score_translations(
                    hypotheses,
                    targets,
                    metric,
                    language=recipe.target_language,
                    split=split,
                    tokenized_references=self._tokenized_references(split, len(targets))
                    if metric == "multi30k_bleu"
                    else None,
                    sources=sources,
                )
                scores.append(
                    {
                        "split": split,
                        "metric": metric,
                        "value": round(result.score, score_digits(metric)),
                        "signature": result.signature,
                        "examples": len(sources),
                    }
                )
        return scores, first_validation_source

    def _card_example(self, source):
        """`source` (a validation input) and its output, for the model card.

        The output is what `Seq2SeqLM.from_preset(name).generate([source])`
        gives: the recorded evaluation search.
        """
        output = self.model.generate(
            [source],
            sampler=self.recipe.evaluation["search"],
            max_length=self.recipe.evaluation["max_length"]
            or self.recipe.preprocessor["decoder_sequence_length"],
        )
        return {"input": source, "output": output[0]}

    def _card_use(self, in_domain_source):
        """The model card's domain, strengths, weaknesses and two examples."""
        card = self.recipe.model_card
        examples = [dict(self._card_example(in_domain_source), kind="in-domain")]
        if card.get("out_of_domain_example"):
            example = self._card_example(card["out_of_domain_example"])
            examples.append(dict(example, kind="out-of-domain"))
        use = {key: card[key] for key in ("domain", "strengths", "weaknesses") if key in card}
        return dict(use, examples=examples)

    def _finish(self, selection, run_start):
        recipe, state = self.recipe, self.state
        evaluation_start = time.perf_counter()
        scores, example_source = self._evaluate()
        evaluation_seconds = time.perf_counter() - evaluation_start
        headline = next(
            (
                s
                for s in scores
                if s["metric"] == recipe.evaluation["headline_metric"]
                and s["split"] == recipe.evaluation["headline_split"]
            ),
            None,
        )
        metadata = {
            "task": recipe.task,
            "source_language": recipe.source_language,
            "target_language": recipe.target_language,
            "dataset": recipe.data["dataset"],
            "parameter_count": int(self.model.count_params()),
            "vocabulary_size": {
                "joint": recipe.tokenizer["joint"],
                "source": int(self.model.backbone.encoder_vocabulary_size),
                "target": int(self.model.backbone.decoder_vocabulary_size),
            },
            "scores": scores,
            "headline_score": headline,
            "validation_search": recipe.validation["search"],
            "evaluation_search": recipe.evaluation["search"],
            "evaluation_max_length": recipe.evaluation["max_length"]
            or recipe.preprocessor["decoder_sequence_length"],
            "command": self.command,
            "backend": keras.backend.backend(),
            "keras_version": keras.version(),
            "hardware": self.hardware or describe_hardware(),
            "training": {
                "seconds": round(state["train_seconds"] + evaluation_seconds, 1),
                "epochs_run": state["epoch"],
                "stopped_early": state["stopped_early"],
                "best_epoch": state["best_epoch"],
                "best_score": state["best_score"],
                "selected": selection["selected"],
                "averaged_epochs": selection["averaged_epochs"],
                "averaged_score": selection["averaged_score"],
                "max_train_examples": self.train_examples_limit,
                "backends": state["backends"],
                "history": state["history"],
            },
            "recipe": recipe.get_config(),
            "recipe_fingerprint": recipe.fingerprint(),
            "example": self._card_example(example_source),
            "model_card": self._card_use(example_source),
        }
        preset_dir = None
        if self.output_dir is not None:
            name = os.path.basename(self.output_dir)
            card = format_model_card(name, metadata, recipe.get_config())
            preset_dir = write_preset(
                self.model,
                self.output_dir,
                metadata=metadata,
                model_card=card,
                overwrite=self.overwrite,
            )
            self._print(f"Preset written to '{preset_dir}'.")
        for score in scores:
            self._print(
                f"{score['split']:>18} {score['metric']:>14}: {score['value']:6.2f}"
            )
        return {
            "scores": scores,
            "headline_score": headline,
            "best_epoch": state["best_epoch"],
            "best_score": state["best_score"],
            "selected": selection["selected"],
            "epochs_run": state["epoch"],
            "preset_dir": preset_dir,
            "history": state["history"],
            "run_seconds": time.perf_counter() - run_start,
            "metadata": metadata,
        }
