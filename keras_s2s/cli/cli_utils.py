"""What the `keras-s2s` subcommands share: options, presets, search, batching."""

import argparse
import contextlib
import math
import os
import sys

from keras_s2s.cli.cli_error import CLIError

SAMPLER_NAMES = ("greedy", "beam", "top_k", "top_p", "random", "exact")
SAMPLER_CLASS_NAMES = {
    "GreedySampler": "greedy",
    "BeamSampler": "beam",
    "TopKSampler": "top_k",
    "TopPSampler": "top_p",
    "RandomSampler": "random",
    "ExactSampler": "exact",
}
# Search option -> {sampler name: constructor argument}.
SEARCH_OPTIONS = {
    "num_beams": {"beam": "num_beams", "exact": "beam_size"},
    "length_penalty": {"beam": "length_penalty", "exact": "length_penalty"},
    "coverage_penalty": {"beam": "coverage_penalty"},
    "n_best": {"beam": None},
    "top_k": {"top_k": "k", "top_p": "k"},
    "top_p": {"top_p": "p"},
    "temperature": {name: "temperature" for name in SAMPLER_NAMES if name != "greedy"},
}
# A search option given without --sampler picks this sampler.
IMPLIED_SAMPLER = {
    "num_beams": "beam",
    "length_penalty": "beam",
    "coverage_penalty": "beam",
    "n_best": "beam",
    "top_p": "top_p",
    "top_k": "top_k",
}
SEEDED_SAMPLERS = ("top_k", "top_p", "random")
DEFAULT_LANGUAGES = ("en-de", "de-en")


# ----------------------------------------------------------- option types


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _finite_float(text, rule, accept):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number {rule}, got {text!r}")
    if not math.isfinite(value) or not accept(value):
        raise argparse.ArgumentTypeError(f"expected a finite number {rule}, got {text!r}")
    return value


def non_negative_float(text):
    """argparse type: a finite number >= 0."""
    return _finite_float(text, ">= 0", lambda value: value >= 0)


def positive_float(text):
    """argparse type: a finite number > 0."""
    return _finite_float(text, "> 0", lambda value: value > 0)


def probability(text):
    """argparse type: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def max_length_type(text):
    """argparse type: an output length in tokens, `<s>` included (>= 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text!r}")
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 2 (the start token counts), got {text!r}"
        )
    return value


# ---------------------------------------------------------------- options


class PresetArgument(str):
    """A `--preset` value that carries `--trust-unverified` to the loader."""

    trust_unverified = False


def _preset_value(value, trust_unverified):
    if value is None:
        return None
    value = PresetArgument(value)
    value.trust_unverified = trust_unverified
    return value


def trusted_preset(value):
    """A `--preset` value whose files load unverified (`--trust-unverified`)."""
    return _preset_value(value, True)


class _PresetAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        trust = getattr(namespace, "trust_unverified", False)
        setattr(namespace, self.dest, _preset_value(values, trust))


class _TrustUnverifiedAction(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, True)
        namespace.preset = _preset_value(getattr(namespace, "preset", None), True)


def add_preset_argument(parser, default_help=None):
    parser.add_argument(
        "--preset",
        default=None,
        metavar="NAME_OR_DIR",
        action=_PresetAction,
        help=default_help
        or "a shipped preset name (see 'keras-s2s presets') or a preset "
        "directory (default: the best shipped English-German preset)",
    )
    parser.add_argument(
        "--trust-unverified",
        action=_TrustUnverifiedAction,
        help="load a preset directory whose files cannot be verified (no "
        "checksums in its metadata.json, or files edited by hand); only for "
        "presets you made yourself",
    )


