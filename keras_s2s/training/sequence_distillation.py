"""Sequence-level knowledge distillation (Kim & Rush, 2016).

A teacher (typically a `Seq2SeqEnsembleLM`) translates the training sources
with its search; a student is trained from a recipe on those translations
instead of the references, so one fast model keeps much of the teacher's
quality. Validation and test scores are still computed against the real
references.
"""

import contextlib
import hashlib
import json
import os
import time

import keras
import numpy as np

from keras_s2s import samplers as samplers_lib
from keras_s2s.training.evaluation import translate
from keras_s2s.training.model_card import format_model_card
from keras_s2s.training.preset_writer import write_preset
from keras_s2s.training.recipe import Recipe
from keras_s2s.training.trainer import DEFAULT_RUNS_DIR
from keras_s2s.training.trainer import Trainer

TARGETS_FILE = "distilled_targets.txt"
INFO_FILE = "distillation.json"


def _fingerprint_texts(texts):
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def teacher_fingerprint(teacher):
    """sha256 of a teacher's weights (every variable, in order) and class."""
    digest = hashlib.sha256(type(teacher).__name__.encode("utf-8"))
    for variable in teacher.variables:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(variable))
        digest.update(str(value.shape).encode("utf-8"))
        digest.update(value.tobytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _search_with(model, sampler):
    """Runs `model.generate` with `sampler` (one traced function for all calls)."""
    if sampler is None:
        yield
        return
    saved = (model.sampler, model.generate_function)
    model.sampler, model.generate_function = samplers_lib.get(sampler), None
    try:
        yield
    finally:
        model.sampler, model.generate_function = saved


def distill_targets(teacher, sources, sampler=None, batch_size=64, max_length=None):
    """The teacher's translations of `sources`: the student's training targets.

    Args:
        teacher: a `keras_s2s.models.Seq2SeqLM` (e.g. a
            `Seq2SeqEnsembleLM`) with a preprocessor.
        sources: list of source strings.
        sampler: the teacher's search (a name, config or instance), or None
            for its compiled sampler. Kim & Rush use beam search.
        batch_size: sentences per `generate()` call.
        max_length: maximum output length in tokens (`<s>` included), or
            None for the teacher's `decoder_sequence_length`.

    Returns:
        A list of `len(sources)` strings.
    """
    if getattr(teacher, "preprocessor", None) is None:
        raise ValueError(
            "Expected a teacher with a preprocessor (it translates strings). "
            "Load it with Seq2SeqLM.from_preset or attach a "
            "Seq2SeqLMPreprocessor."
        )
    with _search_with(teacher, sampler):
        return translate(teacher, sources, batch_size=batch_size, max_length=max_length)


class SequenceDistillationTrainer(Trainer):
    """A `Trainer` whose training targets are a teacher's translations.

    Everything but the training targets is `Trainer`'s: the recipe builds
    the student (and its tokenizer, trained on the sources and the teacher's
    outputs), validation selects epochs on the real references, the test
    splits are scored against them, and the preset is written with its card.
    The preset's metadata gains `"distillation"` (the teacher, its search,
    how long it took to translate) and a training note.

    The translations are computed once and kept in the checkpoint directory
    (`distilled_targets.txt`, `distillation.json`), so an interrupted run
    resumes without translating again. A checkpoint directory holding
    another teacher's translations, or a run trained on the references, is
    refused.

    Args:
        recipe: the student's recipe (a `Recipe`, a dict or a file path).
        teacher: a `Seq2SeqLM` or `Seq2SeqEnsembleLM` with a preprocessor.
        teacher_name: how the teacher is recorded (e.g. its preset names);
            defaults to its class name.
        sampler: the teacher's search (None: its compiled sampler).
        translation_batch_size: sentences per teacher `generate()` call.
        translation_max_length: the teacher's maximum output length (None:
            the recipe's `decoder_sequence_length`).
        checkpoint_dir: defaults to `~/.cache/keras-s2s/runs/<recipe
            name>_distilled`.
        **kwargs: the other `Trainer` arguments (`output_dir`,
            `max_epochs`, `max_train_examples`, `overwrite`, `verbose`, ...).
    """

    def __init__(
        self,
        recipe,
        teacher,
        teacher_name=None,
        sampler=None,
        translation_batch_size=64,
        translation_max_length=None,
        checkpoint_dir=None,
        **kwargs,
    ):
        if isinstance(recipe, dict):
            recipe = Recipe.from_dict(recipe)
        elif isinstance(recipe, (str, os.PathLike)):
            recipe = Recipe.from_file(recipe)
        if checkpoint_dir is None and isinstance(recipe, Recipe):
            checkpoint_dir = os.path.join(DEFAULT_RUNS_DIR, f"{recipe.name}_distilled")
        super().__init__(recipe, checkpoint_dir=checkpoint_dir, **kwargs)
        if getattr(teacher, "preprocessor", None) is None:
            raise ValueError(
                "Expected `teacher` to be a keras_s2s.models.Seq2SeqLM (or "
                "Seq2SeqEnsembleLM) with a preprocessor. Received: "
                f"{type(teacher).__name__}"
                + ("" if teacher is None else " without a preprocessor")
            )
        self.teacher = teacher
        self.teacher_name = teacher_name or type(teacher).__name__
        self.sampler = samplers_lib.get(sampler) if sampler is not None else None
        self.translation_batch_size = translation_batch_size
        self.translation_max_length = (
            translation_max_length or self.recipe.preprocessor["decoder_sequence_length"]
        )
        self.distillation = None

    def _teacher_record(self, sources):
        sampler = self.sampler if self.sampler is not None else self.teacher.sampler
        return {
            "method": "sequence-level knowledge distillation (Kim & Rush, 2016)",
            "teacher": self.teacher_name,
            "teacher_class": type(self.teacher).__name__,
            "teacher_members": len(getattr(self.teacher, "members", [None])),
            "teacher_fingerprint": teacher_fingerprint(self.teacher),
            "search": samplers_lib.serialize(sampler),
            "max_length": self.translation_max_length,
            "examples": len(sources),
            "sources_sha256": _fingerprint_texts(sources),
        }

    def _load_split(self, split, limit, scored=False):
        sources, targets = super()._load_split(split, limit, scored=scored)
        if scored or split != self.recipe.data["train_split"]:
            return sources, targets
        return sources, self._distilled_targets(sources)

    def _distilled_targets(self, sources):
        """The teacher's translations of the training sources (kept on disk)."""
        record = self._teacher_record(sources)
        info_path = os.path.join(self.checkpoint_dir, INFO_FILE)
        targets_path = os.path.join(self.checkpoint_dir, TARGETS_FILE)
        if os.path.exists(info_path):
            with open(info_path, encoding="utf-8") as file:
                saved = json.load(file)
            keys = ("teacher_fingerprint", "search", "max_length", "sources_sha256")
            different = [key for key in keys if saved.get(key) != record[key]]
            if different:
                raise ValueError(
                    f"The checkpoint directory '{self.checkpoint_dir}' holds the "
                    f"translations of another distillation (its {different[0]} "
                    "differs: another teacher, search or training set). Resume "
                    "it with the same teacher, or use another checkpoint "
                    "directory."
                )
            with open(targets_path, encoding="utf-8") as file:
                targets = [line.rstrip("\n") for line in file]
            self.distillation = saved
            self._print(f"Reusing the teacher's translations in '{targets_path}'.")
            return targets
        if self.manager is not None and self.manager.latest_epoch():
            raise ValueError(
                f"The checkpoint directory '{self.checkpoint_dir}' holds a run "
                "trained on the references, not a distillation. Use another "
                "checkpoint directory."
            )
        self._print(
            f"Translating {len(sources)} training sources with the teacher "
            f"({self.teacher_name})..."
        )
        start = time.perf_counter()
        targets = distill_targets(
            self.teacher,
            sources,
            sampler=self.sampler,
            batch_size=self.translation_batch_size,
            max_length=self.translation_max_length,
        )
        seconds = time.perf_counter() - start
        # One line per target: a newline inside an output would shift them.
        targets = [" ".join(text.splitlines()) for text in targets]
        record["translation_seconds"] = round(seconds, 1)
        record["sentences_per_second"] = round(len(sources) / max(seconds, 1e-9), 1)
        _write_atomically(targets_path, "".join(t + "\n" for t in targets))
        _write_atomically(info_path, json.dumps(record, indent=2) + "\n")
        self.distillation = record
        self._print(
            f"Translated in {seconds:.0f} s ({record['sentences_per_second']} "
            f"sentences/s); kept in '{targets_path}'."
        )
        return targets

    def _finish(self, selection, run_start):
        # The base class writes the preset; here it is written after the
        # distillation record joins the metadata.
        output_dir, self.output_dir = self.output_dir, None
        try:
            report = super()._finish(selection, run_start)
        finally:
            self.output_dir = output_dir
        metadata = report["metadata"]
        metadata["distillation"] = self.distillation
        metadata["training"]["notes"] = list(metadata["training"].get("notes", [])) + [
            "Trained by sequence-level knowledge distillation (Kim & Rush, "
            f"2016): the training targets are the translations of "
            f"{self.teacher_name} with "
            f"{self.distillation['search'].get('class_name', 'its search')}; "
            "validation and test scores use the real references."
        ]
        if output_dir is not None:
            name = os.path.basename(output_dir)
            report["preset_dir"] = write_preset(
                self.model,
                output_dir,
                metadata=metadata,
                model_card=format_model_card(name, metadata, self.recipe.get_config()),
                overwrite=self.overwrite,
            )
            self._print(f"Preset written to '{report['preset_dir']}'.")
        return report


def _write_atomically(path, text):
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def distill(teacher, recipe, output_dir=None, *, sampler=None, teacher_name=None,
            translation_batch_size=64, translation_max_length=None, **kwargs):
    """Trains a student from `recipe` on a teacher's translations.

    Sequence-level knowledge distillation (Kim & Rush, 2016): `teacher`
    translates the recipe's training sources with `sampler` (beam search in
    the paper); the student the recipe describes is trained on those
    outputs with the recipe's optimizer, epochs and selection, and scored
    on the real references. See `SequenceDistillationTrainer`.

    Args:
        teacher: a `keras_s2s.models.Seq2SeqLM` or `Seq2SeqEnsembleLM`
            (with a preprocessor), or a list of preset names or directories
            (loaded as an ensemble; one name loads one model).
        recipe: the student's recipe (a `Recipe`, a dict or a file path).
        output_dir: the student's preset directory, or None to only train.
        sampler: the teacher's search (None: its compiled sampler).
        teacher_name: how the teacher is recorded in the student's metadata.
        translation_batch_size: sentences per teacher `generate()` call.
        translation_max_length: the teacher's maximum output length.
        **kwargs: other `Trainer` arguments (`checkpoint_dir`,
            `max_epochs`, `max_train_examples`, `overwrite`, `verbose`,
            `data_dir`, ...).

    Returns:
        `Trainer.run()`'s report; `report["metadata"]["distillation"]`
        records the teacher, its search and its translation speed.

    Example:

    ```python
    teacher = keras_s2s.models.Seq2SeqEnsembleLM.from_preset(
        ["en_de_seed1", "en_de_seed2"])
    report = keras_s2s.training.distill(
        teacher, "zoo/multi30k_en_de_gru_bahdanau.json", "en_de_distilled",
        sampler=keras_s2s.samplers.BeamSampler(num_beams=5))
    ```
    """
    if isinstance(teacher, (list, tuple)):
        from keras_s2s.models import Seq2SeqEnsembleLM
        from keras_s2s.models import Seq2SeqLM

        names = [os.fspath(name) for name in teacher]
        teacher_name = teacher_name or " + ".join(names)
        if len(names) == 1:
            teacher = Seq2SeqLM.from_preset(names[0])
        else:
            teacher = Seq2SeqEnsembleLM.from_preset(names)
    trainer = SequenceDistillationTrainer(
        recipe,
        teacher,
        teacher_name=teacher_name,
        sampler=sampler,
        translation_batch_size=translation_batch_size,
        translation_max_length=translation_max_length,
        output_dir=output_dir,
        **kwargs,
    )
    return trainer.run()
