"""Training recipes: one JSON (or YAML) file per preset, kept in `zoo/`."""

import copy
import hashlib
import json
import os
import re

from keras_s2s.training.evaluation import LOWER_IS_BETTER
from keras_s2s.training.evaluation import METRICS
from keras_s2s.training.evaluation import NOT_A_QUALITY
from keras_s2s.training.task_data import DATASETS
from keras_s2s.training.task_data import TASK_DATA
from keras_s2s.training.task_data import get_task_data

TOKENIZER_TYPES = ("sentencepiece", "symbol")
SENTENCEPIECE_MODEL_TYPES = ("unigram", "bpe")
SYMBOL_SPLITS = ("characters", "whitespace")
CASE_NORMALIZATIONS = (None, "upper", "lower")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")

DATA_DEFAULTS = {
    "dataset": "multi30k",
    "source_language": None,
    "target_language": None,
    # None: the data set's own (Multi30k: train, val, [test_2016_flickr]).
    "train_split": None,
    "validation_split": None,
    "test_splits": None,
    "max_train_examples": None,
    "max_validation_examples": None,
    "max_test_examples": None,
}
TOKENIZER_DEFAULTS = {
    "type": "sentencepiece",
    "vocabulary_size": 8000,
    "joint": True,
    "model_type": "unigram",
    "character_coverage": 1.0,
}
# `type: "symbol"` (one id per character or per space-separated symbol, e.g.
# graphemes and phonemes) takes these keys instead of the SentencePiece ones.
SYMBOL_TOKENIZER_DEFAULTS = {
    "type": "symbol",
    "joint": False,
    "source_split": "characters",
    "target_split": "whitespace",
    "normalize_case": None,
    "min_frequency": 1,
}
PREPROCESSOR_DEFAULTS = {
    "encoder_sequence_length": 64,
    "decoder_sequence_length": 64,
}
OPTIMIZER_DEFAULTS = {
    "class_name": "Adam",
    "config": {"learning_rate": 1e-3, "global_clipnorm": 5.0},
}
TRAINING_DEFAULTS = {
    "batch_size": 64,
    "bucket_boundaries": None,
    "epochs": 20,
    "early_stopping_patience": 5,
    "average_last_n": 0,
    "label_smoothing": 0.0,
    "reduce_lr_on_plateau": None,
}
REDUCE_LR_DEFAULTS = {"factor": 0.5, "patience": 2, "min_learning_rate": 1e-5}
SCHEDULED_SAMPLING_DEFAULTS = {
    "max_probability": 0.25,
    "start_epoch": 1,
    "ramp_epochs": 1,
}
VALIDATION_DEFAULTS = {
    "metric": None,  # None: the data set's first metric.
    "search": "greedy",
    "batch_size": 128,
    "max_length": None,
}
EVALUATION_DEFAULTS = {
    "search": None,
    "batch_size": 128,
    "max_length": None,
    "headline_metric": None,
    "headline_split": None,
}
MODEL_FORBIDDEN_KEYS = ("encoder_vocabulary_size", "decoder_vocabulary_size")


def _merge(section, value, defaults):
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ValueError(
            f"Expected recipe section '{section}' to be a mapping. "
            f"Received: {section}={value!r}"
        )
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise ValueError(
            f"Unknown key '{unknown[0]}' in recipe section '{section}'. "
            f"Allowed keys: {sorted(defaults)}"
        )
    merged = copy.deepcopy(defaults)
    merged.update(copy.deepcopy(value))
    return merged


def _positive_int(where, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"Expected {where} to be a positive integer. Received: {where}={value!r}"
        )


def _non_negative_int(where, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"Expected {where} to be an integer >= 0. Received: {where}={value!r}"
        )


def _choice(where, value, allowed):
    if value not in allowed:
        raise ValueError(
            f"Expected {where} in {{{', '.join(repr(a) for a in allowed)}}}. "
            f"Received: {where}={value!r}"
        )


