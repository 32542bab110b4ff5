"""Writing a finished model as a keras-hub preset directory, atomically."""

import glob
import json
import os
import shutil
import tempfile
import warnings

from keras_s2s.presets.preset_integrity import METADATA_FILE
from keras_s2s.presets.preset_integrity import verify_preset
from keras_s2s.presets.preset_integrity import write_metadata

MODEL_CARD_FILE = "README.md"


def write_preset(model, preset_dir, metadata=None, model_card=None, overwrite=False):
    """Saves `model` as a verified preset directory, never half-written.

    The preset is built in a hidden temporary directory next to
    `preset_dir` (`.<name>.tmp-*`, never listed or loaded as a preset):
    keras-hub's `model.save_to_preset` (`config.json`, `task.json`,
    `preprocessor.json`, tokenizer configs, `assets/`, `model.weights.h5`),
    the model card `README.md`, then `metadata.json`: keras-hub's metadata
    plus `"keras_s2s": metadata` and `"files"`, the sha256 and size of every
    other file. The result is verified, then renamed to `preset_dir`, so a
    process killed at any point never leaves a partial preset there. With
    `overwrite`, the previous preset is first moved aside to
    `.<name>.old-*/<name>`; if the process dies between that rename and the
    next, the next `write_preset` (or `Trainer` run) to the same path moves
    the previous preset back first.

    Args:
        model: a `keras_s2s.models.Seq2SeqLM` (with its preprocessor).
        preset_dir: the preset directory to create; its name is the preset
            name.
        metadata: JSON-serializable dict stored under `"keras_s2s"` (task,
            languages, scores, `"headline_score"`, ...; see
            `keras_s2s.presets.list_presets`).
        model_card: the text of `README.md`, or None for none.
        overwrite: replace an existing `preset_dir`. Without it an existing
            directory is an error and is left untouched.

    Returns:
        The absolute path of the preset directory.

    Raises:
        FileExistsError: `preset_dir` exists and `overwrite` is False.

    Example:

    ```python
    write_preset(model, "keras_s2s/presets/my_en_de",
                 metadata={"task": "translation", "source_language": "en",
                           "target_language": "de"},
                 model_card="# my_en_de\\n...")
    keras_s2s.models.Seq2SeqLM.from_preset("keras_s2s/presets/my_en_de")
    ```
    """
    preset_dir = os.path.abspath(os.path.expanduser(os.fspath(preset_dir)))
    check_preset_dir_free(preset_dir, overwrite)
    parent, name = os.path.split(preset_dir)
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        os.chmod(temporary, 0o755)
        model.save_to_preset(temporary)
        if model_card is not None:
            with open(os.path.join(temporary, MODEL_CARD_FILE), "w",
                      encoding="utf-8") as file:
                file.write(model_card)
        hub_metadata = {}
        hub_path = os.path.join(temporary, METADATA_FILE)
        if os.path.exists(hub_path):
            with open(hub_path, encoding="utf-8") as file:
                hub_metadata = json.load(file)
            os.remove(hub_path)
        hub_metadata["keras_s2s"] = dict(metadata or {}, name=name)
        write_metadata(temporary, hub_metadata)
        verify_preset(temporary)
        check_preset_dir_free(preset_dir, overwrite)
        if os.path.exists(preset_dir):
            old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.replace(preset_dir, os.path.join(old, name))
            os.replace(temporary, preset_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(temporary, preset_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return preset_dir


def check_preset_dir_free(preset_dir, overwrite=False):
    """Raises `FileExistsError` if `preset_dir` exists and `overwrite` is False.

    The trainer calls it before training, so a run never ends unable to
    write its result. A preset left aside by an interrupted overwrite is
    moved back first (`restore_replaced_preset`).
    """
    restore_replaced_preset(preset_dir)
    if os.path.lexists(preset_dir) and not overwrite:
        raise FileExistsError(
            f"The preset directory '{preset_dir}' already exists; it was left "
            "untouched. Choose another output directory, or pass "
            "overwrite=True (`--overwrite`) to replace it."
        )


def restore_replaced_preset(preset_dir):
    """Moves back a preset left aside by a `write_preset` that was killed.

    `write_preset(..., overwrite=True)` moves the previous preset to
    `.<name>.old-*/<name>` just before renaming the new one into place. If
    `preset_dir` is missing and such a copy exists, the newest one is moved
    back (with a warning) and the emptied `.old-*` directories removed.

    Returns:
        True if a preset was restored.
    """
    if os.path.lexists(preset_dir):
        return False
    parent, name = os.path.split(preset_dir)
    pattern = os.path.join(glob.escape(parent), f".{glob.escape(name)}.old-*")
    candidates = [
        path for path in glob.glob(pattern) if os.path.isdir(os.path.join(path, name))
    ]
    if not candidates:
        return False
    newest = max(candidates, key=os.path.getmtime)
    os.replace(os.path.join(newest, name), preset_dir)
    for path in candidates:
        shutil.rmtree(path, ignore_errors=True)
    warnings.warn(
        f"Restored the preset '{preset_dir}' that an interrupted overwrite had "
        f"moved to '{newest}'.",
        UserWarning,
        stacklevel=3,
    )
    return True