def add_search_arguments(parser, n_best=True, batch_size=32):
    """Adds the search options (`--sampler`, `--num-beams`, ...) to `parser`."""
    group = parser.add_argument_group(
        "search",
        "Without search options, the search the preset's scores were measured\n"
        "with (recorded in its metadata) is used; options override it. Without\n"
        + (
            "--sampler, --num-beams, --length-penalty, --coverage-penalty and\n"
            "--n-best imply beam"
            if n_best
            else "--sampler, --num-beams, --length-penalty and --coverage-penalty\n"
            "imply beam"
        )
        + ", --top-p implies top_p and --top-k implies top_k.",
    )
    group.add_argument("--sampler", choices=SAMPLER_NAMES, default=None,
                       help="the search algorithm")
    group.add_argument("--num-beams", type=positive_int, default=None, metavar="N",
                       help="beams per sentence (beam; exact: its initial beam)")
    group.add_argument("--length-penalty", type=non_negative_float, default=None,
                       metavar="ALPHA",
                       help="GNMT length penalty alpha (beam, exact; 0: none)")
    group.add_argument("--coverage-penalty", type=non_negative_float, default=None,
                       metavar="BETA", help="GNMT coverage penalty beta (beam; 0: none)")
    if n_best:
        group.add_argument("--n-best", type=positive_int, default=None, metavar="N",
                           help="write the N best hypotheses per sentence as "
                           "'INDEX ||| TEXT ||| SCORE' lines (beam)")
    group.add_argument("--top-k", type=positive_int, default=None, metavar="K",
                       help="sample among the K most probable tokens (top_k, top_p)")
    group.add_argument("--top-p", type=probability, default=None, metavar="P",
                       help="nucleus sampling mass in (0, 1] (top_p)")
    group.add_argument("--temperature", type=positive_float, default=None,
                       metavar="T", help="divide the logits by T (not greedy)")
    group.add_argument("--seed", type=int, default=None,
                       help="random seed (sampling searches; also seeds Keras)")
    group.add_argument("--max-length", type=max_length_type, default=None,
                       metavar="TOKENS",
                       help="maximum output length in tokens, start token "
                       "included (default: the preset's decoder_sequence_length)")
    if batch_size:
        group.add_argument("--batch-size", type=positive_int, default=batch_size,
                           metavar="N", help=f"sentences per batch (default {batch_size})")


def add_data_dir_argument(parser):
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="data set root holding multi30k/ (default: $KERAS_S2S_DATA_DIR or "
        "~/.cache/keras-s2s/datasets)",
    )


# ---------------------------------------------------------------- presets


def default_preset():
    """The best shipped translation preset: English-German, else German-English.

    "Best" is the highest headline score. Raises `CLIError` when no
    translation preset is shipped.
    """
    from keras_s2s.presets import list_presets

    presets = [p for p in list_presets() if p["task"] == "translation"]
    for languages in DEFAULT_LANGUAGES:
        candidates = [p for p in presets if p["languages"] == languages]
        if candidates:
            return max(
                candidates,
                key=lambda p: (p["headline_score"] or {}).get("value", float("-inf")),
            )["name"]
    raise CLIError(
        "no default preset: this installation of keras-s2s ships no English-German "
        "or German-English preset. Pass --preset NAME_OR_DIR ('keras-s2s presets' "
        "lists the shipped presets)."
    )


def resolve_preset_argument(preset):
    """`(preset, path)` for `--preset` (None: the default), checked for the user."""
    from keras_s2s.presets import preset_names
    from keras_s2s.presets import resolve_preset
    from keras_s2s.presets.preset_registry import PRESET_NAME_PATTERN
    from keras_s2s.presets.preset_registry import REMOTE_SCHEMES

    if preset is None:
        preset = default_preset()
    if not (
        os.path.isdir(preset)
        or preset.startswith(REMOTE_SCHEMES)
        or (PRESET_NAME_PATTERN.match(preset) and preset in preset_names())
    ):
        names = ", ".join(preset_names()) or "none"
        raise CLIError(
            f"unknown preset '{preset}': not a shipped preset name (shipped: {names}; "
            "see 'keras-s2s presets') and not a preset directory."
        )
    trust = getattr(preset, "trust_unverified", False)
    return preset, _preset_value(resolve_preset(preset, trust_unverified=trust), trust)


def preset_info(path):
    """The `"keras_s2s"` metadata of a preset directory ({} if it has none)."""
    from keras_s2s.presets import read_metadata

    if not os.path.isdir(path):
        return {}
    try:
        return read_metadata(path).get("keras_s2s", {}) or {}
    except ValueError:
        return {}


def open_preset(preset):
    """Resolves `--preset` (None: the default) without loading the model.

    Returns:
        `(name, path, info)`: the preset's name, its verified directory (or
        remote handle) and its `"keras_s2s"` metadata (languages, scores, the
        search its scores were measured with; `{}` for a plain keras-hub
        preset).
    """
    preset, path = resolve_preset_argument(preset)
    name = os.path.basename(os.path.normpath(path)) if os.path.isdir(path) else preset
    return name, path, preset_info(path)


