"""Checksums of preset files: recording them and verifying a directory."""

import hashlib
import json
import os

from keras_s2s.utils.atomic_files import atomic_write

METADATA_FILE = "metadata.json"
# Written by the operating system or by tools, never read by `from_preset`.
IGNORED_NAMES = (".DS_Store", "__pycache__")


def file_sha256(path, chunk_size=1 << 20):
    """The hex sha256 digest of a file, read in chunks.

    Example:
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(path, "w").write("abc")
    >>> file_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def preset_files(preset_dir):
    """The files of a preset directory, as sorted `/`-separated relative paths.

    `metadata.json` (which records the others) is left out.
    """
    paths = []
    for root, dirs, files in os.walk(preset_dir):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_NAMES)
        for name in files:
            if name in IGNORED_NAMES:
                continue
            relative = os.path.relpath(os.path.join(root, name), preset_dir)
            relative = relative.replace(os.sep, "/")
            if relative != METADATA_FILE:
                paths.append(relative)
    return sorted(paths)


def compute_checksums(preset_dir):
    """`{relative_path: {"sha256": hex, "bytes": size}}` for every preset file.

    This is the `"files"` entry of a keras-s2s preset's `metadata.json`.
    """
    return {
        path: {
            "sha256": file_sha256(os.path.join(preset_dir, path)),
            "bytes": os.path.getsize(os.path.join(preset_dir, path)),
        }
        for path in preset_files(preset_dir)
    }


def read_metadata(preset_dir):
    """The parsed `metadata.json` of a preset directory.

    Raises:
        ValueError: the file is missing or is not a JSON object.
    """
    path = os.path.join(preset_dir, METADATA_FILE)
    if not os.path.isfile(path):
        raise ValueError(
            f"Preset '{preset_dir}' has no {METADATA_FILE}. A keras-s2s preset "
            "directory records the sha256 of each of its files there; write "
            "presets with `keras_s2s.training.write_preset` (or "
            "`tools/train.py`)."
        )
    try:
        with open(path, encoding="utf-8") as file:
            metadata = json.load(file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"Could not read '{path}' as JSON: {error}. The preset is damaged; "
            "reinstall keras-s2s or rewrite the preset."
        ) from error
    if not isinstance(metadata, dict):
        raise ValueError(
            f"Expected '{path}' to hold a JSON object. Received: "
            f"{type(metadata).__name__}. The preset is damaged."
        )
    return metadata


def verify_preset(preset_dir, require_checksums=True):
    """Checks every preset file against the sha256 in `metadata.json`.

    Args:
        preset_dir: path of the preset directory.
        require_checksums: if False, a `metadata.json` without a `"files"`
            entry (a plain keras-hub preset) passes unchecked. Loading
            never passes False unless the user asked for it
            (`trust_unverified=True`).

    Returns:
        The parsed metadata.

    Raises:
        ValueError: naming the first file that is missing, altered (its
            sha256 differs from the recorded one) or not recorded in the
            metadata; or the metadata is missing or unreadable.

    Example:
    >>> import tempfile
    >>> preset_dir = tempfile.mkdtemp()
    >>> _ = open(os.path.join(preset_dir, "config.json"), "w").write("{}")
    >>> write_metadata(preset_dir, {"tasks": ["Seq2SeqLM"]})
    >>> sorted(verify_preset(preset_dir)["files"])
    ['config.json']
    >>> _ = open(os.path.join(preset_dir, "config.json"), "w").write("{ }")
    >>> verify_preset(preset_dir)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: Preset file 'config.json' ... does not match ...
    """
    metadata = read_metadata(preset_dir)
    recorded = metadata.get("files")
    if recorded is None:
        if not require_checksums:
            return metadata
        raise ValueError(
            f"The {METADATA_FILE} of preset '{preset_dir}' records no file "
            "checksums (no \"files\" entry), so its files cannot be verified; "
            "refusing to load it. Save presets with `model.save_to_preset` or "
            "`keras_s2s.training.write_preset`, which record them; for a preset "
            "you made by hand and trust, pass trust_unverified=True "
            "(`--trust-unverified`)."
        )
    if not isinstance(recorded, dict):
        raise ValueError(
            f"Expected \"files\" in the {METADATA_FILE} of preset '{preset_dir}' "
            "to map file names to checksums. The preset is damaged."
        )
    for relative, entry in sorted(recorded.items()):
        path = os.path.join(preset_dir, *relative.split("/"))
        expected = entry.get("sha256") if isinstance(entry, dict) else entry
        if os.path.normpath(relative).startswith("..") or os.path.isabs(relative):
            raise ValueError(
                f"Preset file name '{relative}' in {METADATA_FILE} points outside "
                f"the preset directory '{preset_dir}'. Refusing to load it."
            )
        if not os.path.isfile(path):
            raise ValueError(
                f"Preset file '{relative}' is missing from '{preset_dir}' (it is "
                f"recorded in {METADATA_FILE}). Reinstall keras-s2s or rewrite "
                "the preset."
            )
        actual = file_sha256(path)
        if actual != expected:
            raise ValueError(
                f"Preset file '{relative}' in '{preset_dir}' does not match the "
                f"sha256 recorded in {METADATA_FILE} (expected {expected}, found "
                f"{actual}). The file was altered or damaged; refusing to load "
                "it. Reinstall keras-s2s or rewrite the preset."
            )
    unexpected = sorted(set(preset_files(preset_dir)) - set(recorded))
    if unexpected:
        raise ValueError(
            f"Preset file '{unexpected[0]}' in '{preset_dir}' is not recorded in "
            f"{METADATA_FILE}; refusing to load a preset with unverified files. "
            "Remove the file or rewrite the preset."
        )
    return metadata


def write_metadata(preset_dir, metadata):
    """Writes `metadata.json` with the checksums of all other files.

    `metadata["files"]` is (re)computed from the directory; the file is
    written to a temporary name and moved into place.

    Args:
        preset_dir: path of the preset directory.
        metadata: dict of JSON-serializable metadata.
    """
    metadata = dict(metadata)
    metadata["files"] = compute_checksums(preset_dir)
    path = os.path.join(preset_dir, METADATA_FILE)
    with atomic_write(path, "w", encoding="utf-8", what="preset metadata") as file:
        json.dump(metadata, file, indent=2, sort_keys=False)
        file.write("\n")


def record_checksums(preset_dir):
    """Records the sha256 of every file of `preset_dir` in its `metadata.json`.

    For the parts keras-hub saves one at a time (`Seq2SeqBackbone`,
    `Seq2SeqLMPreprocessor`, tokenizers: `save_to_preset`), so that the
    directory they make loads with `from_preset`. The metadata already there
    (keras-hub's own, or ours) is kept; `"files"` is recomputed.
    """
    path = os.path.join(preset_dir, METADATA_FILE)
    metadata = {}
    if os.path.isfile(path):
        metadata = read_metadata(preset_dir)
    write_metadata(preset_dir, metadata)