def _fraction(where, value, low=0.0, high=1.0, include_high=True):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and low <= value and (value <= high if include_high else value < high)
    if not ok:
        bracket = "]" if include_high else ")"
        raise ValueError(
            f"Expected {where} to be a number in [{low}, {high}{bracket}. "
            f"Received: {where}={value!r}"
        )


def _search(where, value):
    if isinstance(value, str) or (isinstance(value, dict) and "class_name" in value):
        return
    raise ValueError(
        f"Expected {where} to be a sampler name (e.g. 'greedy', 'beam') or a "
        "sampler config {'class_name': ..., 'config': {...}}. "
        f"Received: {where}={value!r}"
    )


class Recipe:
    """A complete, validated description of how one preset is trained.

    A recipe names the data set and languages, the subword tokenizer, the
    model (`Seq2SeqBackbone` arguments), the optimizer, the batch and epoch
    settings and the search used to score the validation set each epoch.
    Every section is a mapping; missing keys take the defaults below and
    unknown keys are errors. `get_config()` returns the complete recipe
    (defaults filled in), which is what presets record.

    Args:
        name: str, the preset name (`[a-z0-9_]+`), e.g.
            `"multi30k_en_de_gru_bahdanau"`.
        data: `dataset` (`"multi30k"`, `"e2e"`, `"cmudict"` or
            `"sentence_compression"`), `source_language` and
            `target_language` (Multi30k only), `train_split`,
            `validation_split`, `test_splits` (list; default: the data set's
            own, Multi30k `train`/`val`/`[test_2016_flickr]`, the others
            `train`/`dev`/`[]`), and `max_train_examples`,
            `max_validation_examples`, `max_test_examples` (first N of
            each split; None for all).
        tokenizer: `type` `"sentencepiece"`: `vocabulary_size` (int, or
            `{"source": int, "target": int}` when `joint` is False),
            `joint` (one vocabulary trained on both sides), `model_type`
            (`"unigram"` or `"bpe"`), `character_coverage`. `type`
            `"symbol"` (graphemes and phonemes): separate vocabularies of
            the symbols seen in training, `source_split` / `target_split`
            (`"characters"` or `"whitespace"`), `normalize_case` (None,
            `"upper"`, `"lower"`), `min_frequency`.
        model: keyword arguments of `keras_s2s.models.Seq2SeqBackbone`
            except the vocabulary sizes (taken from the tokenizer).
        preprocessor: `encoder_sequence_length`, `decoder_sequence_length`
            (training pairs longer than these are truncated; generation
            stops at `decoder_sequence_length` tokens by default).
        optimizer: a Keras optimizer config `{"class_name": "Adam",
            "config": {...}}`; `learning_rate` may be a schedule config.
            Gradients are clipped by default: a config that sets none of
            `clipnorm`, `clipvalue` and `global_clipnorm` gets
            `global_clipnorm=5.0` (set `"global_clipnorm": null` to turn
            clipping off).
        training: `batch_size`, `bucket_boundaries` (token lengths for
            `keras_s2s.datasets.make_dataset`, or None), `epochs`,
            `early_stopping_patience` (epochs without a better validation
            score; None never stops early), `average_last_n` (average the
            weights of the last N epochs at the end; 0 or 1 turns it off),
            `label_smoothing`, `reduce_lr_on_plateau` (None, or
            `{"factor", "patience", "min_learning_rate"}`: multiply the
            learning rate by `factor` after `patience` epochs without a
            better validation score).
        scheduled_sampling: None, or `{"max_probability", "start_epoch",
            "ramp_epochs"}`; see `ScheduledSamplingModel` and
            `scheduled_sampling_probability`.
        validation: `metric` (default: the data set's first; Multi30k:
            `"multi30k_bleu"`, the literature protocol, `"sacrebleu"`,
            `"chrf"`; E2E: `"e2e_bleu"`, `"rouge_l"`, `"slot_coverage"`;
            CMUdict: `"wer"`, `"per"`, lower is better; compression:
            `"token_f1"`, `"rouge_l"`),
            `search` (a sampler name or config), `batch_size`,
            `max_length` (None: the decoder sequence length).
        evaluation: the final scoring of the selected model on the
            validation and test splits: `search` (None: the validation
            search), `batch_size`, `max_length`, and `headline_metric` /
            `headline_split` (the score `list_presets()` shows; default the
            validation metric on the first test split).
        description: str, one line for the model card.
        model_card: what the model card and `keras-s2s presets` say about
            the model's use: `domain` (the training data's kind of text,
            e.g. "image captions"), `strengths`, `weaknesses` (one sentence
            each) and `out_of_domain_example` (an input outside that domain,
            whose output the card shows beside an in-domain one). All
            optional strings; they do not change training.
        task: str, recorded in the preset metadata. Defaults to the data
            set's (`"translation"`, `"data-to-text"`,
            `"grapheme-to-phoneme"`, `"sentence-compression"`).
        seed: int, seeds weight initialization, dropout and the shuffling
            (epoch `e` visits the pairs in a permutation seeded with
            `seed + e - 1`).

    Example:
    >>> recipe = Recipe.from_dict({
    ...     "name": "tiny_en_de",
    ...     "data": {"source_language": "en", "target_language": "de"},
    ...     "tokenizer": {"vocabulary_size": 300},
    ...     "model": {"embedding_dim": 16, "hidden_dim": 32},
    ... })
    >>> recipe.training["batch_size"], recipe.validation["search"]
    (64, 'greedy')
    """

    SECTIONS = (
        "name",
        "description",
        "task",
        "seed",
        "data",
        "tokenizer",
        "preprocessor",
        "model",
        "optimizer",
        "training",
        "scheduled_sampling",
        "validation",
        "evaluation",
        "model_card",
    )

    MODEL_CARD_KEYS = ("domain", "strengths", "weaknesses", "out_of_domain_example")

    def __init__(
        self,
        name,
        data,
        tokenizer=None,
        model=None,
        preprocessor=None,
        optimizer=None,
        training=None,
        scheduled_sampling=None,
        validation=None,
        evaluation=None,
        description="",
        task=None,
        seed=1337,
        model_card=None,
    ):
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(
                "Expected name to be lowercase letters, digits and underscores "
                f"(it names the preset directory). Received: name={name!r}"
            )
        if not isinstance(description, str):
            raise ValueError(
                f"Expected description to be a string. Received: {description!r}"
            )
        _non_negative_int("seed", seed)
        self.name = name
        self.description = description
        self.model_card = self._check_model_card(model_card)
        self.seed = seed
        self.data = self._check_data(_merge("data", data, DATA_DEFAULTS))
        self.task_data = get_task_data(self.data)
        if task is None:
            task = self.task_data.task
        if not isinstance(task, str) or not task:
            raise ValueError(f"Expected task to be a non-empty string. Received: {task!r}")
        self.task = task
        self.tokenizer = self._check_tokenizer(tokenizer)
        self.model = self._check_model(model)
        self.preprocessor = _merge("preprocessor", preprocessor, PREPROCESSOR_DEFAULTS)
        for key, value in self.preprocessor.items():
            _positive_int(f"preprocessor.{key}", value)
        self.optimizer = self._check_optimizer(optimizer)
        self.training = self._check_training(
            _merge("training", training, TRAINING_DEFAULTS)
        )
        self.scheduled_sampling = self._check_scheduled_sampling(scheduled_sampling)
        self.validation = _merge("validation", validation, VALIDATION_DEFAULTS)
        if self.validation["metric"] is None:
            self.validation["metric"] = self.task_data.metrics[0]
        _choice("validation.metric", self.validation["metric"], self.task_data.metrics)
        if self.validation["metric"] in NOT_A_QUALITY:
            raise ValueError(
                f"validation.metric {self.validation['metric']!r} does not rank "
                "outputs by quality, so it cannot select a model. Choose one of "
                f"{[m for m in self.task_data.metrics if m not in NOT_A_QUALITY]}."
            )
        _search("validation.search", self.validation["search"])
        _positive_int("validation.batch_size", self.validation["batch_size"])
        _positive_int("validation.max_length", self.validation["max_length"], True)
        self.evaluation = self._check_evaluation(
            _merge("evaluation", evaluation, EVALUATION_DEFAULTS)
        )

    # ----------------------------------------------------------- validation

    @staticmethod
    def _check_data(data):
        _choice("data.dataset", data["dataset"], DATASETS)
        task_class = TASK_DATA[data["dataset"]]
        train, validation, tests = task_class.default_splits
        if data["train_split"] is None:
            data["train_split"] = train
        if data["validation_split"] is None:
            data["validation_split"] = validation
        if data["test_splits"] is None:
            data["test_splits"] = list(tests)
        if not task_class.needs_languages:
            for key in ("source_language", "target_language"):
                if data[key] is not None:
                    raise ValueError(
                        f"data.{key} applies to translation data sets; remove it "
                        f"for data.dataset={data['dataset']!r}."
                    )
        get_task_data(data).check()
        for key in ("max_train_examples", "max_validation_examples", "max_test_examples"):
            _positive_int(f"data.{key}", data[key], allow_none=True)
        return data

    @staticmethod
    def _check_tokenizer(tokenizer):
        kind = (tokenizer or {}).get("type", "sentencepiece")
        _choice("tokenizer.type", kind, TOKENIZER_TYPES)
        if kind == "symbol":
            tokenizer = _merge("tokenizer", tokenizer, SYMBOL_TOKENIZER_DEFAULTS)
            _choice("tokenizer.source_split", tokenizer["source_split"], SYMBOL_SPLITS)
            _choice("tokenizer.target_split", tokenizer["target_split"], SYMBOL_SPLITS)
            _choice(
                "tokenizer.normalize_case", tokenizer["normalize_case"], CASE_NORMALIZATIONS
            )
            _positive_int("tokenizer.min_frequency", tokenizer["min_frequency"])
            if tokenizer["joint"] is not False:
                raise ValueError(
                    "A symbol tokenizer has separate source and target "
                    "vocabularies: set tokenizer.joint to false."
                )
            return tokenizer
        tokenizer = _merge("tokenizer", tokenizer, TOKENIZER_DEFAULTS)
        _choice("tokenizer.model_type", tokenizer["model_type"], SENTENCEPIECE_MODEL_TYPES)
        if not isinstance(tokenizer["joint"], bool):
            raise ValueError(
                f"Expected tokenizer.joint to be true or false. Received: "
                f"{tokenizer['joint']!r}"
            )
        size = tokenizer["vocabulary_size"]
        if isinstance(size, dict):
            if tokenizer["joint"] or set(size) != {"source", "target"}:
                raise ValueError(
                    "tokenizer.vocabulary_size may be {'source': int, 'target': "
                    "int} only with tokenizer.joint = false. Received: "
                    f"vocabulary_size={size!r}, joint={tokenizer['joint']!r}"
                )
            sizes = list(size.values())
        else:
            sizes = [size]
        for value in sizes:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 4:
                raise ValueError(
                    "Expected tokenizer.vocabulary_size to be an integer > 4. "
                    f"Received: {size!r}"
                )
        _fraction("tokenizer.character_coverage", tokenizer["character_coverage"])
        return tokenizer

    @staticmethod
    def _check_model(model):
        if model is None:
            model = {}
        if not isinstance(model, dict):
            raise ValueError(
                "Expected recipe section 'model' to be a mapping of "
                f"Seq2SeqBackbone arguments. Received: model={model!r}"
            )
        for key in MODEL_FORBIDDEN_KEYS:
            if key in model:
                raise ValueError(
                    f"Remove model.{key} from the recipe: the vocabulary sizes "
                    "come from the trained tokenizer."
                )
        import inspect

        from keras_s2s.models.seq2seq_backbone import Seq2SeqBackbone

        allowed = set(inspect.signature(Seq2SeqBackbone.__init__).parameters)
        allowed -= {"self", "kwargs", *MODEL_FORBIDDEN_KEYS}
        unknown = sorted(set(model) - allowed)
        if unknown:
            raise ValueError(
                f"Unknown key '{unknown[0]}' in recipe section 'model'. Allowed "
                f"keys (Seq2SeqBackbone arguments): {sorted(allowed)}"
            )
        return copy.deepcopy(model)

    @staticmethod
    def _check_optimizer(optimizer):
        if optimizer is None:
            return copy.deepcopy(OPTIMIZER_DEFAULTS)
        if (
            not isinstance(optimizer, dict)
            or "class_name" not in optimizer
            or not isinstance(optimizer.get("config", {}), dict)
        ):
            raise ValueError(
                "Expected optimizer to be a Keras optimizer config "
                "{'class_name': 'Adam', 'config': {'learning_rate': 0.001}}. "
                f"Received: optimizer={optimizer!r}"
            )
        optimizer = copy.deepcopy(optimizer)
        config = optimizer.setdefault("config", {})
        if not any(k in config for k in ("clipnorm", "clipvalue", "global_clipnorm")):
            config["global_clipnorm"] = OPTIMIZER_DEFAULTS["config"]["global_clipnorm"]
        return optimizer

    @staticmethod
    def _check_training(training):
        _positive_int("training.batch_size", training["batch_size"])
        _positive_int("training.epochs", training["epochs"])
        _positive_int(
            "training.early_stopping_patience",
            training["early_stopping_patience"],
            allow_none=True,
        )
        _non_negative_int("training.average_last_n", training["average_last_n"])
        _fraction(
            "training.label_smoothing", training["label_smoothing"], include_high=False
        )
        boundaries = training["bucket_boundaries"]
        if boundaries is not None and (
            not isinstance(boundaries, list)
            or not boundaries
            or any(isinstance(b, bool) or not isinstance(b, int) or b < 1
                   for b in boundaries)
            or any(a >= b for a, b in zip(boundaries, boundaries[1:]))
        ):
            raise ValueError(
                "Expected training.bucket_boundaries to be null or a strictly "
                f"increasing list of positive integers. Received: {boundaries!r}"
            )
        plateau = training["reduce_lr_on_plateau"]
        if plateau is not None:
            plateau = _merge(
                "training.reduce_lr_on_plateau", plateau, REDUCE_LR_DEFAULTS
            )
            _fraction(
                "training.reduce_lr_on_plateau.factor",
                plateau["factor"],
                include_high=False,
            )
            _positive_int("training.reduce_lr_on_plateau.patience", plateau["patience"])
            _fraction(
                "training.reduce_lr_on_plateau.min_learning_rate",
                plateau["min_learning_rate"],
            )
            training["reduce_lr_on_plateau"] = plateau
        return training

    @staticmethod
    def _check_scheduled_sampling(scheduled_sampling):
        if scheduled_sampling is None:
            return None
        merged = _merge(
            "scheduled_sampling", scheduled_sampling, SCHEDULED_SAMPLING_DEFAULTS
        )
        _fraction("scheduled_sampling.max_probability", merged["max_probability"])
        _positive_int("scheduled_sampling.start_epoch", merged["start_epoch"])
        _non_negative_int("scheduled_sampling.ramp_epochs", merged["ramp_epochs"])
        return merged

    def _check_model_card(self, model_card):
        model_card = dict(model_card or {})
        unknown = sorted(set(model_card) - set(self.MODEL_CARD_KEYS))
        if unknown:
            raise ValueError(
                f"Unknown key '{unknown[0]}' in recipe section 'model_card'. "
                f"Allowed keys: {list(self.MODEL_CARD_KEYS)}"
            )
        for key, value in model_card.items():
            if not isinstance(value, str):
                raise ValueError(
                    f"Expected model_card.{key} to be a string. Received: {value!r}"
                )
        return model_card

    def _check_evaluation(self, evaluation):
        if evaluation["search"] is None:
            evaluation["search"] = copy.deepcopy(self.validation["search"])
        _search("evaluation.search", evaluation["search"])
        _positive_int("evaluation.batch_size", evaluation["batch_size"])
        _positive_int("evaluation.max_length", evaluation["max_length"], True)
        if evaluation["headline_metric"] is None:
            evaluation["headline_metric"] = self.validation["metric"]
        _choice(
            "evaluation.headline_metric",
            evaluation["headline_metric"],
            self.task_data.metrics,
        )
        splits = self.data["test_splits"] or [self.data["validation_split"]]
        if evaluation["headline_split"] is None:
            evaluation["headline_split"] = splits[0]
        allowed = [self.data["validation_split"], *self.data["test_splits"]]
        _choice("evaluation.headline_split", evaluation["headline_split"], allowed)
        return evaluation

    # ------------------------------------------------------------ accessors

    @property
    def source_language(self):
        """The source language (or `"mr"`, `"graphemes"`) of the preset."""
        return self.task_data.languages()[0]

    @property
    def target_language(self):
        """The target language (or `"arpabet"`) of the preset."""
        return self.task_data.languages()[1]

    @property
    def greater_is_better(self):
        """Whether a higher validation score is a better model."""
        return self.validation["metric"] not in LOWER_IS_BETTER

    def get_config(self):
        """The complete recipe as a JSON-serializable dict (defaults filled)."""
        return copy.deepcopy({key: getattr(self, key) for key in self.SECTIONS})

    def fingerprint(self):
        """sha256 of everything that shapes training (not epochs or evaluation).

        A checkpoint directory is only resumed by a recipe with the same
        fingerprint; `training.epochs` may change (to train longer) and the
        `description`, `model_card` and `evaluation` sections do not count.
        """
        config = self.get_config()
        for key in ("description", "model_card", "evaluation"):
            config.pop(key)
        config["training"] = dict(config["training"], epochs=None)
        text = json.dumps(config, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, config):
        """Builds a recipe from a dict; unknown top-level keys are errors."""
        if not isinstance(config, dict):
            raise ValueError(
                f"Expected a recipe mapping. Received: {type(config).__name__}"
            )
        unknown = sorted(set(config) - set(cls.SECTIONS))
        if unknown:
            raise ValueError(
                f"Unknown recipe key '{unknown[0]}'. Allowed keys: "
                f"{list(cls.SECTIONS)}"
            )
        if "name" not in config or "data" not in config:
            raise ValueError("A recipe needs at least 'name' and 'data'.")
        return cls(**config)

    @classmethod
    def from_file(cls, path):
        """Reads a `.json` (or, with PyYAML installed, `.yaml`/`.yml`) recipe."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No recipe file at '{path}'.")
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except UnicodeDecodeError as error:
            raise ValueError(
                f"Recipe '{path}' is not UTF-8 text ({error.reason} at byte "
                f"{error.start})."
            ) from None
        if path.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError as error:
                raise ImportError(
                    f"Reading the YAML recipe '{path}' needs PyYAML "
                    "(`pip install pyyaml`), or write the recipe as JSON."
                ) from error
            config = yaml.safe_load(text)
        elif path.endswith(".json"):
            try:
                config = json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"Recipe '{path}' is not valid JSON: {error}") from error
        else:
            raise ValueError(
                f"Expected a recipe file ending in .json, .yaml or .yml. Received: '{path}'"
            )
        try:
            return cls.from_dict(config)
        except ValueError as error:
            raise ValueError(f"Recipe '{path}': {error}") from error
