"""Loading a task model from a preset: checksums first, configs in safe mode."""

import json
import os

from keras_s2s.presets.preset_integrity import preset_files
from keras_s2s.presets.preset_registry import resolve_preset

WEIGHTS_FILE = "model.weights.h5"


def _safe_loader(path):
    # keras-hub's loader, with every config deserialized in Keras safe mode
    # (no Python lambdas rebuilt from a config). Assets (the SentencePiece
    # proto) are then read by the tokenizer from the preset's `assets/`
    # folder, outside that scope, as keras-hub does; their checksums were
    # verified before.
    from keras.src.saving.serialization_lib import SafeModeScope
    from keras_hub.src.utils.preset_utils import KerasPresetLoader
    from keras_hub.src.utils.preset_utils import get_preset_loader

    loader = get_preset_loader(path)
    if not isinstance(loader, KerasPresetLoader):
        raise ValueError(
            f"Preset '{path}' is not a Keras preset (its config.json has no "
            "\"registered_name\"). keras-s2s presets are written with "
            "`save_to_preset` or `keras_s2s.training.write_preset`."
        )

    class SafeKerasPresetLoader(KerasPresetLoader):
        def _load_serialized_object(self, config, **kwargs):
            with SafeModeScope(True):
                return super()._load_serialized_object(config, **kwargs)

    return SafeKerasPresetLoader(loader.preset, loader.config)


def load_preset_task(cls, preset, load_weights=True, trust_unverified=False, **kwargs):
    """Loads a keras-hub task (e.g. `Seq2SeqLM`) from a preset name or path.

    The preset is resolved and its files verified with `resolve_preset`
    (shipped names load offline from `keras_s2s/presets/<name>/`), then
    keras-hub's preset loader rebuilds the task from `task.json` (or from
    `config.json` and `preprocessor.json`), deserializing configs in Keras
    safe mode, and loads `model.weights.h5`. Nothing is unpickled.

    Args:
        cls: the task class, e.g. `keras_s2s.models.Seq2SeqLM`.
        preset: a preset name or a path to a preset directory.
        load_weights: if False, the weights stay randomly initialized.
        trust_unverified: load a preset directory whose files cannot be
            verified (no checksums recorded, or files changed by hand); see
            `resolve_preset`.
        **kwargs: passed to keras-hub's task loader (e.g. `dtype`).

    Returns:
        An instance of `cls`.

    Raises:
        ValueError: see `resolve_preset`; or the preset holds a model of
            another family.
    """
    path = resolve_preset(preset, trust_unverified=trust_unverified)
    if os.path.isdir(path):
        check_preset_files(path, load_weights=load_weights)
    loader = _safe_loader(path)
    backbone_cls = loader.check_backbone_class()
    if not issubclass(backbone_cls, cls.backbone_cls):
        raise ValueError(
            f"Preset '{preset}' holds a {backbone_cls.__name__}; "
            f"{cls.__name__}.from_preset() needs a {cls.backbone_cls.__name__}."
        )
    task = loader.load_task(cls, load_weights, True, **kwargs)
    check_vocabulary_matches_weights(task, path)
    return task


def check_preset_files(preset_dir, load_weights=True):
    """Checks that a preset's files can be read, naming the first that cannot.

    Presets without recorded checksums (plain keras-hub presets) are not
    verified by sha256; this catches what damage does to them before
    keras-hub's loader fails with a message that names no file: a missing
    `config.json` or weights file, a JSON file that does not parse, a
    weights file that is not a complete HDF5 file, a SentencePiece model
    that does not parse.

    Raises:
        ValueError: naming the file and what is wrong with it.
    """
    files = preset_files(preset_dir)
    required = ["config.json"] + ([WEIGHTS_FILE] if load_weights else [])
    for name in required:
        if name not in files:
            raise ValueError(
                f"Preset file '{name}' is missing from '{preset_dir}'. A preset "
                "directory holds config.json, model.weights.h5, the task and "
                "preprocessor configs and the tokenizer assets; rewrite the "
                "preset (`save_to_preset` or `keras_s2s.training.write_preset`)."
            )
    for name in files:
        path = os.path.join(preset_dir, *name.split("/"))
        try:
            if name.endswith(".json"):
                with open(path, encoding="utf-8") as file:
                    json.load(file)
            elif name.endswith(".h5") and (load_weights or name != WEIGHTS_FILE):
                import h5py

                with h5py.File(path, "r"):
                    pass
            elif name.endswith(".spm"):
                import sentencepiece

                with open(path, "rb") as file:
                    sentencepiece.SentencePieceProcessor().LoadFromSerializedProto(
                        file.read()
                    )
        except Exception as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ValueError(
                f"Preset file '{name}' in '{preset_dir}' cannot be read "
                f"({type(error).__name__}: {reason}). It is damaged or "
                "truncated; rewrite the preset or copy the file again."
            ) from error


def check_vocabulary_matches_weights(task, preset):
    """Raises `ValueError` if a loaded tokenizer does not fit the loaded weights.

    The embedding and output layers have one row per vocabulary entry: a
    tokenizer with another vocabulary size cannot belong to these weights
    (its ids would index the wrong rows, or none).
    """
    preprocessor = getattr(task, "preprocessor", None)
    backbone = getattr(task, "backbone", None)
    if preprocessor is None or backbone is None:
        return
    sides = (
        ("source", "encoder_tokenizer", "encoder_vocabulary_size"),
        ("target", "decoder_tokenizer", "decoder_vocabulary_size"),
    )
    for side, tokenizer_name, size_name in sides:
        tokenizer = getattr(preprocessor, tokenizer_name, None)
        expected = getattr(backbone, size_name, None)
        if tokenizer is None or expected is None:
            continue
        size = tokenizer.vocabulary_size()
        if size != expected:
            config_file = getattr(tokenizer, "config_file", "tokenizer.json")
            assets = f"assets/{os.path.splitext(config_file)[0]}/"
            raise ValueError(
                f"The {side} vocabulary of preset '{preset}' ({assets}) has "
                f"{size} tokens, but its weights were trained with "
                f"{size_name}={expected}. The tokenizer does not belong to "
                "these weights; use the tokenizer assets saved with them."
            )