def load_model(path):
    """Loads the `Seq2SeqLM` of a preset path from `open_preset`."""
    from keras_s2s.models import Seq2SeqLM

    model = Seq2SeqLM.from_preset(
        path, trust_unverified=getattr(path, "trust_unverified", False)
    )
    if model.preprocessor is None:
        raise CLIError(
            f"preset '{path}' has no preprocessor (tokenizer), so it cannot take "
            "text. Save the model with its Seq2SeqLMPreprocessor."
        )
    return model


# ----------------------------------------------------------------- search


def _recorded_sampler(recorded):
    """`(name, config)` of a preset's recorded search, or `(None, {})`."""
    from keras_s2s import samplers

    if recorded is None:
        return None, {}
    try:
        sampler = samplers.get(recorded)
    except ValueError:
        return None, {}
    name = SAMPLER_CLASS_NAMES.get(type(sampler).__name__)
    if name is None:
        return None, {}
    return name, sampler.get_config()


def build_sampler(args, recorded=None):
    """The sampler the search options ask for.

    Args:
        args: parsed arguments holding the options of `add_search_arguments`.
        recorded: the preset's recorded search (a name or sampler config), or
            None.

    Returns:
        `(sampler, n_best)`: a sampler instance, or None to keep the model's
        compiled sampler; `n_best` is None or an int >= 2 (the sampler then
        returns all beams).
    """
    from keras_s2s import samplers
    from keras_s2s.samplers.serialization import SAMPLERS

    given = {
        option: getattr(args, option)
        for option in SEARCH_OPTIONS
        if getattr(args, option, None) is not None
    }
    name = args.sampler
    if name is None:
        implied = sorted({IMPLIED_SAMPLER[o] for o in given if o in IMPLIED_SAMPLER})
        if "top_p" in implied and "top_k" in implied:
            implied.remove("top_k")  # --top-k is top_p's optional cut.
        if len(implied) > 1:
            raise CLIError(
                "search options of different samplers: "
                + ", ".join(f"--{o.replace('_', '-')}" for o in sorted(given))
                + ". Pass --sampler to choose one."
            )
        name = implied[0] if implied else None
    recorded_name, recorded_config = _recorded_sampler(recorded)
    if name is None:
        if not given and args.seed is None:
            return (samplers.get(recorded) if recorded_name else None), None
        name = recorded_name or "greedy"
    for option in given:
        if name not in SEARCH_OPTIONS[option]:
            allowed = ", ".join(sorted(SEARCH_OPTIONS[option]))
            raise CLIError(
                f"--{option.replace('_', '-')} does not apply to --sampler {name} "
                f"(it applies to: {allowed})."
            )
    config = dict(recorded_config) if name == recorded_name else {}
    config.pop("return_all_beams", None)
    for option, value in given.items():
        argument = SEARCH_OPTIONS[option][name]
        if argument is not None:
            config[argument] = value
    if name in SEEDED_SAMPLERS and args.seed is not None:
        config["seed"] = args.seed
    n_best = given.get("n_best")
    if n_best is not None and n_best > 1:
        beams = config.get("num_beams", samplers.get("beam").num_beams)
        if "num_beams" in given and beams < n_best:
            raise CLIError(
                f"--n-best {n_best} needs at least as many beams; got --num-beams "
                f"{beams}."
            )
        config["num_beams"] = max(beams, n_best)
        config["return_all_beams"] = True
    else:
        n_best = None
    cls = SAMPLERS[name]
    try:
        return cls(**config), n_best
    except ValueError as error:
        raise CLIError(f"bad search option: {error}")


def describe_sampler(sampler):
    """`BeamSampler(num_beams=5, length_penalty=0.6)`: the non-default arguments."""
    if sampler is None:
        return "the preset's compiled search"
    defaults = type(sampler)().get_config()
    config = sampler.get_config()
    changed = ", ".join(
        f"{key}={value!r}" for key, value in config.items() if defaults.get(key) != value
    )
    return f"{type(sampler).__name__}({changed})"


def compile_search(model, args, sampler):
    """Seeds Keras and compiles `model` with `sampler` (None: keep its own).

    Compiled once, every batch reuses one traced generation function.

    Returns:
        The model's sampler.
    """
    import keras

    if getattr(args, "seed", None) is not None:
        keras.utils.set_random_seed(args.seed)
    if sampler is not None:
        model.compile(sampler=sampler)
    return model.sampler


# ------------------------------------------------------------- generation


