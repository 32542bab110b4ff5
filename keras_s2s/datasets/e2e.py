"""E2E NLG Challenge: restaurant meaning representation (MR) -> text."""

import csv

from keras_s2s.datasets.data_files import check_choice
from keras_s2s.datasets.data_files import dataset_path
from keras_s2s.datasets.data_files import open_text

E2E_SPLITS = ("train", "dev")
_FILES = {
    ("train", False): "trainset.csv.gz",
    ("dev", False): "devset.csv.gz",
    ("dev", True): "cleaned/devel-fixed.no-ol.csv.gz",
}


def read_e2e_csv(path):
    """Reads an E2E CSV (`mr,ref[,...]` header) into `(mrs, refs)`.

    Raises:
        ValueError: naming the file and line when the header is not
            `mr,ref,...`, a row has the wrong number of fields, or an MR or
            reference is empty.
    """
    mrs, refs = [], []
    with open_text(path, newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None or header[:2] != ["mr", "ref"]:
            raise ValueError(
                f"{path}, line 1: expected a header starting with 'mr,ref'. "
                f"Received: {header!r}"
            )
        for row in reader:
            line = reader.line_num
            if len(row) != len(header):
                raise ValueError(
                    f"{path}, line {line}: expected {len(header)} fields "
                    f"({','.join(header)}), got {len(row)}: {row!r}"
                )
            mr, ref = row[0].strip(), row[1].strip()
            if not mr or not ref:
                field = "mr" if not mr else "ref"
                raise ValueError(
                    f"{path}, line {line}: empty '{field}' field. Expected a "
                    "meaning representation and a reference text."
                )
            mrs.append(mr)
            refs.append(ref)
    return mrs, refs


def load_e2e(split="train", cleaned=False, data_dir=None, download=False):
    """Loads E2E NLG (MR, reference) training pairs, one per CSV row.

    The train split has 42,061 rows over 4,862 distinct MRs (several human
    references per MR; rows are shuffled in train, grouped in dev).

    Args:
        split: `"train"` or `"dev"`.
        cleaned: read the cleaned dev set of Dušek et al. (2019)
            (`e2e/cleaned/devel-fixed.no-ol.csv.gz`; dev only).
        data_dir: root data directory.
        download: fetch missing files (checksum-verified).

    Returns:
        `(mrs, references)`, two lists of strings of equal length.

    Example:

    >>> mrs, texts = load_e2e("train")
    >>> len(mrs), mrs[0][:30]
    (42061, 'name[The Vaults], eatType[pub]')
    """
    check_choice("split", split, E2E_SPLITS)
    if (split, bool(cleaned)) not in _FILES:
        raise ValueError(
            "Only the cleaned dev set is available: pass split='dev' with "
            f"cleaned=True. Received: split={split!r}, cleaned={cleaned!r}"
        )
    path = dataset_path("e2e", _FILES[(split, bool(cleaned))], data_dir, download)
    return read_e2e_csv(path)


def load_e2e_references(split="dev", cleaned=False, data_dir=None, download=False):
    """Loads E2E references grouped per distinct MR, for multi-reference BLEU.

    Args:
        split, cleaned, data_dir, download: as in `load_e2e`.

    Returns:
        `(mrs, references)`: the distinct MRs in order of first appearance
        in the file, and for each a list of its references in file order.
        Generate one text per MR and score with
        `keras_s2s.metrics.e2e_bleu(outputs, references)`.
    """
    mrs, refs = load_e2e(split, cleaned=cleaned, data_dir=data_dir, download=download)
    grouped = {}
    for mr, ref in zip(mrs, refs):
        grouped.setdefault(mr, []).append(ref)
    return list(grouped), list(grouped.values())
