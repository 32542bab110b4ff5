"""Trains a zoo recipe from pre-tokenized arrays, on a machine without TensorFlow.

`tools/train.py` tokenizes with keras-hub / tensorflow-text layers and feeds
`tf.data` pipelines, so it needs TensorFlow on the training machine. An
accelerator machine often has only JAX (or PyTorch). This tool splits a run
in three steps, with the same `Trainer` logic (epoch order, dropout seeds,
learning-rate plateaus, early stopping on validation BLEU, checkpoint
averaging) as `tools/train.py`:

1. `prepare` (here, with TensorFlow): trains or reuses the recipe's
   tokenizer (SentencePiece, joint or not, or symbol vocabularies) and writes
   a bundle (`.npz`) of token ids, the tokenizer files, the validation
   sources and references and the recipe.
2. `train` (anywhere; needs only keras, keras-hub, numpy, sentencepiece,
   sacrebleu and sacremoses): trains from the bundle, selects the best epoch
   or the average of the last N, and writes the selected weights (split in
   parts no larger than `--part-megabytes`) and the run's state.
3. `finish` (here): loads the selected weights into the model built with the
   tokenizer, scores the validation and test splits with the recipe's
   evaluation search and writes the preset and its model card.

Example:

```
KERAS_BACKEND=jax python tools/train_from_arrays.py prepare \\
    zoo/multi30k_en_de_gru_bahdanau.json --bundle /tmp/en_de.npz
KERAS_BACKEND=jax python tools/train_from_arrays.py train /tmp/en_de.npz \\
    --checkpoint-dir /tmp/run --output /tmp/selected --time-budget 3600
KERAS_BACKEND=jax python tools/train_from_arrays.py finish /tmp/en_de.npz \\
    --selected /tmp/selected --output-dir keras_s2s/presets/multi30k_en_de_gru_bahdanau
```
"""

import argparse
import json
import math
import os
import shlex
import sys
import time
import types

import numpy as np

SPECIAL = {"pad": 0, "unk": 1, "start": 2, "end": 3}


def _ragged(rows):
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.concatenate([np.asarray(r, dtype=np.int32) for r in rows])
    return flat, offsets


def _unragged(flat, offsets):
    return [flat[offsets[i]: offsets[i + 1]] for i in range(len(offsets) - 1)]


# ---------------------------------------------------------------- prepare


def prepare(args):
    from keras_s2s.training import Trainer

    trainer = Trainer(
        args.recipe, checkpoint_dir=args.checkpoint_dir, data_dir=args.data_dir
    )
    recipe = trainer.recipe
    os.makedirs(trainer.checkpoint_dir, exist_ok=True)
    trainer._check_run()
    sources, targets = trainer._load_split(
        recipe.data["train_split"], trainer.train_examples_limit
    )
    tokenizers = trainer._tokenizers(sources, targets)
    source_tokenizer = tokenizers.get("encoder_tokenizer", tokenizers.get("tokenizer"))
    target_tokenizer = tokenizers.get("decoder_tokenizer", tokenizers.get("tokenizer"))
    split = recipe.data["validation_split"]
    # The scored set: one source per output (E2E groups the references of
    # each meaning representation); Multi30k's is its plain pairs.
    val_sources, val_targets = trainer._load_split(
        split, recipe.data["max_validation_examples"], scored=True
    )
    tokenized = trainer._tokenized_references(split, len(val_sources))

    def ids(texts, tokenizer):
        rows = []
        for start in range(0, len(texts), 4096):
            batch = tokenizer(texts[start: start + 4096])
            if hasattr(batch, "to_list"):
                batch = batch.to_list()
            rows.extend(np.asarray(r, dtype=np.int32) for r in batch)
        return rows

    # Every file of the run's tokenizer folder travels in the bundle: the
    # SentencePiece model(s) or the symbol vocabularies.
    tokenizer_dir = os.path.join(trainer.checkpoint_dir, "tokenizer")
    tokenizer_files = {}
    for name in sorted(os.listdir(tokenizer_dir)):
        with open(os.path.join(tokenizer_dir, name), "rb") as file:
            tokenizer_files[name] = file.read()
    meta = {
        "recipe": recipe.get_config(),
        "encoder_vocabulary_size": int(source_tokenizer.vocabulary_size()),
        "decoder_vocabulary_size": int(target_tokenizer.vocabulary_size()),
        "validation_sources": val_sources,
        "validation_references": val_targets,
        "validation_tokenized_references": tokenized,
        "tokenizer_files": sorted(tokenizer_files),
    }
    arrays = {}
    for name, rows in (
        ("train_source", ids(sources, source_tokenizer)),
        ("train_target", ids(targets, target_tokenizer)),
        ("validation_source", ids(val_sources, source_tokenizer)),
    ):
        arrays[f"{name}_flat"], arrays[f"{name}_offsets"] = _ragged(rows)
    for index, name in enumerate(meta["tokenizer_files"]):
        arrays[f"tokenizer_file_{index}"] = np.frombuffer(tokenizer_files[name], dtype=np.uint8)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(args.bundle, **arrays)
    print(
        f"Wrote '{args.bundle}': {len(sources)} training pairs, "
        f"{len(val_sources)} validation sources, vocabularies "
        f"{meta['encoder_vocabulary_size']} / {meta['decoder_vocabulary_size']}, "
        f"tokenizer files {meta['tokenizer_files']} from '{tokenizer_dir}'."
    )


