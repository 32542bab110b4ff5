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
    path, loader = _open_preset(preset, load_weights, trust_unverified)
    backbone_cls = loader.check_backbone_class()
    if not issubclass(backbone_cls, cls.backbone_cls):
        raise ValueError(
            f"Preset '{preset}' holds a {backbone_cls.__name__}; "
            f"{cls.__name__}.from_preset() needs a {cls.backbone_cls.__name__}."
        )
    task = loader.load_task(cls, load_weights, True, **kwargs)
    check_vocabulary_matches_weights(task, path)
    # A plain attribute, kept out of Keras's tracking (it is a config dict).
    object.__setattr__(task, "preset_search", recorded_search(path))
    return task


def recorded_search(preset_dir):
    """The search a preset's scores were measured with, or None.

    It is the `"evaluation_search"` in the preset's `metadata.json` (a
    sampler name or config, see `keras_s2s.samplers.get`), written by the
    trainer; presets saved otherwise record none.
    """
    path = os.path.join(preset_dir, "metadata.json") if os.path.isdir(preset_dir) else None
    if path is None or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as file:
            info = json.load(file).get("keras_s2s") or {}
    except (OSError, ValueError, AttributeError):
        return None
    return info.get("evaluation_search")


def _open_preset(preset, load_weights, trust_unverified=False):
    """Resolves and verifies `preset`, returns `(path, safe keras-hub loader)`."""
    path = resolve_preset(preset, trust_unverified=trust_unverified)
    if os.path.isdir(path):
        check_preset_files(path, load_weights=load_weights)
    return path, _safe_loader(path)


def load_preset_backbone(cls, preset, load_weights=True, trust_unverified=False, **kwargs):
    """Loads a backbone (e.g. `Seq2SeqBackbone`) from a preset name or path.

    The same checks as `load_preset_task` (checksums, safe mode) apply;
    `trust_unverified` as there.

    Raises:
        ValueError: see `resolve_preset`; or the preset holds another
            backbone class.
    """
    _, loader = _open_preset(preset, load_weights, trust_unverified)
    backbone_cls = loader.check_backbone_class()
    if not issubclass(backbone_cls, cls):
        raise ValueError(
            f"Preset '{preset}' holds a {backbone_cls.__name__}, not a "
            f"{cls.__name__}."
        )
    return loader.load_backbone(backbone_cls, load_weights, **kwargs)


def load_preset_preprocessor(cls, preset, config_file="preprocessor.json",
                             trust_unverified=False, **kwargs):
    """Loads a preprocessor (e.g. `Seq2SeqLMPreprocessor`) from a preset.

    The tokenizer(s) come from the preset's assets; files are verified as
    for `load_preset_task` (`trust_unverified` as there).
    """
    _, loader = _open_preset(preset, False, trust_unverified)
    loader.check_backbone_class()
    return loader.load_preprocessor(cls, config_file, **kwargs)


def load_preset_tokenizer(cls, preset, config_file=None, trust_unverified=False, **kwargs):
    """Loads a tokenizer from a preset, checking its class.

    Args:
        cls: the tokenizer class (`SentencePieceTokenizer`, `SymbolTokenizer`,
            `WordPieceTokenizer`).
        preset: a preset name or directory.
        config_file: `"tokenizer.json"` (the target tokenizer, or the joint
            one) or `"encoder_tokenizer.json"` (the source tokenizer of a
            preset with separate vocabularies). None: the first of these
            whose class is `cls`.
        trust_unverified: as for `load_preset_task`.

    Raises:
        ValueError: the preset has no tokenizer of class `cls` (the message
            names the classes it has).
    """
    import keras

    path, loader = _open_preset(preset, False, trust_unverified)
    candidates = [config_file] if config_file else ["tokenizer.json", "encoder_tokenizer.json"]
    found = {}
    for name in candidates:
        config_path = os.path.join(path, name)
        if not os.path.isfile(config_path):
            continue
        with open(config_path, encoding="utf-8") as file:
            registered_name = json.load(file).get("registered_name")
        tokenizer_cls = keras.saving.get_registered_object(registered_name)
        found[name] = registered_name
        if isinstance(tokenizer_cls, type) and issubclass(tokenizer_cls, cls):
            return loader.load_tokenizer(tokenizer_cls, name, **kwargs)
    held = ", ".join(f"{name}: {registered}" for name, registered in found.items())
    raise ValueError(
        f"Preset '{preset}' has no {cls.__name__} "
        f"({held or 'no tokenizer config found'}). Load its tokenizer with "
        "the class named there, or take it from "
        "`Seq2SeqLMPreprocessor.from_preset(...)`."
    )


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
