"""Multi30k (WMT16 multimodal task 1): En/De/Fr/Cs image-caption translation."""

from keras_s2s.datasets.data_files import check_choice
from keras_s2s.datasets.data_files import check_same_length
from keras_s2s.datasets.data_files import dataset_path
from keras_s2s.datasets.data_files import read_nonempty_lines

MULTI30K_LANGUAGES = ("en", "de", "fr", "cs")
MULTI30K_SPLITS = ("train", "val", "test_2016_flickr")
MULTI30K_REFERENCE_SPLITS = ("val", "test_2016_flickr")


def load_multi30k(
    split="train",
    source_language="de",
    target_language="en",
    data_dir=None,
    download=False,
):
    """Loads aligned Multi30k sentence pairs (raw, untokenized text).

    Reads `multi30k/{split}.{language}.gz` under the data directory (see
    `get_data_dir`). Splits have 29,000 / 1,014 / 1,000 pairs.

    Args:
        split: `"train"`, `"val"` or `"test_2016_flickr"`.
        source_language: one of `"en"`, `"de"`, `"fr"`, `"cs"`.
        target_language: one of those, different from the source.
        data_dir: root data directory; defaults to `KERAS_S2S_DATA_DIR` or
            `~/.cache/keras-s2s/datasets`.
        download: fetch missing files from github.com/multi30k/dataset
            (checksum-verified) into the data directory.

    Returns:
        `(sources, targets)`, two lists of strings of equal length.

    Example:

    >>> sources, targets = load_multi30k("val", "de", "en")
    >>> len(sources), targets[0]
    (1014, 'A group of men are loading cotton onto a truck')
    """
    check_choice("split", split, MULTI30K_SPLITS)
    check_choice("source_language", source_language, MULTI30K_LANGUAGES)
    check_choice("target_language", target_language, MULTI30K_LANGUAGES)
    if source_language == target_language:
        raise ValueError(
            "Expected two different languages. Received: "
            f"source_language={source_language!r}, "
            f"target_language={target_language!r}"
        )
    source_path = dataset_path(
        "multi30k", f"{split}.{source_language}.gz", data_dir, download
    )
    target_path = dataset_path(
        "multi30k", f"{split}.{target_language}.gz", data_dir, download
    )
    sources = read_nonempty_lines(source_path, "one caption per line")
    targets = read_nonempty_lines(target_path, "one caption per line")
    check_same_length(source_path, sources, target_path, targets)
    return sources, targets


def load_multi30k_references(
    split="test_2016_flickr", language="en", data_dir=None, download=False
):
    """Loads the official tokenized Multi30k references.

    These are `multi30k/tok/{split}.lc.norm.tok.{language}.gz`: lowercased,
    Moses punctuation-normalized and Moses-tokenized (with `&apos;` /
    `&quot;` escapes), the references the Multi30k literature scores BLEU
    against. See `keras_s2s.metrics.multi30k_bleu`.

    Args:
        split: `"val"` or `"test_2016_flickr"`.
        language: one of `"en"`, `"de"`, `"fr"`, `"cs"`.
        data_dir: root data directory.
        download: fetch missing files (checksum-verified).

    Returns:
        A list of strings, one per sentence of the split.
    """
    check_choice("split", split, MULTI30K_REFERENCE_SPLITS)
    check_choice("language", language, MULTI30K_LANGUAGES)
    path = dataset_path(
        "multi30k", f"tok/{split}.lc.norm.tok.{language}.gz", data_dir, download
    )
    return read_nonempty_lines(path, "one tokenized reference per line")
