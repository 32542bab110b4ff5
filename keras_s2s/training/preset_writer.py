"""Writing a finished model as a keras-hub preset directory, atomically."""

import glob
import json
import os
import shutil
import warnings

from keras_s2s.presets.preset_integrity import METADATA_FILE
from keras_s2s.presets.preset_integrity import preset_files
from keras_s2s.presets.preset_integrity import read_metadata
from keras_s2s.presets.preset_integrity import verify_preset
from keras_s2s.presets.preset_integrity import write_metadata
from keras_s2s.utils.atomic_files import TEMPORARY_PREFIX
from keras_s2s.utils.atomic_files import is_disk_error
from keras_s2s.utils.atomic_files import is_stale
from keras_s2s.utils.atomic_files import replace_directory
from keras_s2s.utils.atomic_files import restore_directory
from keras_s2s.utils.atomic_files import temporary_directory_beside
from keras_s2s.utils.atomic_files import terminate_after_cleanup
from keras_s2s.utils.atomic_files import write_error

MODEL_CARD_FILE = "README.md"
# What keras-hub's `save_to_preset` writes; a directory holding only these
# (and `assets/`) is a preset that may be replaced as a whole.
KERAS_HUB_PRESET_FILES = (
    "config.json", "task.json", "preprocessor.json", "tokenizer.json",
    "image_converter.json", "audio_converter.json", "model.weights.h5",
    "model.weights.json", METADATA_FILE, MODEL_CARD_FILE,
)


def write_preset(model, preset_dir, metadata=None, model_card=None, overwrite=False,
                 max_shard_size=10):
    """Saves `model` as a verified preset directory, never half-written.

    The preset is built in a hidden temporary directory next to
    `preset_dir` (`.<name>.tmp-<pid>-*`, never listed or loaded as a
    preset): keras-hub's `save_to_preset` (`config.json`, `task.json`,
    `preprocessor.json`, tokenizer configs, `assets/`, `model.weights.h5`),
    the model card `README.md`, then `metadata.json`: keras-hub's metadata
    plus `"keras_s2s": metadata` and `"files"`, the sha256 and size of every
    other file. The result is verified, then moved to `preset_dir`, so a
    process killed at any point never leaves a partial preset there. With
    `overwrite`, the new directory and the previous preset are swapped in
    one atomic step on Linux (`renameat2(RENAME_EXCHANGE)`), so `preset_dir`
    always holds one complete preset; elsewhere the previous preset is first
    moved aside to `.<name>.old-*/<name>` and, if the process dies before
    the next rename, the next `write_preset` (or `Trainer` run) to the same
    path moves it back. An interrupted write (an exception, Ctrl-C, or
    SIGTERM while no other handler is installed) removes its temporary
    directory; one left by a SIGKILL is removed by the next write to the
    same path, once its process is gone.

    Args:
        model: a `keras_s2s.models.Seq2SeqLM` (with its preprocessor).
        preset_dir: the preset directory to create; its name is the preset
            name.
        metadata: JSON-serializable dict stored under `"keras_s2s"` (task,
            languages, scores, `"headline_score"`, ...; see
            `keras_s2s.presets.list_presets`).
        model_card: the text of `README.md`, or None for none.
        overwrite: replace an existing preset at `preset_dir`. Without it an
            existing directory is an error and is left untouched; with it, a
            directory holding files that are not part of a preset is still
            refused (`check_replaceable`).
        max_shard_size: passed to keras-hub's `save_to_preset` (GB per
            weights file).

    Returns:
        The absolute path of the preset directory.

    Raises:
        FileExistsError: `preset_dir` exists and `overwrite` is False, or it
            is not a preset directory.
        OSError: the disk is full or the directory is not writable; the
            message names `preset_dir`, which is unchanged, and no temporary
            directory is left.

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
    name = os.path.basename(preset_dir)
    remove_stale_temporary_dirs(preset_dir)
    temporary = None
    with terminate_after_cleanup():
        try:
            temporary = temporary_directory_beside(preset_dir)
            _save_task_files(model, temporary, max_shard_size)
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
            replace_directory(temporary, preset_dir)
        except BaseException as error:
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)
            if is_disk_error(error):
                raise write_error(error, preset_dir, "preset directory") from error
            raise
    return preset_dir


def _save_task_files(model, directory, max_shard_size):
    """keras-hub's own `save_to_preset` (configs, weights, assets) into `directory`."""
    import keras_hub

    if isinstance(model, keras_hub.models.Task):
        keras_hub.models.Task.save_to_preset(model, directory, max_shard_size=max_shard_size)
    else:
        model.save_to_preset(directory)


