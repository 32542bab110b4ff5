"""The data sets a recipe can train on: splits, training pairs, scored sets, metrics.

Each data set is one `TaskData`: which splits it has, how its training pairs
are read, how a split is grouped for scoring (E2E groups the human references
of one meaning representation, CMUdict the pronunciations of one word) and
which metrics score it.
"""

from keras_s2s.datasets.data_files import check_choice


class TaskData:
    """One data set as a recipe sees it.

    Attributes:
        name: the recipe's `data.dataset`.
        task: the task recorded in the preset metadata.
        splits: the split names.
        default_splits: `(train, validation, [tests])` used when a recipe
            names none.
        metrics: the metrics the final evaluation reports, headline first.
        needs_languages: whether `data.source_language` / `target_language`
            choose the direction (Multi30k).
    """

    name = None
    task = None
    splits = ()
    default_splits = (None, None, [])
    metrics = ()
    needs_languages = False
    source_language = None
    target_language = None

    def __init__(self, data_config=None):
        self.data_config = dict(data_config or {})

    def check(self):
        """Raises a ValueError for splits or languages this data set lacks."""
        data = self.data_config
        for key in ("train_split", "validation_split"):
            check_choice(f"data.{key}", data[key], self.splits)
        if not isinstance(data["test_splits"], list):
            raise ValueError(
                "Expected data.test_splits to be a list of split names. "
                f"Received: {data['test_splits']!r}"
            )
        for split in data["test_splits"]:
            check_choice("data.test_splits[i]", split, self.splits)

    def languages(self):
        """`(source_language, target_language)` recorded in the preset."""
        return self.source_language, self.target_language

    def training_pairs(self, split, data_dir=None):
        """`(sources, targets)`: one pair per training example."""
        raise NotImplementedError

    def scored_set(self, split, data_dir=None):
        """`(sources, references)`: one source per output to score.

        `references[i]` is a string or a list of acceptable strings.
        """
        return self.training_pairs(split, data_dir=data_dir)


class Multi30kData(TaskData):
    """Multi30k translation (any direction between en, de, fr, cs)."""

    name = "multi30k"
    task = "translation"
    default_splits = ("train", "val", ["test_2016_flickr"])
    metrics = ("multi30k_bleu", "sacrebleu", "chrf")
    needs_languages = True

    @property
    def splits(self):
        from keras_s2s.datasets.multi30k import MULTI30K_SPLITS

        return MULTI30K_SPLITS

    def check(self):
        from keras_s2s.datasets.multi30k import MULTI30K_LANGUAGES

        data = self.data_config
        check_choice("data.source_language", data["source_language"], MULTI30K_LANGUAGES)
        check_choice("data.target_language", data["target_language"], MULTI30K_LANGUAGES)
        if data["source_language"] == data["target_language"]:
            raise ValueError(
                "Expected data.source_language and data.target_language to "
                f"differ. Received: both {data['source_language']!r}"
            )
        super().check()

    def languages(self):
        return self.data_config["source_language"], self.data_config["target_language"]

    def training_pairs(self, split, data_dir=None):
        from keras_s2s.datasets import load_multi30k

        source, target = self.languages()
        return load_multi30k(split, source, target, data_dir=data_dir)


class E2EData(TaskData):
    """E2E NLG: meaning representation -> restaurant description (English).

    Training uses every (MR, reference) row; a scored split has one source
    per distinct MR with all its references.
    """

    name = "e2e"
    task = "data-to-text"
    default_splits = ("train", "dev", [])
    metrics = ("e2e_bleu", "rouge_l", "slot_coverage")
    source_language = "mr"
    target_language = "en"

    @property
    def splits(self):
        from keras_s2s.datasets.e2e import E2E_SPLITS

        return E2E_SPLITS

    def training_pairs(self, split, data_dir=None):
        from keras_s2s.datasets import load_e2e

        return load_e2e(split, data_dir=data_dir)

    def scored_set(self, split, data_dir=None):
        from keras_s2s.datasets import load_e2e_references

        return load_e2e_references(split, data_dir=data_dir)


class CMUdictData(TaskData):
    """CMUdict grapheme-to-phoneme: an uppercase word -> ARPAbet phonemes.

    Training uses every (word, pronunciation) entry; a scored split has one
    source per distinct word with all its pronunciations.
    """

    name = "cmudict"
    task = "grapheme-to-phoneme"
    default_splits = ("train", "dev", [])
    metrics = ("wer", "per")
    source_language = "graphemes"
    target_language = "arpabet"

    @property
    def splits(self):
        from keras_s2s.datasets.cmudict import CMUDICT_SPLITS

        return CMUDICT_SPLITS

    def training_pairs(self, split, data_dir=None):
        from keras_s2s.datasets import load_cmudict

        return load_cmudict(split, data_dir=data_dir)

    def scored_set(self, split, data_dir=None):
        from keras_s2s.datasets import load_cmudict_references

        return load_cmudict_references(split, data_dir=data_dir)


class SentenceCompressionData(TaskData):
    """Google sentence compression: an English sentence -> its compression."""

    name = "sentence_compression"
    task = "sentence-compression"
    default_splits = ("train", "dev", [])
    metrics = ("token_f1", "compression_ratio", "rouge_l")
    source_language = "en"
    target_language = "en"

    @property
    def splits(self):
        from keras_s2s.datasets.sentence_compression import SENTENCE_COMPRESSION_SPLITS

        return SENTENCE_COMPRESSION_SPLITS

    def training_pairs(self, split, data_dir=None):
        from keras_s2s.datasets import load_sentence_compression

        return load_sentence_compression(split, data_dir=data_dir)


TASK_DATA = {
    data.name: data
    for data in (Multi30kData, E2EData, CMUdictData, SentenceCompressionData)
}
DATASETS = tuple(TASK_DATA)


def get_task_data(data_config):
    """The `TaskData` for a recipe's (complete) `data` section."""
    check_choice("data.dataset", data_config.get("dataset"), DATASETS)
    return TASK_DATA[data_config["dataset"]](data_config)
