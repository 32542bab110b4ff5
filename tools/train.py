"""Trains a preset from a zoo recipe and writes the preset directory.

    KERAS_BACKEND=jax python tools/train.py zoo/multi30k_en_de_gru_bahdanau.json \
        --output-dir keras_s2s/presets/multi30k_en_de_gru_bahdanau

Checkpoints go to `~/.cache/keras-s2s/runs/<recipe name>` (`--checkpoint-dir`)
after every epoch; run the same command again to resume an interrupted run.
The preset directory must not exist (`--overwrite` replaces it). For a smoke
test: `--max-train-examples 500 --max-epochs 1 --checkpoint-dir /tmp/smoke`.
"""

import argparse
import os
import shlex
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train a keras-s2s preset from a recipe.",
        epilog="Run the same command again to resume from the last checkpoint.",
    )
    parser.add_argument("recipe", help="recipe file (zoo/<name>.json or .yaml)")
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
    return parser.parse_args(argv)


def reproduce_command(argv):
    """The command line for the model card, with the backend made explicit."""
    import keras

    return (
        f"KERAS_BACKEND={keras.backend.backend()} python "
        + shlex.join(["tools/train.py", *argv])
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    import keras

    if keras.backend.backend() == "torch" and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    from keras_s2s.training import Trainer

    trainer = None
    try:
        trainer = Trainer(
            args.recipe,
            output_dir=args.output_dir,
            checkpoint_dir=args.checkpoint_dir,
            max_epochs=args.max_epochs,
            max_train_examples=args.max_train_examples,
            overwrite=args.overwrite,
            verbose=args.verbose,
            command=reproduce_command(argv),
            data_dir=args.data_dir,
        )
        report = trainer.run()
    except (FileExistsError, FileNotFoundError, FloatingPointError, ValueError,
            RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        where = f" in '{trainer.checkpoint_dir}'" if trainer else ""
        print(
            f"\nInterrupted. The last finished epoch is checkpointed{where}; "
            "run the same command to resume.",
            file=sys.stderr,
        )
        return 130
    headline = report["headline_score"]
    if headline:
        print(
            f"{os.path.basename(args.output_dir)}: {headline['value']:.2f} "
            f"{headline['metric']} on {headline['split']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
