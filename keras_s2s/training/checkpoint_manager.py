"""Per-epoch training checkpoints, written atomically."""

import glob
import json
import os
import re

import numpy as np

CHECKPOINT_PATTERN = re.compile(r"^epoch-(\d{4,})\.ckpt\.npz$")
WEIGHTS_PATTERN = re.compile(r"^weights-epoch-(\d{4,})\.npz$")
BEST_PATTERN = re.compile(r"^best-epoch-(\d{4,})\.npz$")


def save_arrays(path, arrays, state=None):
    """Writes NumPy arrays (and a JSON state) to `path`, atomically.

    The `.npz` is written to a temporary file in the same directory, flushed
    to disk, then moved over `path` with `os.replace`, so `path` is always
    either the previous complete file or the new complete file, never a
    partial one (even if the process is killed).

    Args:
        path: destination, ending in `.npz`.
        arrays: dict of name -> array.
        state: a JSON-serializable dict stored next to the arrays.
    """
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(
        directory, f".tmp-{os.getpid()}-{os.path.basename(path)}"
    )
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    if state is not None:
        payload["__state__"] = np.frombuffer(
            json.dumps(state).encode("utf-8"), dtype=np.uint8
        )
    try:
        with open(temporary, "wb") as file:
            np.savez(file, **payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    # Make the rename itself durable.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def load_arrays(path):
    """Reads a file written by `save_arrays`: `(arrays, state)`.

    Nothing is unpickled (`allow_pickle=False`).
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name != "__state__"}
        state = None
        if "__state__" in data.files:
            state = json.loads(data["__state__"].tobytes().decode("utf-8"))
    return arrays, state


def _numbered(prefix, arrays):
    return {f"{prefix}/{index:05d}": value for index, value in enumerate(arrays)}


def _unnumbered(prefix, arrays):
    keys = sorted(k for k in arrays if k.startswith(prefix + "/"))
    return [arrays[k] for k in keys]


class CheckpointManager:
    """Writes and finds the per-epoch checkpoints of one training run.

    The directory holds, for a run:

    - `epoch-NNNN.ckpt.npz`: after epoch NNNN (1-based), the model
      variables (weights and random-seed states), any extra training-model
      variables, the optimizer variables (step count, learning rate,
      moments) and a JSON state (epoch, best score, early-stopping
      counters, history). Only the newest `keep_checkpoints` are kept.
    - `weights-epoch-NNNN.npz`: the model variables alone, for checkpoint
      averaging; the newest `keep_weights` are kept.
    - `best-epoch-NNNN.npz`: the model variables of the best epoch so far
      (the one the newest checkpoint's state names as `best_epoch`).

    Write order within an epoch: weights-only file, best file (if the epoch
    is the best), then the checkpoint, which commits the epoch. Every file is written with `save_arrays` (temporary file, then
    `os.replace`), so a run killed at any point leaves the previous
    checkpoint intact and `latest()` never sees a partial file.

    Args:
        directory: the run's checkpoint directory (created if missing).
        keep_checkpoints: int >= 1, full checkpoints to keep.
        keep_weights: int >= 0, weights-only files to keep.

    Example:
    >>> import tempfile
    >>> manager = CheckpointManager(tempfile.mkdtemp(), keep_weights=2)
    >>> for epoch in (1, 2, 3):
    ...     manager.save(epoch, [np.full(2, epoch, "float32")], [], [], {"epoch": epoch})
    >>> manager.latest_epoch(), manager.weights_epochs()
    (3, [2, 3])
    """

    def __init__(self, directory, keep_checkpoints=1, keep_weights=0):
        for name, value, low in (
            ("keep_checkpoints", keep_checkpoints, 1),
            ("keep_weights", keep_weights, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(
                    f"Expected {name} to be an integer >= {low}. "
                    f"Received: {name}={value!r}"
                )
        self.directory = os.path.abspath(os.path.expanduser(os.fspath(directory)))
        self.keep_checkpoints = keep_checkpoints
        self.keep_weights = keep_weights
        os.makedirs(self.directory, exist_ok=True)

    # ---------------------------------------------------------------- paths

    def checkpoint_path(self, epoch):
        return os.path.join(self.directory, f"epoch-{epoch:04d}.ckpt.npz")

    def weights_path(self, epoch):
        return os.path.join(self.directory, f"weights-epoch-{epoch:04d}.npz")

    def best_path(self, epoch):
        return os.path.join(self.directory, f"best-epoch-{epoch:04d}.npz")

    def _epochs(self, pattern):
        epochs = []
        for name in os.listdir(self.directory):
            match = pattern.match(name)
            if match:
                epochs.append(int(match.group(1)))
        return sorted(epochs)

    def checkpoint_epochs(self):
        """Epochs with a full checkpoint, ascending."""
        return self._epochs(CHECKPOINT_PATTERN)

    def weights_epochs(self):
        """Epochs with a weights-only file, ascending."""
        return self._epochs(WEIGHTS_PATTERN)

    def latest_epoch(self):
        """The newest checkpointed epoch, or None."""
        epochs = self.checkpoint_epochs()
        return epochs[-1] if epochs else None

    # ------------------------------------------------------------ save/load

    def save(self, epoch, model_values, extra_values, optimizer_values, state):
        """Writes the checkpoint of `epoch` (and its weights-only file).

        Files of older epochs are pruned, keeping the best-epoch file named
        by `state["best_epoch"]`.

        Args:
            epoch: int, the number of completed epochs.
            model_values: list of arrays, the model's variables in order.
            extra_values: list of arrays, other training-model variables.
            optimizer_values: list of arrays, `optimizer.variables` in order.
            state: JSON-serializable dict.
        """
        arrays = {
            **_numbered("model", model_values),
            **_numbered("extra", extra_values),
            **_numbered("optimizer", optimizer_values),
        }
        if self.keep_weights:
            save_arrays(self.weights_path(epoch), _numbered("model", model_values),
                        {"epoch": epoch})
        save_arrays(self.checkpoint_path(epoch), arrays, dict(state, epoch=epoch))
        self._prune(state.get("best_epoch"))

    def load(self, epoch=None):
        """Reads a checkpoint (default: the newest).

        Returns:
            A dict with `"model"`, `"extra"`, `"optimizer"` (lists of arrays)
            and `"state"`, or None if there is no checkpoint.
        """
        if epoch is None:
            epoch = self.latest_epoch()
            if epoch is None:
                return None
        arrays, state = load_arrays(self.checkpoint_path(epoch))
        return {
            "model": _unnumbered("model", arrays),
            "extra": _unnumbered("extra", arrays),
            "optimizer": _unnumbered("optimizer", arrays),
            "state": state,
        }

    def load_weights(self, epoch):
        """The model variables saved for averaging after `epoch`."""
        arrays, _ = load_arrays(self.weights_path(epoch))
        return _unnumbered("model", arrays)

    def save_best(self, epoch, model_values, state=None):
        """Writes the model variables of `epoch`, the best so far."""
        save_arrays(
            self.best_path(epoch), _numbered("model", model_values),
            dict(state or {}, epoch=epoch),
        )

    def load_best(self, epoch):
        """`(model_values, state)` saved by `save_best(epoch, ...)`."""
        path = self.best_path(epoch)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"The best-epoch weights '{path}' are missing from the checkpoint "
                "directory; it was altered by hand. Start a new run in an empty "
                "checkpoint directory."
            )
        arrays, state = load_arrays(path)
        return _unnumbered("model", arrays), state

    def _prune(self, best_epoch=None):
        for epoch in self._epochs(BEST_PATTERN):
            if best_epoch is not None and epoch != best_epoch:
                os.remove(self.best_path(epoch))
        for epoch in self.checkpoint_epochs()[: -self.keep_checkpoints]:
            os.remove(self.checkpoint_path(epoch))
        weights = self.weights_epochs()
        stale = weights[: -self.keep_weights] if self.keep_weights else weights
        for epoch in stale:
            os.remove(self.weights_path(epoch))

    def remove_temporary_files(self):
        """Deletes temporary files left by a run killed while writing.

        Call it only while no other process writes to this directory (the
        `Trainer` holds a lock on it).
        """
        for path in glob.glob(os.path.join(self.directory, ".tmp-*")):
            os.remove(path)
