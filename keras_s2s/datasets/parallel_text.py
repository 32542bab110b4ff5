"""Generic loaders: two line-aligned text files, or a TSV file."""

import csv
import os
import warnings

from keras_s2s.datasets.data_files import check_same_length
from keras_s2s.datasets.data_files import open_text
from keras_s2s.datasets.data_files import read_lines


def _drop_empty_pairs(sources, targets, line_numbers, description, skip_empty):
    """Removes pairs with an empty side, warning with the count, or raises."""
    kept_sources, kept_targets, skipped = [], [], []
    for source, target, number in zip(sources, targets, line_numbers):
        if source.strip() and target.strip():
            kept_sources.append(source)
            kept_targets.append(target)
        else:
            skipped.append(number)
    if skipped and not skip_empty:
        raise ValueError(
            f"{description}, line {skipped[0]}: empty source or target. "
            "Expected text on both sides of every pair (or pass "
            "skip_empty=True to drop such pairs)."
        )
    if skipped:
        shown = ", ".join(str(n) for n in skipped[:10])
        more = ", ..." if len(skipped) > 10 else ""
        warnings.warn(
            f"Skipped {len(skipped)} of {len(sources)} pairs with an empty "
            f"side in {description} (lines {shown}{more}).",
            stacklevel=3,
        )
    return kept_sources, kept_targets


def load_parallel_text(source_path, target_path, skip_empty=True):
    """Loads two line-aligned text files (gzipped if they end in `.gz`).

    Line i of the source file pairs with line i of the target file. A pair
    with an empty side is dropped as a whole (never shifting the alignment),
    with a warning giving the count and line numbers.

    Args:
        source_path: path of the source-side file.
        target_path: path of the target-side file.
        skip_empty: drop pairs with an empty side (with a warning); if
            False, such a pair is an error.

    Returns:
        `(sources, targets)`, two lists of strings of equal length.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: the files have different line counts, or an empty line
            and `skip_empty=False` (the message names the file and line).

    Example:

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "train.de"), "w") as f:
    ...     _ = f.write("ein Hund\\n\\nzwei Katzen\\n")
    >>> with open(os.path.join(folder, "train.en"), "w") as f:
    ...     _ = f.write("a dog\\nsomething\\ntwo cats\\n")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     load_parallel_text(os.path.join(folder, "train.de"),
    ...                        os.path.join(folder, "train.en"))
    (['ein Hund', 'zwei Katzen'], ['a dog', 'two cats'])
    """
    for path in (source_path, target_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No such file: '{path}'. Expected a text file with one "
                "sentence per line."
            )
    sources = read_lines(source_path)
    targets = read_lines(target_path)
    check_same_length(source_path, sources, target_path, targets)
    return _drop_empty_pairs(
        sources,
        targets,
        range(1, len(sources) + 1),
        f"'{source_path}' / '{target_path}'",
        skip_empty,
    )


def load_tsv(
    path,
    source_column=0,
    target_column=1,
    header=False,
    delimiter="\t",
    skip_empty=True,
):
    """Loads (source, target) pairs from two columns of a TSV file.

    Fields are split on `delimiter` with no quoting. A blank line or a pair
    with an empty side is dropped (with a warning giving the count).

    Args:
        path: the file (gzipped if it ends in `.gz`).
        source_column: index of the source column.
        target_column: index of the target column.
        header: the first line is a header and is skipped.
        delimiter: field separator.
        skip_empty: drop pairs with an empty side (with a warning); if
            False, such a pair is an error.

    Returns:
        `(sources, targets)`, two lists of strings of equal length.

    Raises:
        ValueError: a non-blank line has too few columns, or an empty side
            and `skip_empty=False`; the message names the file and line.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "pairs.tsv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("ein Hund\\ta dog\\nzwei Katzen\\ttwo cats\\n")
    >>> load_tsv(path)
    (['ein Hund', 'zwei Katzen'], ['a dog', 'two cats'])
    """
    for name, value in (("source_column", source_column), ("target_column", target_column)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"Expected {name} to be a non-negative integer. "
                f"Received: {name}={value!r}"
            )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No such file: '{path}'. Expected a {delimiter!r}-separated file."
        )
    needed = max(source_column, target_column) + 1
    sources, targets, numbers = [], [], []
    with open_text(path, newline="") as file:
        reader = csv.reader(file, delimiter=delimiter, quoting=csv.QUOTE_NONE)
        for row in reader:
            number = reader.line_num
            if header and number == 1:
                continue
            if not row or not any(field.strip() for field in row):
                sources.append("")
                targets.append("")
                numbers.append(number)
                continue
            if len(row) < needed:
                raise ValueError(
                    f"{path}, line {number}: expected at least {needed} "
                    f"{delimiter!r}-separated columns (source column "
                    f"{source_column}, target column {target_column}), got "
                    f"{len(row)}: {row!r}"
                )
            sources.append(row[source_column])
            targets.append(row[target_column])
            numbers.append(number)
    return _drop_empty_pairs(sources, targets, numbers, f"'{path}'", skip_empty)
