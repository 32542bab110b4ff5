"""The model card (`README.md`) of a trained preset."""

import json
import os
import platform

from keras_s2s.training.evaluation import METRIC_DESCRIPTIONS
from keras_s2s.training.evaluation import score_digits

METRIC_NAMES = {
    "multi30k_bleu": "BLEU (Multi30k protocol)",
    "sacrebleu": "sacreBLEU",
    "chrf": "chrF",
    "e2e_bleu": "BLEU (E2E, multi-reference)",
    "rouge_l": "ROUGE-L",
    "slot_coverage": "slot values covered (%)",
    "wer": "WER (%)",
    "per": "PER (%)",
    "token_f1": "token F1",
    "compression_ratio": "compression ratio",
}


def _format_value(score):
    return f"{score['value']:.{score_digits(score['metric'])}f}"


def _format_tokenizer(tokenizer, vocabulary_size):
    if tokenizer.get("type") == "symbol":
        return (
            f"symbols (source split by {tokenizer['source_split']}, target by "
            f"{tokenizer['target_split']}), {_format_vocabulary(vocabulary_size)}"
        )
    return (
        f"SentencePiece {tokenizer['model_type']}, "
        f"{_format_vocabulary(vocabulary_size)}"
    )


def describe_hardware():
    """A dict describing this machine: OS, CPU model, core count, devices.

    Example:
    >>> sorted(describe_hardware())
    ['cpu', 'cpu_count', 'devices', 'platform', 'python']
    """
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    devices = None
    try:
        import keras

        if keras.distribution is not None:
            devices = [str(d) for d in keras.distribution.list_devices()]
    except Exception:
        devices = None
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "devices": devices,
    }


