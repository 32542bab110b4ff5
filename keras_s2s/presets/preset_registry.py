"""The presets shipped inside the package: listing them and resolving names."""

import json
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


# The configs of a preset directory that name a registered Keras class.
CLASS_CONFIG_FILES = {
    "backbone": ("config.json",),
    "task": ("task.json",),
    "preprocessor": ("preprocessor.json",),
    "tokenizer": ("tokenizer.json", "encoder_tokenizer.json"),
}


def _registered_names(preset_dir):
    """`{"backbone": ["keras_s2s>Seq2SeqBackbone"], "tokenizer": [...], ...}`."""
    names = {}
    for kind, config_files in CLASS_CONFIG_FILES.items():
        names[kind] = []
        for config_file in config_files:
            path = os.path.join(preset_dir, config_file)
            if not os.path.isfile(path):
                continue
            try:
                with open(path, encoding="utf-8") as file:
                    name = json.load(file).get("registered_name")
            except (OSError, ValueError, AttributeError):
                continue
            if name and name not in names[kind]:
                names[kind].append(name)
    return names


def _summary(name, preset_dir, metadata):
    info = metadata.get("keras_s2s", {})
    files = metadata.get("files", {})
    size = sum(
        entry.get("bytes", 0) for entry in files.values() if isinstance(entry, dict)
    )
    source, target = info.get("source_language"), info.get("target_language")
    card = info.get("model_card") or {}
    description = info.get("description") or (info.get("recipe") or {}).get(
        "description"
    )
    return {
        "name": name,
        "description": description,
        "task": info.get("task"),
        "languages": f"{source}-{target}" if source and target else None,
        "dataset": info.get("dataset"),
        "domain": card.get("domain"),
        "params": metadata.get("parameter_count"),
        "size_bytes": size,
        "headline_score": info.get("headline_score"),
        "search": info.get("evaluation_search"),
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


def preset_catalog(presets_dir=None):
    """The shipped presets in keras-hub's `presets` layout, by name.

    Returns:
        `{name: {"metadata": {...}, "path": directory, "classes": {...}}}`,
        where `"metadata"` holds what keras-hub users read in a class's
        `presets` (`"description"`, `"params"`) and keras-s2s's own fields
        (`"task"`, `"languages"`, `"dataset"`, `"domain"`,
        `"headline_score"`, `"search"`, `"size_bytes"`, `"path"`), and
        `"classes"` the registered names of the preset's backbone, task,
        preprocessor and tokenizer(s), as in its configs.
    """
    presets_dir = presets_dir or PRESETS_DIR
    catalog = {}
    for summary in list_presets(presets_dir):
        metadata = {key: value for key, value in summary.items() if key != "name"}
        catalog[summary["name"]] = {
            "metadata": metadata,
            "path": summary["path"],
            "classes": _registered_names(summary["path"]),
        }
    return catalog


def presets_for_class(cls, kind, presets_dir=None):
    """The shipped presets that `cls.from_preset(name)` can load.

    Args:
        cls: a registered Keras class (e.g. `keras_s2s.models.Seq2SeqLM`).
        kind: which of a preset's configs must hold `cls` or a subclass of
            it: `"backbone"` (for backbones and for tasks built on one,
            through their `backbone_cls`), `"preprocessor"` or `"tokenizer"`
            (either tokenizer of a preset with separate source and target
            tokenizers).

    Returns:
        The catalog entries of `preset_catalog()` for those presets.
    """
    import keras

    if kind not in CLASS_CONFIG_FILES:
        raise ValueError(
            f"Expected kind in {sorted(CLASS_CONFIG_FILES)}. Received: kind={kind!r}"
        )
    presets = {}
    for name, entry in preset_catalog(presets_dir).items():
        for registered_name in entry["classes"][kind]:
            found = keras.saving.get_registered_object(registered_name)
            if isinstance(found, type) and issubclass(found, cls):
                presets[name] = entry
                break
    return presets
