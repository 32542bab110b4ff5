"""`export_saved_model`: a Seq2SeqLM as a string-in, string-out SavedModel."""

import json
import os
import shutil
import subprocess
import sys
import time

import keras

from keras_s2s import samplers as samplers_lib
from keras_s2s.utils.argument_validation import check_positive_int
from keras_s2s.utils.atomic_files import is_disk_error
from keras_s2s.utils.atomic_files import replace_directory
from keras_s2s.utils.atomic_files import temporary_directory_beside
from keras_s2s.utils.atomic_files import terminate_after_cleanup
from keras_s2s.utils.atomic_files import write_error

# Written next to `saved_model.pb`; TF Serving ignores `assets.extra/`.
EXPORT_INFO_FILE = os.path.join("assets.extra", "keras_s2s_export.json")
WORKER_MODULE = "keras_s2s.export.tensorflow_export_worker"


def export_saved_model(
    model,
    filepath,
    *,
    sampler=None,
    max_length=None,
    overwrite=False,
    jit_compile=False,
):
    """Writes a SavedModel that maps source strings to generated strings.

    The SavedModel's `serving_default` signature takes `inputs`, a 1-D batch
    of `tf.string` `(batch_size,)`, and returns `outputs`, the generated
    strings `(batch_size,)`, and `scores`, float32 `(batch_size,)`. The whole
    pipeline runs in the graph: tokenization with the model's preprocessor
    (TensorFlow Text / keras-hub tokenizers), the encoder, the search loop
    chosen here (greedy, beam search with its length and coverage penalties,
    sampling) and detokenization. Outputs equal `model.generate(inputs,
    max_length=max_length)` with the same sampler.

    `scores` is the search's own score for a `BeamSampler`: `log P(Y) /
    lp(Y) + cp(Y)` with its length and coverage penalties (plain
    `log P(Y)` without penalties); for the other samplers it is `log P(Y)`,
    the log-probability of the output under the model (temperature applied),
    stop token included. With an n-best sampler
    (`BeamSampler(return_all_beams=True)`) both outputs are
    `(batch_size, num_beams)`, best first.

    The SavedModel loads with plain TensorFlow, in a process that never
    imports keras_s2s or keras-hub (`import tensorflow_text` registers the
    tokenizer ops):

    ```python
    import tensorflow as tf
    import tensorflow_text  # noqa: F401 (SentencePiece / WordPiece ops)

    translate = tf.saved_model.load(path).signatures["serving_default"]
    translate(tf.constant(["a dog runs ."]))["outputs"]
    ```

    It is served by TF Serving or `keras_s2s.serving.serve`. Under the JAX
    and PyTorch backends the model is saved to a temporary preset and
    exported by a Python subprocess running the TensorFlow backend (the
    weights are backend-independent); the call is the same.

    The export is written to a temporary directory next to `filepath` and
    renamed into place (an existing export is swapped out in one atomic
    step on Linux), so `filepath` is never half-written; a full disk or an
    unwritable directory raises one `OSError` naming `filepath`, with no
    temporary directory left. A `assets.extra/keras_s2s_export.json` records the sampler, the lengths
    and the versions used.

    Args:
        model: a `keras_s2s.models.Seq2SeqLM` with a preprocessor (a
            `keras_s2s.models.Seq2SeqEnsembleLM` exports the ensemble's
            search: the members' averaged log-probabilities in every step),
            a preset name or preset directory (see
            `keras_s2s.models.Seq2SeqLM.from_preset`), or a list of them
            (an ensemble, see `Seq2SeqEnsembleLM.from_preset`).
        filepath: the SavedModel directory to create.
        sampler: the search, a name (`"greedy"`, `"beam"`, ...), a config
            dict or a sampler instance (see `keras_s2s.samplers.get`).
            Defaults to the model's compiled sampler. `ExactSampler` runs
            eagerly and cannot be exported.
        max_length: int or None, the decoder length as in `generate()`: the
            start token plus at most `max_length - 1` output tokens. None
            uses the preprocessor's `decoder_sequence_length`.
        overwrite: replace an existing `filepath`. Without it an existing
            path is an error and is left untouched.
        jit_compile: compile the search with XLA (the tokenizers stay
            outside XLA). XLA compiles once per input shape, i.e. per batch
            size.

    Returns:
        The absolute path of the SavedModel directory.

    Raises:
        FileExistsError: `filepath` exists and `overwrite` is False.
        ValueError: the model has no preprocessor, the sampler cannot be
            exported, or an argument is invalid.
        RuntimeError: the TensorFlow subprocess (JAX / PyTorch backends)
            failed; the message holds the end of its output.

    Example:

    ```python
    model = keras_s2s.models.Seq2SeqLM.from_preset("my_en_de")
    keras_s2s.export.export_saved_model(
        model, "exported/en_de/1", sampler=keras_s2s.samplers.BeamSampler(
            num_beams=5, length_penalty=0.6))
    ```
    """
    from keras_s2s.models.seq2seq_lm import Seq2SeqLM

    filepath = os.path.abspath(os.path.expanduser(os.fspath(filepath)))
    check_positive_int("max_length", max_length, allow_none=True)
    if max_length is not None and max_length < 2:
        raise ValueError(
            "Expected max_length >= 2 (the start token and at least one "
            f"output token) or None. Received: max_length={max_length!r}"
        )
    if not isinstance(jit_compile, bool):
        raise ValueError(
            f"Expected jit_compile to be a bool. Received: jit_compile={jit_compile!r}"
        )
    if not isinstance(overwrite, bool):
        raise ValueError(
            f"Expected overwrite to be a bool. Received: overwrite={overwrite!r}"
        )
    if isinstance(model, Seq2SeqLM):
        _check_model(model)
    elif _is_preset_list(model):
        model = [os.fspath(preset) for preset in model]
    elif not isinstance(model, (str, os.PathLike)):
        raise ValueError(
            "Expected model to be a keras_s2s.models.Seq2SeqLM, a preset name "
            f"or a preset directory. Received: model={type(model).__name__}"
        )
    if sampler is not None:
        sampler = samplers_lib.get(sampler)
        _check_sampler(sampler)
    _check_path_free(filepath, overwrite)

    temporary = None
    with terminate_after_cleanup():
        try:
            temporary = temporary_directory_beside(filepath)
            output = os.path.join(temporary, "saved_model")
            start = time.perf_counter()
            if keras.config.backend() == "tensorflow":
                if _is_preset_list(model):
                    model = _load_ensemble(model)
                    _check_model(model)
                elif not isinstance(model, Seq2SeqLM):
                    model = Seq2SeqLM.from_preset(model)
                    _check_model(model)
                info = write_generation_module(
                    model, output, sampler=sampler, max_length=max_length,
                    jit_compile=jit_compile,
                )
            else:
                info = _export_in_subprocess(
                    model, output, temporary, sampler, max_length, jit_compile
                )
            info["export_seconds"] = round(time.perf_counter() - start, 3)
            info["exported_from_backend"] = keras.config.backend()
            _write_export_info(output, info)
            _check_path_free(filepath, overwrite)
            replace_directory(output, filepath)
        except BaseException as error:
            if is_disk_error(error):
                raise write_error(error, filepath, "SavedModel directory") from error
            raise
        finally:
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)
    return filepath


