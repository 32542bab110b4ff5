"""CMUdict grapheme-to-phoneme (word -> phonemes), standard word split."""

from keras_s2s.datasets.data_files import check_choice
from keras_s2s.datasets.data_files import dataset_path
from keras_s2s.datasets.data_files import read_lines

CMUDICT_SPLITS = ("train", "dev", "test")


def read_cmudict(path):
    """Reads `WORD  PH ON EMES` lines into `(words, pronunciations)`.

    Raises:
        ValueError: naming the file and line when a line is empty or not a
            word, two spaces, and space-separated phonemes.
    """
    words, pronunciations = [], []
    for number, line in enumerate(read_lines(path), start=1):
        word, separator, phonemes = line.partition("  ")
        word, phonemes = word.strip(), " ".join(phonemes.split())
        if not separator or not word or not phonemes or " " in word:
            raise ValueError(
                f"{path}, line {number}: expected 'WORD  PH ON EMES' (a word, "
                f"two spaces, space-separated phonemes). Received: {line!r}"
            )
        words.append(word)
        pronunciations.append(phonemes)
    return words, pronunciations


def load_cmudict(split="train", data_dir=None, download=False):
    """Loads CMUdict (word, pronunciation) entries, one per line.

    Words are uppercase letters and apostrophes; pronunciations are
    space-separated ARPAbet phonemes without stress marks. A word with
    several pronunciations has several entries. Train has 108,952 entries
    (102,068 words), dev 5,447; the test split (12,855 entries) is not
    shipped with the data directory and needs `download=True`.

    Args:
        split: `"train"`, `"dev"` or `"test"`.
        data_dir: root data directory.
        download: fetch missing files (checksum-verified).

    Returns:
        `(words, pronunciations)`, two lists of strings of equal length.

    Example:

    >>> words, phonemes = load_cmudict("train")
    >>> len(words), words[0], phonemes[0]
    (108952, "'CAUSE", 'K AH Z')
    """
    check_choice("split", split, CMUDICT_SPLITS)
    path = dataset_path("cmudict", f"cmudict-0.7b.{split}.gz", data_dir, download)
    return read_cmudict(path)


def load_cmudict_references(split="test", data_dir=None, download=False, unseen_in=None):
    """Loads CMUdict grouped per word, for WER/PER with several references.

    Args:
        split: `"train"`, `"dev"` or `"test"`.
        data_dir: root data directory.
        download: fetch missing files (checksum-verified).
        unseen_in: a split name, usually `"train"`: keep only the words that
            have no entry in that split. The test words never occur in
            train, but dev was cut per entry, not per word: 721 of its 5,447
            words have another pronunciation in train. A model trained on
            train has learnt that one, and dev scores it against the other
            alone. `unseen_in="train"` keeps the 4,726 dev words that are
            new, as test words are.

    Returns:
        `(words, references)`: distinct words in order of first appearance,
        and for each the list of its pronunciations. Score with
        `keras_s2s.metrics.g2p_error_rates(predictions, references)`.

    Example:

    >>> words, references = load_cmudict_references("dev", unseen_in="train")
    >>> len(words)
    4726
    """
    words, pronunciations = load_cmudict(split, data_dir=data_dir, download=download)
    excluded = set()
    if unseen_in is not None:
        check_choice("unseen_in", unseen_in, CMUDICT_SPLITS)
        if unseen_in == split:
            raise ValueError(
                f"Expected unseen_in to name another split than {split!r}: every "
                f"word of a split is in that split. Received: unseen_in={unseen_in!r}"
            )
        excluded = set(load_cmudict(unseen_in, data_dir=data_dir, download=download)[0])
    grouped = {}
    for word, pronunciation in zip(words, pronunciations):
        if word not in excluded:
            grouped.setdefault(word, []).append(pronunciation)
    return list(grouped), list(grouped.values())
