"""The data sets a recipe can train on: splits, training pairs, scored sets, metrics.

Each data set is one `TaskData`: which splits it has, how its training pairs
are read, how a split is grouped for scoring (E2E groups the human references
of one meaning representation, CMUdict the pronunciations of one word) and
which metrics score it.
"""

from keras_s2s.datasets import cmudict
from keras_s2s.datasets import e2e
from keras_s2s.datasets import multi30k
from keras_s2s.datasets import sentence_compression
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
        load_pairs: `(split, data_dir=) -> (sources, targets)`, one pair
            per training example.
        load_scored: `(split, data_dir=) -> (sources, references)` with
            the references grouped per source, or None when the scored set
            is the plain pairs.
    """

    name = None
    task = None
    splits = ()
    default_splits = (None, None, [])
    metrics = ()
    needs_languages = False
    source_language = None
    target_language = None
    load_pairs = None
    load_scored = None

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
        return self.load_pairs(split, data_dir=data_dir)

    def scored_set(self, split, data_dir=None):
        """`(sources, references)`: one source per output to score.

        `references[i]` is a string or a list of acceptable strings.
        """
        if self.load_scored is None:
            return self.training_pairs(split, data_dir=data_dir)
        return self.load_scored(split, data_dir=data_dir)


class Multi30kData(TaskData):
    """Multi30k translation (any direction between en, de, fr, cs)."""

    name = "multi30k"
    task = "translation"
    splits = multi30k.MULTI30K_SPLITS
    default_splits = ("train", "val", ["test_2016_flickr"])
    metrics = ("multi30k_bleu", "sacrebleu", "chrf")
    needs_languages = True

    def check(self):
        data = self.data_config
        languages = multi30k.MULTI30K_LANGUAGES
        check_choice("data.source_language", data["source_language"], languages)
        check_choice("data.target_language", data["target_language"], languages)
        if data["source_language"] == data["target_language"]:
            raise ValueError(
                "Expected data.source_language and data.target_language to "
                f"differ. Received: both {data['source_language']!r}"
            )
        super().check()

    def languages(self):
        return self.data_config["source_language"], self.data_config["target_language"]

    def training_pairs(self, split, data_dir=None):
        source, target = self.languages()
        return multi30k.load_multi30k(split, source, target, data_dir=data_dir)


class E2EData(TaskData):
    """E2E NLG: meaning representation -> restaurant description (English).

    Training uses every (MR, reference) row; a scored split has one source
    per distinct MR with all its references.
    """

    name = "e2e"
    task = "data-to-text"
    splits = e2e.E2E_SPLITS
    default_splits = ("train", "dev", [])
    metrics = ("e2e_bleu", "rouge_l", "slot_coverage")
    source_language = "mr"
    target_language = "en"
    load_pairs = staticmethod(e2e.load_e2e)
    load_scored = staticmethod(e2e.load_e2e_references)


class CMUdictData(TaskData):
    """CMUdict grapheme-to-phoneme: an uppercase word -> ARPAbet phonemes.

    Training uses every (word, pronunciation) entry; a scored split has one
    source per distinct word with all its pronunciations. Words that have an
    entry in the training split are left out of every other scored split:
    dev was cut per entry, so 721 of its words have a variant in train, and
    scoring only the new words measures what the test split (which shares no
    word with train) measures.
    """

    name = "cmudict"
    task = "grapheme-to-phoneme"
    splits = cmudict.CMUDICT_SPLITS
    default_splits = ("train", "dev", [])
    metrics = ("wer", "per")
    source_language = "graphemes"
    target_language = "arpabet"
    load_pairs = staticmethod(cmudict.load_cmudict)

    def scored_set(self, split, data_dir=None):
        train_split = self.data_config.get("train_split", self.default_splits[0])
        unseen_in = None if split == train_split else train_split
        return cmudict.load_cmudict_references(split, data_dir=data_dir, unseen_in=unseen_in)


class SentenceCompressionData(TaskData):
    """Google sentence compression: an English sentence -> its compression."""

    name = "sentence_compression"
    task = "sentence-compression"
    splits = sentence_compression.SENTENCE_COMPRESSION_SPLITS
    default_splits = ("train", "dev", [])
    metrics = ("token_f1", "compression_ratio", "rouge_l")
    source_language = "en"
    target_language = "en"
    load_pairs = staticmethod(sentence_compression.load_sentence_compression)


TASK_DATA = {
    data.name: data
    for data in (Multi30kData, E2EData, CMUdictData, SentenceCompressionData)
}
DATASETS = tuple(TASK_DATA)


def get_task_data(data_config):
    """The `TaskData` for a recipe's (complete) `data` section."""
    check_choice("data.dataset", data_config.get("dataset"), DATASETS)
    return TASK_DATA[data_config["dataset"]](data_config)