def write_generation_module(model, path, sampler=None, max_length=None,
                            jit_compile=False, chunk_size=None):
    """Writes the SavedModel under the TensorFlow backend; returns its info.

    The building block of `export_saved_model` (which adds the argument
    checks, the atomic rename and the other backends). `path` must not exist
    or be an empty directory.
    """
    if keras.config.backend() != "tensorflow":
        raise ValueError(
            "write_generation_module runs under the TensorFlow backend only "
            f"(KERAS_BACKEND=tensorflow). Current backend: {keras.config.backend()}. "
            "Use keras_s2s.export.export_saved_model, which works from any backend."
        )
    from keras_s2s.export.generation_module import GenerationModule

    sampler = model.sampler if sampler is None else samplers_lib.get(sampler)
    _check_sampler(sampler)
    from keras_s2s.export.generation_module import DEFAULT_CHUNK_SIZE

    chunk_size = chunk_size or DEFAULT_CHUNK_SIZE
    module = GenerationModule(
        model, sampler, max_length=max_length, jit_compile=jit_compile,
        chunk_size=chunk_size,
    )
    module.save(path)
    preprocessor = model.preprocessor
    return {
        "format": "keras_s2s.saved_model",
        "format_version": 1,
        "signature": "serving_default",
        "inputs": {"inputs": "tf.string (batch_size,)"},
        "outputs": {
            "outputs": "tf.string (batch_size,)",
            "scores": "float32 (batch_size,)",
        },
        "n_best": getattr(sampler, "num_beams", None)
        if getattr(sampler, "return_all_beams", False)
        else None,
        "sampler": samplers_lib.serialize(sampler),
        "chunk_size": chunk_size,
        "max_length": max_length or preprocessor.decoder_sequence_length,
        "encoder_sequence_length": preprocessor.encoder_sequence_length,
        "stop_token_ids": [preprocessor.decoder_tokenizer.end_token_id],
        "jit_compile": jit_compile,
        "versions": _versions(),
    }


