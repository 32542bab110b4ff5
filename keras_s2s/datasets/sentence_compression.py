"""Google sentence compression (Filippova & Altun 2013), public eval pairs."""

from keras_s2s.datasets.data_files import check_choice
from keras_s2s.datasets.data_files import check_same_length
from keras_s2s.datasets.data_files import dataset_path
from keras_s2s.datasets.data_files import read_nonempty_lines

SENTENCE_COMPRESSION_SPLITS = ("train", "dev", "test")


def load_sentence_compression(split="train", data_dir=None, download=False):
    """Loads (sentence, compression) pairs.

    From the 10,000 public eval pairs: train = 8,000, dev = 1,000; test (the
    first 1,000 pairs, the standard test set) is not shipped with the data
    directory and needs `download=True`.

    Args:
        split: `"train"`, `"dev"` or `"test"`.
        data_dir: root data directory.
        download: fetch missing files (checksum-verified).

    Returns:
        `(sentences, compressions)`, two lists of strings of equal length.

    Example:

    >>> sentences, compressions = load_sentence_compression("dev")
    >>> len(sentences), compressions[0]
    (1000, 'The Gilmer City Council plans to consider canceling its council election.')
    """
    check_choice("split", split, SENTENCE_COMPRESSION_SPLITS)
    source_path = dataset_path(
        "sentence-compression", f"{split}.src.gz", data_dir, download
    )
    target_path = dataset_path(
        "sentence-compression", f"{split}.tgt.gz", data_dir, download
    )
    sources = read_nonempty_lines(source_path, "one sentence per line")
    targets = read_nonempty_lines(target_path, "one compression per line")
    check_same_length(source_path, sources, target_path, targets)
    return sources, targets