def remove_stale_temporary_dirs(preset_dir):
    """Deletes `.<name>.tmp-<pid>-*` directories left by killed writers.

    Only directories whose writing process no longer runs are removed; a
    live writer's directory is left alone. (They are never loaded or listed
    as presets either way: their names start with a dot.)

    Returns:
        The removed paths.
    """
    parent, name = os.path.split(os.path.abspath(preset_dir))
    pattern = os.path.join(glob.escape(parent), f".{glob.escape(name)}{TEMPORARY_PREFIX}*")
    removed = []
    for path in glob.glob(pattern):
        if os.path.isdir(path) and not os.path.islink(path) and is_stale(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def check_preset_dir_free(preset_dir, overwrite=False):
    """Raises `FileExistsError` if `preset_dir` exists and `overwrite` is False.

    The trainer calls it before training, so a run never ends unable to
    write its result. A preset left aside by an interrupted overwrite is
    moved back first (`restore_replaced_preset`).
    """
    restore_replaced_preset(preset_dir)
    if not os.path.lexists(preset_dir):
        return
    if not overwrite:
        raise FileExistsError(
            f"The preset directory '{preset_dir}' already exists; it was left "
            "untouched. Choose another output directory, or pass "
            "overwrite=True (`--overwrite`) to replace it."
        )
    check_replaceable(preset_dir)


def check_replaceable(preset_dir):
    """Raises `FileExistsError` unless `preset_dir` may be replaced as a whole.

    Replacing deletes the old directory, so it must be empty or a preset:
    every file recorded in its `metadata.json`, or one that keras-hub's
    `save_to_preset` writes (`config.json`, `model.weights.h5`, `assets/`,
    ...). Anything else (another directory, a file a user put there) is
    never deleted.
    """
    if os.path.islink(preset_dir) or not os.path.isdir(preset_dir):
        raise FileExistsError(
            f"'{preset_dir}' exists and is not a directory; it was left untouched. "
            "Choose another output directory."
        )
    try:
        recorded = set(read_metadata(preset_dir).get("files") or {})
    except ValueError:
        recorded = set()
    for relative in preset_files(preset_dir):
        if relative in recorded or relative.startswith("assets/"):
            continue
        if relative in KERAS_HUB_PRESET_FILES or (
            relative.startswith("model_") and relative.endswith(".weights.h5")
        ):
            continue
        raise FileExistsError(
            f"'{preset_dir}' holds '{relative}', which is not part of a preset; "
            "replacing the directory would delete it, so it was left untouched. "
            "Choose a new or empty output directory."
        )


def restore_replaced_preset(preset_dir):
    """Moves back a preset left aside by a `write_preset` that was killed.

    Where directories cannot be swapped atomically (not Linux),
    `write_preset(..., overwrite=True)` moves the previous preset to
    `.<name>.old-*/<name>` just before renaming the new one into place. If
    `preset_dir` is missing and such a copy exists, the newest one is moved
    back (with a warning) and the emptied `.old-*` directories removed.

    Returns:
        True if a preset was restored.
    """
    restored_from = restore_directory(preset_dir)
    if restored_from is None:
        return False
    warnings.warn(
        f"Restored the preset '{preset_dir}' that an interrupted overwrite had "
        f"moved to '{restored_from}'.",
        UserWarning,
        stacklevel=3,
    )
    return True
