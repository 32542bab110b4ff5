"""`keras-s2s distill`: train a student preset on a teacher's translations."""

import os
import sys

from keras_s2s.cli import cli_utils
from keras_s2s.cli import train_command
from keras_s2s.cli import translate_command
from keras_s2s.cli.cli_error import CLIError

DESCRIPTION = """\
Sequence-level knowledge distillation (Kim & Rush, 2016): translate the
recipe's training sources with a teacher, then train the recipe's model on
those translations instead of the references.

The teacher is one preset or, with several --teacher options, their ensemble
(every search step uses the mean of their log-probabilities). Its search
defaults to the first teacher's recorded search (beam search for the shipped
presets); the search options override it. The translations are kept in the
checkpoint directory (default: ~/.cache/keras-s2s/runs/<recipe name>_distilled),
so an interrupted run resumes without translating again. Everything else is
'keras-s2s train': epochs are selected on the validation references, the
student is scored on the test references and written to --output-dir with a
model card that records the teacher."""

EXAMPLES = """\
examples:
  keras-s2s distill zoo/multi30k_en_de_gru_bahdanau.json \\
      --teacher ./en_de_seed1 --teacher ./en_de_seed2 --output-dir en_de_student
  keras-s2s distill my_student.json --teacher multi30k_en_de_gru_bahdanau \\
      --num-beams 5 --length-penalty 0.6 --output-dir student
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "distill",
        parents=parents,
        help="train a student preset on a teacher's (ensemble's) translations",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    train_command.add_arguments(parser)
    parser.add_argument(
        "--teacher",
        action="append",
        required=True,
        metavar="NAME_OR_DIR",
        help="a teacher preset (name or directory); repeat it for an ensemble",
    )
    cli_utils.add_search_arguments(parser, n_best=False, batch_size=64)
    parser.set_defaults(run=run, program="keras-s2s distill")
    return parser


def run(args):
    """Translates, trains and writes the student; returns the exit status."""
    for name in ("max_epochs", "max_train_examples"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CLIError(f"--{name.replace('_', '-')} must be >= 1, got {value}.",
                           exit_code=2)
    recipe = train_command.resolve_recipe(args.recipe)
    names, paths, info = translate_command.open_presets(args.teacher)
    sampler, _ = cli_utils.build_sampler(args, info.get("evaluation_search"))
    import keras

    if keras.backend.backend() == "torch" and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    teacher = translate_command.load_presets(paths)
    from keras_s2s.training import SequenceDistillationTrainer

    argv = getattr(args, "argv", None) or [args.recipe, "--output-dir", args.output_dir]
    trainer = None
    try:
        trainer = SequenceDistillationTrainer(
            recipe,
            teacher,
            teacher_name=" + ".join(names),
            sampler=sampler,
            translation_batch_size=args.batch_size,
            translation_max_length=args.max_length,
            output_dir=args.output_dir,
            checkpoint_dir=args.checkpoint_dir,
            max_epochs=args.max_epochs,
            max_train_examples=args.max_train_examples,
            overwrite=args.overwrite,
            verbose=args.verbose,
            command=train_command.reproduce_command(argv, args.program),
            data_dir=args.data_dir,
            dtype=args.dtype,
            distribution=args.distribution,
        )
        report = trainer.run()
    except (FileExistsError, FileNotFoundError, FloatingPointError, RuntimeError) as error:
        raise CLIError(str(error))
    except KeyboardInterrupt:
        where = f" in '{trainer.checkpoint_dir}'" if trainer else ""
        print(
            f"\nInterrupted. The teacher's translations and the last finished "
            f"epoch are kept{where}; run the same command to resume.",
            file=sys.stderr,
        )
        return 130
    headline = report["headline_score"]
    if headline:
        print(
            f"{os.path.basename(os.path.normpath(args.output_dir))}: "
            f"{headline['value']:.2f} {headline['metric']} on {headline['split']} "
            f"(teacher: {' + '.join(names)})"
        )
    return 0