def load_bundle(path):
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    if "spm" in arrays:
        # Bundles written before symbol tokenizers: one joint SentencePiece model.
        meta.setdefault("tokenizer_files", ["joint.spm"])
        arrays["tokenizer_file_0"] = arrays.pop("spm")
        size = meta.pop("vocabulary_size")
        meta.setdefault("encoder_vocabulary_size", size)
        meta.setdefault("decoder_vocabulary_size", size)
    files = {
        name: arrays.pop(f"tokenizer_file_{index}").tobytes()
        for index, name in enumerate(meta["tokenizer_files"])
    }
    bundle = {"meta": meta, "tokenizer_files": files}
    for name in ("train_source", "train_target", "validation_source"):
        bundle[name] = _unragged(arrays[f"{name}_flat"], arrays[f"{name}_offsets"])
    return bundle


# ---------------------------------------------------------------- train


def _pack(rows, length, start):
    """Pads `[<s>] ids [</s>]` (or `ids [</s>]`) rows to `length`."""
    batch = np.zeros((len(rows), length), dtype=np.int32)
    for i, row in enumerate(rows):
        row = list(row[: length - (2 if start else 1)])
        packed = ([SPECIAL["start"]] if start else []) + row + [SPECIAL["end"]]
        batch[i, : len(packed)] = packed
    return batch


def make_detokenizer(tokenizer_config, tokenizer_files):
    """Token ids (specials removed) -> text, without TensorFlow."""
    if tokenizer_config["type"] == "symbol":
        from keras_s2s.tokenizers import SymbolTokenizer

        vocabulary = tokenizer_files["target.vocabulary.txt"].decode("utf-8").split("\n")[:-1]
        # Outside `tf.function` the tokenizer runs its pure-Python path.
        tokenizer = SymbolTokenizer(vocabulary, split=tokenizer_config["target_split"])
        return tokenizer.detokenize
    import sentencepiece

    name = "joint.spm" if tokenizer_config["joint"] else "target.spm"
    processor = sentencepiece.SentencePieceProcessor(model_proto=tokenizer_files[name])
    return processor.decode


