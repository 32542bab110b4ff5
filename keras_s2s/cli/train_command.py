"""`keras-s2s train` (and `tools/train.py`): train a preset from a recipe."""

import os
import shlex
import sys

from keras_s2s.cli.cli_argument_parser import CLIArgumentParser
from keras_s2s.cli.cli_error import CLIError

DESCRIPTION = """\
Train a preset from a recipe and write the preset directory.

RECIPE is a recipe file (.json, or .yaml with PyYAML), the name of a recipe in
the source tree's zoo/ folder, or the name of a shipped preset (its recipe is
recorded in its metadata). Data are read from --data-dir (default:
$KERAS_S2S_DATA_DIR or ~/.cache/keras-s2s/datasets).

After every epoch a checkpoint is written atomically to --checkpoint-dir
(default: ~/.cache/keras-s2s/runs/<recipe name>). Run the same command again to
resume an interrupted run from its last finished epoch; the batches, dropout
masks and results are those of an uninterrupted run. The model is then
selected on the validation score (BLEU, WER, F1: the recipe's metric), scored on the test split and written to
--output-dir with a model card, which must not exist (unless --overwrite)."""

EXAMPLES = """\
examples:
  KERAS_BACKEND=jax {prog} zoo/multi30k_en_de_gru_bahdanau.json \\
      --output-dir presets/multi30k_en_de_gru_bahdanau
  {prog} multi30k_en_de_gru_bahdanau --output-dir my_en_de --data-dir ~/data
  {prog} my_recipe.json --output-dir /tmp/smoke --checkpoint-dir /tmp/smoke_run \\
      --max-train-examples 500 --max-epochs 1
"""


def add_arguments(parser):
    """The training options, shared by `keras-s2s train` and `tools/train.py`."""
    parser.add_argument(
        "recipe",
        help="a recipe file (zoo/<name>.json or .yaml), a zoo recipe name or a "
        "shipped preset name",
    )
    parser.add_argument(
        "--output-dir",
        required=True,
        help="preset directory to write (its name is the preset name); must "
        "not exist unless --overwrite",
    )
    parser.add_argument(
        "--checkpoint-dir",
        default=None,
        help="where per-epoch checkpoints live (default: "
        "~/.cache/keras-s2s/runs/<recipe name>)",
    )
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="override the recipe's training.epochs")
    parser.add_argument("--max-train-examples", type=int, default=None,
                        help="train on the first N training pairs only")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing preset directory")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0 silent, 1 progress bar (default), 2 one line per epoch")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch.set_num_threads value for the PyTorch backend "
                        "(0: PyTorch's default)")
    parser.add_argument("--data-dir", default=None,
                        help="data set root (default: $KERAS_S2S_DATA_DIR or "
                        "~/.cache/keras-s2s/datasets)")
    parser.add_argument("--dtype", default=None,
                        choices=("float32", "mixed_float16", "mixed_bfloat16"),
                        help="dtype policy of the model (default: the recipe's, "
                        "float32); mixed_* compute in half precision with "
                        "float32 variables, logits and loss")
    parser.add_argument("--distribution", default=None, choices=("data_parallel",),
                        help="data-parallel training over every GPU/TPU (else CPU "
                        "device): keras.distribution.DataParallel under JAX, "
                        "tf.distribute.MirroredStrategy under TensorFlow; the "
                        "recipe's batch size is the global batch")


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "train",
        parents=parents,
        help="train a preset from a recipe (checkpoints, resume)",
        description=DESCRIPTION,
        epilog=EXAMPLES.format(prog="keras-s2s train"),
    )
    add_arguments(parser)
    parser.set_defaults(run=run, program="keras-s2s train")
    return parser


def _quote_argument(argument, home):
    """`shlex.quote`, with a path under the home directory written `~/...`."""
    if home and argument.startswith(home + os.sep):
        return "~/" + shlex.quote(argument[len(home) + 1 :])
    return shlex.quote(argument)


def reproduce_command(argv, program="keras-s2s train"):
    """The command line for the model card, with the backend made explicit.

    Paths under the user's home directory are written `~/...`, so the card
    does not carry the trainer's home (`/home/alice/...`) into the preset.
    """
    import keras

    home = os.path.expanduser("~").rstrip(os.sep)
    words = shlex.split(program)
    prefix = "python " if words[0].endswith(".py") else ""
    return f"KERAS_BACKEND={keras.backend.backend()} {prefix}" + " ".join(
        _quote_argument(word, home) for word in [*words, *argv]
    )


