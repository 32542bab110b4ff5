"""Loading a task model from a preset: checksums first, configs in safe mode."""

from keras_s2s.presets.preset_registry import resolve_preset


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


def load_preset_task(cls, preset, load_weights=True, **kwargs):
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
        **kwargs: passed to keras-hub's task loader (e.g. `dtype`).

    Returns:
        An instance of `cls`.

    Raises:
        ValueError: see `resolve_preset`; or the preset holds a model of
            another family.
    """
    path = resolve_preset(preset)
    loader = _safe_loader(path)
    backbone_cls = loader.check_backbone_class()
    if not issubclass(backbone_cls, cls.backbone_cls):
        raise ValueError(
            f"Preset '{preset}' holds a {backbone_cls.__name__}; "
            f"{cls.__name__}.from_preset() needs a {cls.backbone_cls.__name__}."
        )
    return loader.load_task(cls, load_weights, True, **kwargs)