def make_array_trainer_class():
    import keras

    from keras_s2s.training import Trainer
    from keras_s2s.training.validation_score import ValidationScore
    from keras_s2s.training.validation_score import validation_log_name
    from keras_s2s.training.evaluation import score_translations

    class ArrayBatches(keras.utils.PyDataset):
        def __init__(self, batches):
            super().__init__()
            self.batches = batches

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, index):
            return self.batches[index]

    class ArrayValidationScore(ValidationScore):
        """Greedy (or the recipe's search) on token ids; SentencePiece decoding."""

        def __init__(self, model, source_rows, detokenize, max_length, sources=None,
                     **kwargs):
            super().__init__(model, sources or [""] * len(source_rows), **kwargs)
            self.source_rows = source_rows
            self.detokenize = detokenize
            self.max_length = max_length or 64

        def evaluate(self):
            start = time.perf_counter()
            hypotheses = []
            length = self.max_length
            for begin in range(0, len(self.source_rows), self.batch_size):
                rows = self.source_rows[begin: begin + self.batch_size]
                count = len(rows)
                # Pad the last batch to the batch size: one compiled shape.
                rows = rows + [rows[0]] * (self.batch_size - count)
                encoder = _pack(rows, length, start=False)
                prompt = np.zeros((len(rows), length), dtype=np.int32)
                prompt[:, 0] = SPECIAL["start"]
                # `generate()` would wrap the arrays in a tf.data / grain
                # pipeline; the compiled generation function takes them as is.
                model = self.generation_model
                if model.generate_function is None:
                    model.make_generate_function()
                output = model.generate_function(
                    {
                        "encoder_token_ids": encoder,
                        "encoder_padding_mask": encoder != SPECIAL["pad"],
                        "decoder_token_ids": prompt,
                        "decoder_padding_mask": prompt != SPECIAL["pad"],
                    },
                    (SPECIAL["end"],),
                )
                ids = keras.ops.convert_to_numpy(output["decoder_token_ids"])[:count]
                for row in ids:
                    tokens = []
                    for token in row[1:]:
                        if token == SPECIAL["end"]:
                            break
                        if token > SPECIAL["end"]:
                            tokens.append(int(token))
                    hypotheses.append(self.detokenize(tokens))
            result = score_translations(
                hypotheses,
                self.references,
                self.metric,
                language=self.language,
                split=self.split,
                tokenized_references=self.tokenized_references,
                sources=self.sources,
            )
            self.last_hypotheses = hypotheses
            self.last_seconds = time.perf_counter() - start
            return result

    class ArrayTrainer(Trainer):
        """A `Trainer` fed from a bundle of token ids; no TensorFlow needed."""

        def __init__(self, bundle, recipe=None, time_budget=None, **kwargs):
            super().__init__(recipe or bundle["meta"]["recipe"], **kwargs)
            prepared = bundle["meta"]["recipe"]
            for section in ("data", "tokenizer", "preprocessor"):
                if self.recipe.get_config()[section] != prepared[section]:
                    raise SystemExit(
                        f"train: the recipe's '{section}' section differs from the "
                        "one the bundle was prepared with; prepare a bundle for it."
                    )
            self.bundle = bundle
            self.deadline = None if time_budget is None else time.time() + time_budget

        def _setup(self):
            from keras_s2s.training.checkpoint_manager import CheckpointManager

            average_last_n = self.recipe.training["average_last_n"]
            self.manager = CheckpointManager(
                self.checkpoint_dir,
                keep_checkpoints=1,
                keep_weights=average_last_n if average_last_n >= 2 else 0,
            )
            self.manager.remove_temporary_files()
            self._check_run()
            keras.utils.set_random_seed(self.recipe.seed)
            self.model, self.training_model = self._build_models(None)
            self.state = self._restore()
            backend = keras.backend.backend()
            if backend not in self.state["backends"]:
                self.state["backends"].append(backend)
            meta, config = self.bundle["meta"], self.recipe.validation
            self.validation = ArrayValidationScore(
                self.model,
                self.bundle["validation_source"],
                make_detokenizer(self.recipe.tokenizer, self.bundle["tokenizer_files"]),
                config["max_length"],
                sources=meta.get("validation_sources"),
                references=meta["validation_references"],
                metric=config["metric"],
                language=self.recipe.target_language,
                split=self.recipe.data["validation_split"],
                tokenized_references=meta["validation_tokenized_references"],
                batch_size=config["batch_size"],
                log_name=validation_log_name(config["metric"]),
            )

        def _build_models(self, tokenizers):
            from keras_s2s.losses import SparseCrossentropy
            from keras_s2s.models import Seq2SeqBackbone
            from keras_s2s.models import Seq2SeqLM

            recipe = self.recipe
            meta = self.bundle["meta"]
            backbone = Seq2SeqBackbone(
                encoder_vocabulary_size=meta["encoder_vocabulary_size"],
                decoder_vocabulary_size=meta["decoder_vocabulary_size"],
                **recipe.model,
            )
            lm = Seq2SeqLM(backbone, preprocessor=None)
            optimizer = keras.optimizers.get(json.loads(json.dumps(recipe.optimizer)))
            loss = SparseCrossentropy(
                label_smoothing=recipe.training["label_smoothing"], from_logits=True
            )
            if recipe.scheduled_sampling is not None:
                raise SystemExit("train: scheduled sampling recipes are not supported.")
            lm.compile(optimizer=optimizer, loss=loss, sampler=recipe.validation["search"],
                       label_smoothing=recipe.training["label_smoothing"])
            lm.optimizer.build(lm.trainable_variables)
            # keras-hub's `fit()` would wrap the batches in a tf.data / grain
            # pipeline for preprocessing; there is none, so use Keras's own.
            lm.fit = types.MethodType(keras.Model.fit, lm)
            return lm, lm

        def _epoch_batches(self, epoch):
            training = self.recipe.training
            sources = self.bundle["train_source"]
            targets = self.bundle["train_target"]
            length = self.recipe.preprocessor["encoder_sequence_length"]
            boundaries = list(training["bucket_boundaries"] or []) + [length + 1]
            batch_size = training["batch_size"]
            order = np.random.default_rng(self.recipe.seed + epoch - 1).permutation(
                len(sources)
            )
            # The longer side's token count (as `make_dataset` buckets).
            longest = np.array([max(len(sources[i]), len(targets[i])) for i in order])
            bucket_of = np.searchsorted(np.asarray(boundaries[:-1]), longest, side="right")
            pending = {b: [] for b in range(len(boundaries))}
            batches = []
            for index, bucket in zip(order, bucket_of):
                pending[bucket].append(index)
                if len(pending[bucket]) == batch_size:
                    chosen, pending[bucket] = pending[bucket], []
                    width = min(boundaries[bucket], length)
                    encoder = _pack([sources[i] for i in chosen], width, start=False)
                    decoder = _pack([targets[i] for i in chosen], width + 1, start=True)
                    x = {
                        "encoder_token_ids": encoder,
                        "encoder_padding_mask": encoder != SPECIAL["pad"],
                        "decoder_token_ids": decoder[:, :-1],
                        "decoder_padding_mask": decoder[:, :-1] != SPECIAL["pad"],
                    }
                    weight = (decoder[:, 1:] != SPECIAL["pad"]).astype("float32")
                    batches.append((x, decoder[:, 1:], weight))
            # Partial batches are dropped: every batch has one of
            # `len(boundaries)` shapes, so each is compiled once.
            return batches

        def _count_batches(self):
            return len(self._epoch_batches(1))

        def _epoch_dataset(self, epoch, num_batches):
            if self.deadline is not None and self.state["history"]:
                last = self.state["history"][-1]
                needed = last["seconds"] + last["validation_seconds"]
                if time.time() + 1.2 * needed > self.deadline:
                    # Stops after this epoch: the time budget is spent.
                    self.max_epochs = epoch
            return ArrayBatches(self._epoch_batches(epoch))

    return ArrayTrainer