def generate_token_ids(model, sources, max_length=None):
    """Runs the compiled search on strings, returns token-level outputs.

    Unlike `model.generate(strings)`, this keeps what detokenized strings
    drop: n-best lists and their scores, and the token ids themselves.

    Returns:
        `(inputs, outputs)`: the packed inputs (NumPy) and the dict of
        `Seq2SeqLM.generate_step` (NumPy), `"decoder_token_ids"`
        `(batch_size, max_length)` or `(batch_size, num_beams, max_length)`.
    """
    import keras
    import numpy as np

    preprocessor = model.preprocessor
    inputs = preprocessor.generate_preprocess(list(sources), sequence_length=max_length)
    inputs = {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in inputs.items()}
    stop = [preprocessor.decoder_tokenizer.end_token_id]
    # Detached for the call: with a preprocessor, `generate` takes strings.
    model.preprocessor = None
    try:
        outputs = model.generate(inputs, stop_token_ids=stop)
    finally:
        model.preprocessor = preprocessor
    return inputs, {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in outputs.items()}


def _n_best(model, batch, max_length):
    """One list of `(text, score)` per source, best first."""
    _, outputs = generate_token_ids(model, batch, max_length)
    token_ids, mask = outputs["decoder_token_ids"], outputs["decoder_padding_mask"]
    scores = outputs["scores"]
    postprocess = model.preprocessor.generate_postprocess
    texts = [
        postprocess({"decoder_token_ids": token_ids[:, k], "decoder_padding_mask": mask[:, k]})
        for k in range(token_ids.shape[1])
    ]
    return [
        [
            (str(texts[k][row]), float(scores[row, k]))
            for k in range(token_ids.shape[1])
            if scores[row, k] > -1e8  # Unfilled slots score -1e9.
        ]
        for row in range(token_ids.shape[0])
    ]


@contextlib.contextmanager
def _to_stderr():
    # keras.utils.Progbar writes to stdout; outputs may be going there.
    with contextlib.redirect_stdout(sys.stderr):
        yield


def translate_all(model, sources, batch_size=32, max_length=None, n_best=None,
                  progress=False):
    """Translates `sources` in fixed-size batches, optionally with a progress bar.

    Empty (or blank) sources are not sent to the model; their output is "".
    When there are more sources than `batch_size`, the last batch is padded
    with copies of its first source, so one traced function serves all.

    Returns:
        One string per source, or with `n_best`, one list of `(text, score)`
        per source.
    """
    import keras

    positions = [i for i, text in enumerate(sources) if text.strip()]
    texts = [sources[i] for i in positions]
    results = [[] if n_best else "" for _ in sources]
    bar = None
    if progress and texts:
        with _to_stderr():
            bar = keras.utils.Progbar(len(texts), unit_name="sentence")
    done = 0
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        size = len(batch)
        if len(texts) > batch_size and size < batch_size:
            batch = batch + [batch[0]] * (batch_size - size)
        if n_best:
            outputs = [best[:n_best] for best in _n_best(model, batch, max_length)]
        else:
            outputs = model.generate(batch, max_length=max_length)
            if isinstance(outputs, str):
                outputs = [outputs]
            outputs = [str(text) for text in outputs]
        for i, output in zip(positions[start : start + size], outputs[:size]):
            results[i] = output
        done += size
        if bar is not None:
            with _to_stderr():
                bar.update(done)
    return results


# ------------------------------------------------------------------ files


def read_lines(path):
    """The lines of a UTF-8 text file (`-`: stdin), without line endings."""
    if path == "-":
        try:
            return [line.rstrip("\r\n") for line in sys.stdin]
        except UnicodeDecodeError as error:
            raise CLIError(f"standard input is not UTF-8 text ({error.reason}).")
    if os.path.isdir(path):
        raise CLIError(f"input file '{path}' is a directory.")
    if not os.path.isfile(path):
        raise CLIError(f"input file '{path}' does not exist.")
    try:
        with open(path, encoding="utf-8") as file:
            return [line.rstrip("\r\n") for line in file]
    except UnicodeDecodeError as error:
        raise CLIError(f"input file '{path}' is not UTF-8 text ({error.reason}).")


def check_output_path(path, overwrite=True):
    """Fails early (before any model is loaded) on an unwritable output path."""
    if path is None or path == "-":
        return
    if os.path.isdir(path):
        raise CLIError(f"output file '{path}' is a directory.")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"cannot write '{path}': the directory '{parent}' does not exist.")
    if not overwrite and os.path.exists(path):
        raise CLIError(f"output file '{path}' exists; pass --overwrite to replace it.")


@contextlib.contextmanager
def open_output(path):
    """A text stream for `--output-file` (None or `-`: stdout)."""
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8") as file:
        yield file