def read_export_info(export_dir):
    """The `keras_s2s_export.json` of an exported SavedModel, or `{}`."""
    path = os.path.join(export_dir, EXPORT_INFO_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _versions():
    import tensorflow as tf

    from keras_s2s.version import __version__

    return {
        "keras_s2s": __version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
    }


def _write_export_info(path, info):
    info_path = os.path.join(path, EXPORT_INFO_FILE)
    os.makedirs(os.path.dirname(info_path), exist_ok=True)
    with open(info_path, "w", encoding="utf-8") as file:
        json.dump(info, file, indent=2, sort_keys=True, default=str)
        file.write("\n")


def _is_preset_list(model):
    """True for a list of preset names or directories (an ensemble)."""
    return (
        isinstance(model, (list, tuple))
        and len(model) > 0
        and all(isinstance(preset, (str, os.PathLike)) for preset in model)
    )


def _load_ensemble(presets):
    from keras_s2s.models.seq2seq_ensemble_lm import Seq2SeqEnsembleLM

    return Seq2SeqEnsembleLM.from_preset(list(presets))


def _save_members(model, temporary):
    """Saves an ensemble's members as presets; returns their directories."""
    paths = []
    for index, member in enumerate(model.members):
        path = os.path.join(temporary, f"member_{index}")
        member.save_to_preset(path)
        paths.append(path)
    return paths


def _check_model(model):
    if model.preprocessor is None:
        raise ValueError(
            "Exporting needs a model with a preprocessor (the SavedModel "
            "tokenizes strings in the graph). Attach a "
            "keras_s2s.models.Seq2SeqLMPreprocessor: "
            "Seq2SeqLM(backbone, preprocessor=preprocessor)."
        )


def _check_sampler(sampler):
    if getattr(sampler, "run_eagerly", False):
        raise ValueError(
            f"{type(sampler).__name__} runs eagerly (outside tf.function) and "
            "cannot be exported. Export with sampler='beam' or 'greedy'."
        )
    if not hasattr(sampler, "get_config"):
        raise ValueError(
            "Expected a sampler with `get_config()` (a keras-s2s or keras-hub "
            f"sampler). Received: sampler={sampler!r}"
        )


def _check_path_free(filepath, overwrite):
    if os.path.lexists(filepath) and not overwrite:
        raise FileExistsError(
            f"'{filepath}' already exists; it was left untouched. Choose "
            "another export directory, or pass overwrite=True (`--overwrite`) "
            "to replace it."
        )


def _export_in_subprocess(model, output, temporary, sampler, max_length,
                          jit_compile):
    """Exports under the TensorFlow backend in a Python subprocess."""
    from keras_s2s.presets import resolve_preset

    from keras_s2s.models.seq2seq_ensemble_lm import Seq2SeqEnsembleLM

    if isinstance(model, (str, os.PathLike)):
        preset = resolve_preset(model)
    elif _is_preset_list(model):
        # An ensemble: the worker loads one preset per member.
        preset = [resolve_preset(name) for name in model]
    elif isinstance(model, Seq2SeqEnsembleLM):
        preset = _save_members(model, temporary)
        if sampler is None:
            sampler = model.sampler
    else:
        preset = os.path.join(temporary, "preset")
        model.save_to_preset(preset)
        if sampler is None:
            sampler = model.sampler
    options = {
        "preset": preset,
        "output": output,
        "sampler": samplers_lib.serialize(sampler) if sampler is not None else None,
        "max_length": max_length,
        "jit_compile": jit_compile,
        "info": os.path.join(temporary, "info.json"),
    }
    options_path = os.path.join(temporary, "options.json")
    with open(options_path, "w", encoding="utf-8") as file:
        json.dump(options, file)
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    result = subprocess.run(
        [sys.executable, "-m", WORKER_MODULE, options_path],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0 or not os.path.isfile(options["info"]):
        tail = "\n".join(result.stdout.strip().splitlines()[-30:])
        raise RuntimeError(
            f"Exporting under the TensorFlow backend (a subprocess, since the "
            f"current backend is {keras.config.backend()}) failed with exit "
            f"code {result.returncode}. Its output ends with:\n{tail}"
        )
    with open(options["info"], encoding="utf-8") as file:
        return json.load(file)