def _format_duration(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min {seconds:02d} s"


def _format_search(search):
    if isinstance(search, str):
        return f"`{search}`"
    return f"`{json.dumps(search, sort_keys=True)}`"


def _format_score(value):
    return "-" if value is None else f"{value:.2f}"


def _format_vocabulary(sizes):
    if not sizes:
        return "vocabulary size unknown"
    if sizes.get("joint"):
        return f"one joint source/target vocabulary of {sizes['source']} pieces"
    return (
        f"separate vocabularies: {sizes['source']} source pieces, "
        f"{sizes['target']} target pieces"
    )


def _example_lines(example, search):
    """`generate()` on a validation input, with its output as a comment."""
    if not example:
        return ['print(model.generate(["..."]))']
    return [
        f"print(model.generate([{json.dumps(example['input'], ensure_ascii=False)}]))",
        f"# {json.dumps([example['output']], ensure_ascii=False)}  "
        f"({_format_search(search)}, the preset's search)",
    ]


def _markdown_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _use_lines(use, metadata):
    """The "Intended use and limitations" section of a model card."""
    if not use:
        return []
    lines = ["## Intended use and limitations", ""]
    if use.get("domain"):
        lines.append(f"- Domain: {use['domain']}")
    if use.get("strengths"):
        lines.append(f"- Good at: {use['strengths']}")
    if use.get("weaknesses"):
        lines.append(f"- Bad at: {use['weaknesses']}")
    examples = use.get("examples") or []
    if examples:
        lines += [
            "",
            f"Outputs of this preset ({_format_search(metadata.get('evaluation_search'))}), "
            "as `generate()` gives them:",
            "",
            "| input | kind | output |",
            "| --- | --- | --- |",
            *(
                f"| {_markdown_cell(e['input'])} | {e['kind']} | {_markdown_cell(e['output'])} |"
                for e in examples
            ),
        ]
    return lines + [""]


def format_model_card(name, metadata, recipe_config):
    """Renders the Markdown model card of a preset.

    Args:
        name: the preset name.
        metadata: the `"keras_s2s"` metadata the trainer records (scores,
            search settings, command, training time, hardware, backend,
            parameter count); `metadata["training"]["notes"]`, a list of
            paragraphs, is printed under the epoch table.
        recipe_config: `Recipe.get_config()`.

    Returns:
        The card text.
    """
    validation_metric = METRIC_NAMES.get(
        recipe_config["validation"]["metric"], recipe_config["validation"]["metric"]
    )
    source = metadata.get("source_language")
    target = metadata.get("target_language")
    training = metadata.get("training", {})
    model = recipe_config["model"]
    lines = [f"# {name}", ""]
    if recipe_config.get("description"):
        lines += [recipe_config["description"], ""]
    lines += [
        f"Task: {metadata.get('task')} ({source} → {target}), "
        f"data set: {recipe_config['data']['dataset']}.",
        "",
        "```python",
        "import keras_s2s",
        "",
        f'model = keras_s2s.models.Seq2SeqLM.from_preset("{name}")',
        *_example_lines(metadata.get("example"), metadata.get("evaluation_search")),
        "```",
        "",
        *_use_lines(metadata.get("model_card"), metadata),
        "## Scores",
        "",
        "| split | metric | score | signature |",
        "| --- | --- | ---: | --- |",
    ]
    for score in metadata.get("scores", []):
        lines.append(
            f"| {score['split']} | {METRIC_NAMES.get(score['metric'], score['metric'])} "
            f"| {_format_value(score)} | `{score['signature']}` |"
        )
    headline = metadata.get("headline_score")
    lines += [""]
    if headline:
        lines += [
            f"Headline: **{_format_value(headline)}** "
            f"{METRIC_NAMES.get(headline['metric'], headline['metric'])} on "
            f"{headline['split']}.",
            "",
        ]
    lines += ["Protocols:", ""]
    used = sorted({s["metric"] for s in metadata.get("scores", [])})
    for metric in used:
        lines.append(f"- {METRIC_NAMES.get(metric, metric)}: {METRIC_DESCRIPTIONS[metric]}.")
    lines += [
        "",
        f"Search for these scores: {_format_search(metadata.get('evaluation_search'))}"
        f" (maximum length: {metadata.get('evaluation_max_length')} tokens). "
        "Model selection and early stopping used "
        f"{METRIC_NAMES.get(recipe_config['validation']['metric'])} on "
        f"{recipe_config['data']['validation_split']} with "
        f"{_format_search(recipe_config['validation']['search'])} search.",
        "",
        "## Model",
        "",
        f"- Parameters: {metadata.get('parameter_count'):,}",
        f"- Backbone: {', '.join(f'{k}={v}' for k, v in sorted(model.items()))}",
        "- Tokenizer: "
        + _format_tokenizer(recipe_config["tokenizer"], metadata.get("vocabulary_size")),
        "",
        "## Training",
        "",
        f"- Epochs run: {training.get('epochs_run')}"
        f"{' (early stopping)' if training.get('stopped_early') else ''}; "
        f"selected: {training.get('selected')}",
        f"- Best single-epoch validation score: {_format_score(training.get('best_score'))} "
        f"{validation_metric} (epoch {training.get('best_epoch')})",
    ]
    if training.get("averaged_score") is not None:
        lines.append(
            f"- Average of the weights of epochs {training.get('averaged_epochs')}: "
            f"validation score {training['averaged_score']:.2f} {validation_metric}"
        )
    hardware = metadata.get("hardware", {})
    lines += [
        f"- Training time: {_format_duration(training.get('seconds', 0))} "
        f"(summed over interrupted and resumed runs; evaluation included)",
        f"- Backend: {metadata.get('backend')} (Keras {metadata.get('keras_version')})",
        f"- Hardware: {hardware.get('cpu')}, {hardware.get('cpu_count')} cores "
        f"visible; devices {hardware.get('devices')}; {hardware.get('platform')}",
        "",
        "| epoch | loss | validation score | learning rate | scheduled sampling | seconds |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {h['epoch']} | {h['loss']:.4f} | {h['validation_score']:.2f} | "
            f"{h['learning_rate']:.3g} | {h['sampling_probability'] or 0:.2f} | "
            f"{h['seconds']:.0f} |"
            for h in training.get("history", [])
        ),
        "",
        *(f"{note}\n" for note in training.get("notes", [])),
        "## Reproduce",
        "",
        "```bash",
        metadata.get("command") or "# trained with keras_s2s.training.Trainer",
        "```",
        "",
        "Recipe:",
        "",
        "```json",
        json.dumps(recipe_config, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)
