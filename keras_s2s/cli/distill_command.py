"""`keras-s2s distill`: train a student preset on a teacher's translations."""

from keras_s2s.cli import cli_utils
from keras_s2s.cli import train_command
from keras_s2s.cli import translate_command

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
    train_command.prepare_training(args)
    recipe = train_command.resolve_recipe(args.recipe)
    names, paths, info = translate_command.open_presets(args.teacher)
    sampler, _ = cli_utils.build_sampler(args, info.get("evaluation_search"))
    if args.seed is not None:
        import keras

        keras.utils.set_random_seed(args.seed)
    teacher = translate_command.load_presets(paths)
    from keras_s2s.training import SequenceDistillationTrainer

    def build_trainer(command):
        return SequenceDistillationTrainer(
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
            command=command,
            data_dir=args.data_dir,
            dtype=args.dtype,
            distribution=args.distribution,
        )

    return train_command.run_training(
        args, build_trainer,
        "The teacher's translations and the last finished epoch are kept",
        about=f" (teacher: {' + '.join(names)})",
    )