def _describe_accelerator():
    import keras

    description = {"backend": keras.backend.backend()}
    try:
        import jax

        description["devices"] = [str(d.device_kind) for d in jax.devices()]
    except Exception:  # noqa: BLE001 - the description is informative only
        pass
    try:
        import torch

        if torch.cuda.is_available():
            description["devices"] = [torch.cuda.get_device_name(0)]
    except Exception:  # noqa: BLE001
        pass
    return description


def train(args):
    import keras

    from keras_s2s.training.model_card import describe_hardware

    bundle = load_bundle(args.bundle)
    ArrayTrainer = make_array_trainer_class()
    trainer = ArrayTrainer(
        bundle,
        recipe=args.recipe,
        time_budget=args.time_budget,
        checkpoint_dir=args.checkpoint_dir,
        max_epochs=args.max_epochs,
        verbose=args.verbose,
    )
    start = time.time()
    trainer._setup()
    trainer._train()
    selection = trainer._select()
    os.makedirs(args.output, exist_ok=True)
    values = [np.asarray(keras.ops.convert_to_numpy(v)) for v in trainer.model.variables]
    limit = args.part_megabytes * 2**20
    parts, current, size = [], {}, 0
    for index, value in enumerate(values):
        if current and size + value.nbytes > limit:
            parts.append(current)
            current, size = {}, 0
        current[f"{index:05d}"] = value
        size += value.nbytes
    parts.append(current)
    for number, part in enumerate(parts):
        np.savez(os.path.join(args.output, f"weights-part{number}.npz"), **part)
    hardware = describe_hardware()
    accelerator = _describe_accelerator()
    if accelerator.get("devices"):
        # The model card names the devices the epochs ran on.
        hardware["devices"] = accelerator["devices"]
    hardware["accelerator"] = accelerator
    record = {
        "state": trainer.state,
        "selection": selection,
        "hardware": hardware,
        "variables": len(values),
        "parts": len(parts),
        "wall_seconds": round(time.time() - start, 1),
        "recipe": trainer.recipe.get_config(),
        "command": " ".join(shlex.quote(a) for a in sys.argv),
    }
    with open(os.path.join(args.output, "selected.json"), "w", encoding="utf-8") as file:
        json.dump(record, file, indent=2)
    print(json.dumps({"selection": selection, "epochs": trainer.state["epoch"],
                      "wall_seconds": record["wall_seconds"]}))