def zoo_dirs():
    """Where recipe names are looked up: `./zoo` and the source tree's `zoo/`."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return list(dict.fromkeys([os.path.abspath("zoo"), os.path.join(package_root, "zoo")]))


def resolve_recipe(recipe):
    """A recipe file path, or a `Recipe` from a zoo name or a shipped preset."""
    from keras_s2s.presets import preset_names
    from keras_s2s.presets import read_metadata
    from keras_s2s.presets import resolve_preset
    from keras_s2s.training import Recipe

    if os.path.isfile(recipe):
        return recipe
    if recipe.endswith((".json", ".yaml", ".yml")) or os.sep in recipe:
        raise CLIError(f"recipe file '{recipe}' does not exist.")
    for directory in zoo_dirs():
        for extension in (".json", ".yaml", ".yml"):
            path = os.path.join(directory, recipe + extension)
            if os.path.isfile(path):
                return path
    if recipe in preset_names():
        config = read_metadata(resolve_preset(recipe)).get("keras_s2s", {}).get("recipe")
        if config:
            return Recipe.from_dict(config)
    raise CLIError(
        f"no recipe '{recipe}': not a file, not a recipe name in "
        f"{' or '.join(zoo_dirs())}, and not a shipped preset with a recorded recipe."
    )


def _positive(name, value):
    if value is not None and value < 1:
        raise CLIError(f"--{name} must be >= 1, got {value}.", exit_code=2)


def prepare_training(args):
    """Checks the epoch and example limits and sets PyTorch's threads."""
    for name in ("max_epochs", "max_train_examples"):
        _positive(name.replace("_", "-"), getattr(args, name))
    import keras

    if keras.backend.backend() == "torch" and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)


def run_training(args, build_trainer, kept, about=""):
    """Builds a trainer with `build_trainer(command)`, runs it, reports.

    Shared by `keras-s2s train` and `keras-s2s distill`. Errors of the run
    are one-line `CLIError`s; an interruption prints what is `kept` and how
    to resume. `about` follows the headline score (e.g. the teacher).

    Returns:
        The exit status (130 when interrupted).
    """
    argv = getattr(args, "argv", None) or [args.recipe, "--output-dir", args.output_dir]
    trainer = None
    try:
        trainer = build_trainer(reproduce_command(argv, args.program))
        report = trainer.run()
    except (FileExistsError, FileNotFoundError, FloatingPointError, RuntimeError) as error:
        raise CLIError(str(error))
    except KeyboardInterrupt:
        where = f" in '{trainer.checkpoint_dir}'" if trainer else ""
        print(f"\nInterrupted. {kept}{where}; run the same command to resume.",
              file=sys.stderr)
        return 130
    headline = report["headline_score"]
    if headline:
        print(
            f"{os.path.basename(os.path.normpath(args.output_dir))}: "
            f"{headline['value']:.2f} {headline['metric']} on {headline['split']}{about}"
        )
    return 0


def run(args):
    """Trains; returns the exit status (130 when interrupted)."""
    prepare_training(args)
    recipe = resolve_recipe(args.recipe)
    from keras_s2s.training import Trainer

    def build_trainer(command):
        return Trainer(
            recipe,
            output_dir=args.output_dir,
            checkpoint_dir=args.checkpoint_dir,
            max_epochs=args.max_epochs,
            max_train_examples=args.max_train_examples,
            overwrite=args.overwrite,
            verbose=args.verbose,
            command=command,
            data_dir=args.data_dir,
            dtype=args.dtype,
            distribution=args.distribution,
        )

    return run_training(args, build_trainer, "The last finished epoch is checkpointed")


def main(argv=None, prog="tools/train.py"):
    """`tools/train.py`: the same options as `keras-s2s train`.

    Returns:
        The exit status.
    """
    from keras_s2s.cli.main import run_command

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = CLIArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EXAMPLES.format(prog=f"python {prog}"),
    )
    add_arguments(parser)
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks of errors")
    parser.set_defaults(run=run, program=prog)
    return run_command(parser, argv)
