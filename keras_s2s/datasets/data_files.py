"""Finding and reading the local data files behind every loader."""

import gzip
import io
import os
import zlib

DATA_DIR_ENV = "KERAS_S2S_DATA_DIR"
DEFAULT_DATA_DIR = os.path.join("~", ".cache", "keras-s2s", "datasets")


def get_data_dir(data_dir=None):
    """Returns the root directory the data set loaders read from.

    `data_dir` if given, else the `KERAS_S2S_DATA_DIR` environment variable,
    else `~/.cache/keras-s2s/datasets`. Each data set lives in a
    sub-directory (`multi30k/`, `e2e/`, `cmudict/`, `sentence-compression/`).
    """
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return os.path.abspath(os.path.expanduser(os.fspath(data_dir)))


def check_choice(name, value, allowed):
    """Raises `ValueError` unless `value` is one of `allowed`."""
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"Expected {name} in {{{choices}}}. Received: {name}={value!r}")
    return value


def dataset_path(dataset, relative_path, data_dir=None, download=False):
    """Returns the path of one data file, downloading it first if asked.

    Raises:
        FileNotFoundError: the data directory or the file is missing (and
            `download` is False); the message says where the loader looked
            and how to get the data.
    """
    root = get_data_dir(data_dir)
    path = os.path.join(root, dataset, relative_path)
    if os.path.isfile(path):
        return path
    if download:
        from keras_s2s.datasets.remote_files import download_dataset_file

        download_dataset_file(dataset, relative_path, root)
        return path
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"Data directory '{root}' does not exist. Pass data_dir=... or set "
            f"{DATA_DIR_ENV} to the folder that holds '{dataset}/', or pass "
            "download=True to fetch the files there."
        )
    raise FileNotFoundError(
        f"Missing data file '{path}' (data set '{dataset}'). Expected "
        f"'{dataset}/{relative_path}' under the data directory '{root}'; pass "
        "download=True to fetch it."
    )


def read_text(path):
    """Reads a UTF-8 text file, gunzipped if it ends in `.gz`.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: the file is not valid UTF-8 (the message names the line
            and byte), or not a complete gzip file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: '{path}'")
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as file:
                data = file.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(
            f"'{path}' is not a complete gzip file ({error}). The file is "
            "truncated or damaged; download or copy it again."
        ) from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ValueError(
            f"{path}, line {line}: not valid UTF-8 (byte "
            f"0x{data[error.start]:02x} at column {column}, {error.reason}). "
            "Expected a UTF-8 text file; convert it first (e.g. "
            "`iconv -f latin1 -t utf-8`)."
        ) from None


def open_text(path, newline="\n"):
    """Opens a UTF-8 text file for reading, gzipped if it ends in `.gz`.

    Lines end at `\\n` only (a stray `\\r` inside a line does not split it);
    pass `newline=""` for the `csv` module. The file is decoded at once, so
    a byte that is not UTF-8 raises a `ValueError` naming its line (see
    `read_text`).
    """
    return io.StringIO(read_text(path), newline=newline)


def read_lines(path):
    """Returns the lines of a text file without their line endings."""
    with open_text(path) as file:
        return [line.rstrip("\r\n") for line in file]


def read_nonempty_lines(path, what="one sentence per line"):
    """Returns the lines of a text file; an empty line is an error.

    Raises:
        ValueError: naming the file and the (1-based) line number.
    """
    lines = read_lines(path)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ValueError(
                f"{path}, line {number}: empty line. Expected {what} with no "
                "empty lines."
            )
    return lines


def check_same_length(first_path, first, second_path, second):
    """Raises `ValueError` unless two line-aligned files have equal counts."""
    if len(first) != len(second):
        raise ValueError(
            f"Expected line-aligned files with the same number of lines. "
            f"'{first_path}' has {len(first)} lines, '{second_path}' has "
            f"{len(second)}."
        )
