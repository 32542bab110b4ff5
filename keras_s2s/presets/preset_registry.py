"""The presets shipped inside the package: listing them and resolving names."""

import os
import re

from keras_s2s.presets.preset_integrity import METADATA_FILE
from keras_s2s.presets.preset_integrity import read_metadata
from keras_s2s.presets.preset_integrity import verify_preset

# Each shipped preset is the directory `keras_s2s/presets/<name>/`.
PRESETS_DIR = os.path.dirname(os.path.abspath(__file__))
PRESET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
# Handles keras-hub resolves remotely; passed through unchanged.
REMOTE_SCHEMES = ("kaggle://", "hf://", "modelscope://", "gs://", "s3://")


def preset_names(presets_dir=None):
    """Sorted names of the shipped presets (directories with `metadata.json`)."""
    presets_dir = presets_dir or PRESETS_DIR
    if not os.path.isdir(presets_dir):
        return []
    return sorted(
        name
        for name in os.listdir(presets_dir)
        if PRESET_NAME_PATTERN.match(name)
        and os.path.isfile(os.path.join(presets_dir, name, METADATA_FILE))
    )


def _summary(name, preset_dir, metadata):
    info = metadata.get("keras_s2s", {})
    files = metadata.get("files", {})
    size = sum(
        entry.get("bytes", 0) for entry in files.values() if isinstance(entry, dict)
    )
    source, target = info.get("source_language"), info.get("target_language")
    return {
        "name": name,
        "task": info.get("task"),
        "languages": f"{source}-{target}" if source and target else None,
        "params": metadata.get("parameter_count"),
        "size_bytes": size,
        "headline_score": info.get("headline_score"),
        "path": preset_dir,
    }


def list_presets(presets_dir=None):
    """Describes every preset shipped with keras-s2s, from its metadata.

    Args:
        presets_dir: where to look; defaults to the installed
            `keras_s2s/presets/` directory.

    Returns:
        A list (sorted by name) of dicts with `"name"`, `"task"` (e.g.
        `"translation"`), `"languages"` (`"en-de"`), `"params"` (parameter
        count), `"size_bytes"` (all files), `"headline_score"` (a dict with
        `"metric"`, `"split"`, `"value"`, or None) and `"path"`.

    Example:
    >>> import tempfile
    >>> list_presets(tempfile.mkdtemp())
    []
    """
    presets_dir = presets_dir or PRESETS_DIR
    return [
        _summary(name, os.path.join(presets_dir, name),
                 read_metadata(os.path.join(presets_dir, name)))
        for name in preset_names(presets_dir)
    ]


def resolve_preset(preset, presets_dir=None, trust_unverified=False):
    """Turns a preset name or directory into a verified local directory.

    A name of a shipped preset (see `list_presets()`) resolves to
    `keras_s2s/presets/<name>/`; a path to a preset directory resolves to
    itself. Either way every file must match the sha256 recorded in the
    preset's `metadata.json`, and the recorded files must be exactly those
    in the directory: a preset whose metadata records no checksums (no
    `"files"` entry, e.g. a plain keras-hub preset or one whose entry was
    deleted) is refused. Remote handles (`kaggle://`, `hf://`, ...) are
    returned unchanged for keras-hub to fetch.

    Args:
        preset: a preset name or a path to a preset directory.
        presets_dir: where shipped presets live; defaults to the installed
            `keras_s2s/presets/`.
        trust_unverified: for a preset directory you made or edited by hand:
            skip the checksum verification (the loader still refuses files
            it cannot read, naming them). Shipped presets are always
            verified.

    Returns:
        The path (or remote handle) to load from.

    Raises:
        ValueError: an unknown name (the message lists the available
            presets), a missing, altered or unrecorded file (named), or
            metadata without checksums.

    Example:
    >>> import tempfile
    >>> resolve_preset("no_such_preset", tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: Unknown preset 'no_such_preset'. Available presets: none ...
    """
    presets_dir = presets_dir or PRESETS_DIR
    if not isinstance(preset, (str, os.PathLike)):
        raise ValueError(
            "Expected preset to be a preset name or a directory path. "
            f"Received: preset={preset!r}"
        )
    preset = os.fspath(preset)
    if preset.startswith(REMOTE_SCHEMES):
        return preset
    if PRESET_NAME_PATTERN.match(preset):
        preset_dir = os.path.join(presets_dir, preset)
        if os.path.isdir(preset_dir):
            verify_preset(preset_dir, require_checksums=True)
            return preset_dir
    if os.path.isdir(preset):
        if not trust_unverified:
            verify_preset(preset, require_checksums=True)
        return preset
    names = preset_names(presets_dir)
    available = ", ".join(names) if names else "none"
    raise ValueError(
        f"Unknown preset '{preset}'. Available presets: {available} "
        "(see keras_s2s.presets.list_presets()). A preset is one of those "
        "names or the path of a preset directory."
    )