# ---------------------------------------------------------------- finish


def finish(args):
    from keras_s2s.training import Trainer
    from keras_s2s.training.preset_writer import check_preset_dir_free
    from keras_s2s.training.trainer import _assign

    bundle = load_bundle(args.bundle)
    with open(os.path.join(args.selected, "selected.json"), encoding="utf-8") as file:
        record = json.load(file)
    values = {}
    for number in range(record["parts"]):
        with np.load(os.path.join(args.selected, f"weights-part{number}.npz"),
                     allow_pickle=False) as part:
            values.update({k: part[k] for k in part.files})
    ordered = [values[f"{i:05d}"] for i in range(record["variables"])]
    command = args.command or (
        f"{record['command']}  # then: "
        + " ".join(shlex.quote(a) for a in sys.argv)
    )
    trainer = Trainer(
        record.get("recipe", bundle["meta"]["recipe"]),
        output_dir=args.output_dir,
        checkpoint_dir=args.checkpoint_dir,
        overwrite=args.overwrite,
        verbose=2,
        command=command,
        data_dir=args.data_dir,
    )
    check_preset_dir_free(trainer.output_dir, args.overwrite)
    os.makedirs(os.path.join(trainer.checkpoint_dir, "tokenizer"), exist_ok=True)
    for name, content in bundle["tokenizer_files"].items():
        path = os.path.join(trainer.checkpoint_dir, "tokenizer", name)
        if not os.path.exists(path):
            with open(path, "wb") as file:
                file.write(content)
        else:
            with open(path, "rb") as file:
                if file.read() != content:
                    raise SystemExit(
                        f"finish: '{path}' differs from the tokenizer the bundle was "
                        "trained with; pass an empty --checkpoint-dir."
                    )
    start = time.perf_counter()
    trainer._setup()
    _assign(trainer.model.variables, ordered, "model")
    trainer.state = record["state"]
    trainer.hardware = record["hardware"]
    report = trainer._finish(record["selection"], start)
    print(json.dumps(report["scores"], indent=1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="step", required=True)
    p = commands.add_parser("prepare", help="tokenize a recipe's data into a bundle")
    p.add_argument("recipe")
    p.add_argument("--bundle", required=True)
    p.add_argument("--checkpoint-dir", default=None)
    p.add_argument("--data-dir", default=None)
    p = commands.add_parser("train", help="train from a bundle and select")
    p.add_argument("bundle")
    p.add_argument("--recipe", default=None,
                   help="train this recipe (same data, tokenizer and preprocessor "
                   "sections) instead of the bundle's")
    p.add_argument("--checkpoint-dir", required=True)
    p.add_argument("--output", required=True, help="folder for the selected weights")
    p.add_argument("--max-epochs", type=int, default=None)
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds; no epoch starts that would end after it")
    p.add_argument("--part-megabytes", type=int, default=12)
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    p = commands.add_parser("finish", help="evaluate the selected weights, write the preset")
    p.add_argument("bundle")
    p.add_argument("--selected", required=True)
    p.add_argument("--output-dir", required=True)
    p.add_argument("--checkpoint-dir", default=None,
                   help="local run folder (default: ~/.cache/keras-s2s/runs/<name>-arrays)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--command", default=None, help="the reproduce command for the card")
    p.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    if args.step != "train" and getattr(args, "checkpoint_dir", None) is None:
        name = json.loads(json.dumps(args.recipe)) if args.step == "prepare" else None
        from keras_s2s.training import Recipe

        recipe = (
            Recipe.from_file(args.recipe) if args.step == "prepare"
            else Recipe.from_dict(load_bundle(args.bundle)["meta"]["recipe"])
        )
        del name
        args.checkpoint_dir = os.path.join(
            "~", ".cache", "keras-s2s", "runs", f"{recipe.name}-arrays"
        )
    {"prepare": prepare, "train": train, "finish": finish}[args.step](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
