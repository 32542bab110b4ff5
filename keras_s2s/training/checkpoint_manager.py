"""Per-epoch training checkpoints, written atomically with a checksum."""

import glob
import hashlib
import json
import os
import re
import warnings
import zipfile

import numpy as np

from keras_s2s.utils.atomic_files import TEMPORARY_PREFIX
from keras_s2s.utils.atomic_files import atomic_write

CHECKPOINT_PATTERN = re.compile(r"^epoch-(\d{4,})\.ckpt\.npz$")
WEIGHTS_PATTERN = re.compile(r"^weights-epoch-(\d{4,})\.npz$")
BEST_PATTERN = re.compile(r"^best-epoch-(\d{4,})\.npz$")
STATE_KEY = "__state__"
CHECKSUM_KEY = "__sha256__"
# A checkpoint found damaged is renamed with this suffix (kept, never loaded).
CORRUPT_SUFFIX = ".corrupt"


class CorruptCheckpointError(ValueError):
    """A checkpoint file that cannot be read or fails its checksum.

    Attributes:
        path: the file.
    """

    def __init__(self, path, reason, message=None):
        self.path = path
        super().__init__(
            message
            or f"The checkpoint file '{path}' is damaged ({reason}); it cannot be "
            "loaded."
        )


def _arrays_sha256(payload):
    """The sha256 of named arrays: names, dtypes, shapes and bytes, in order."""
    digest = hashlib.sha256()
    for name in sorted(payload):
        value = np.ascontiguousarray(payload[name])
        digest.update(f"{name}\0{value.dtype.str}\0{value.shape}\0".encode("utf-8"))
        digest.update(value.tobytes())
    return digest.hexdigest()


def save_arrays(path, arrays, state=None):
    """Writes NumPy arrays (and a JSON state) to `path`, atomically.

    The `.npz` also holds the sha256 of its arrays and state, checked by
    `load_arrays`, so truncation and flipped bits are detected. It is
    written to a temporary file in the same directory, flushed to disk,
    then moved over `path` with `os.replace`, so `path` is always either the
    previous complete file or the new complete file, never a partial one
    (even if the process is killed).

    Args:
        path: destination, ending in `.npz`.
        arrays: dict of name -> array.
        state: a JSON-serializable dict stored next to the arrays.

    Raises:
        OSError: the disk is full or the directory is not writable; the
            message names `path`, and no temporary file is left.
    """
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    if state is not None:
        payload[STATE_KEY] = np.frombuffer(
            json.dumps(state).encode("utf-8"), dtype=np.uint8
        )
    payload[CHECKSUM_KEY] = np.frombuffer(
        _arrays_sha256(payload).encode("ascii"), dtype=np.uint8
    )
    with atomic_write(path, "wb", what="checkpoint") as file:
        np.savez(file, **payload)


def load_arrays(path):
    """Reads a file written by `save_arrays`: `(arrays, state)`.

    Nothing is unpickled (`allow_pickle=False`). The recorded sha256 is
    checked (files written before checksums were recorded have none).

    Raises:
        CorruptCheckpointError: (a `ValueError`) the file is truncated, not
            an `.npz`, or its content does not match its checksum; the
            message names the file.
        FileNotFoundError: `path` does not exist.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            payload = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise  # Object arrays: refused, not damaged.
        raise CorruptCheckpointError(path, f"{type(error).__name__}: {error}") from error
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as error:
        raise CorruptCheckpointError(path, f"{type(error).__name__}: {error}") from error
    recorded = payload.pop(CHECKSUM_KEY, None)
    if recorded is not None:
        actual = _arrays_sha256(payload)
        if recorded.tobytes().decode("ascii", "replace") != actual:
            raise CorruptCheckpointError(path, "its content does not match its sha256")
    state = None
    if STATE_KEY in payload:
        try:
            state = json.loads(payload.pop(STATE_KEY).tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CorruptCheckpointError(path, f"unreadable state: {error}") from error
    return payload, state


def _read_state(path):
    """The JSON state of a checkpoint without reading its arrays, or None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if STATE_KEY not in data.files:
                return None
            return json.loads(data[STATE_KEY].tobytes().decode("utf-8"))
    except Exception:
        return None


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
      counters, history). Only the newest `keep_checkpoints` (default 2)
      are kept, so a damaged newest one can be skipped on resume.
    - `weights-epoch-NNNN.npz`: the model variables alone, for checkpoint
      averaging; the newest `keep_weights` are kept.
    - `best-epoch-NNNN.npz`: the model variables of the best epoch so far
      (the one the newest checkpoint's state names as `best_epoch`).

    Write order within an epoch: weights-only file, best file (if the epoch
    is the best), then the checkpoint, which commits the epoch. Every file
    is written with `save_arrays` (temporary file, then `os.replace`, with
    a sha256 of the content inside), so a run killed at any point leaves
    the previous checkpoint intact and `latest_epoch()` never sees a partial
    file. If the newest checkpoint was damaged afterwards (a truncated copy,
    a flipped bit), `load()` warns naming it, renames it to
    `<name>.corrupt` and loads the one before.

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

    def __init__(self, directory, keep_checkpoints=2, keep_weights=0):
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

        Files of older epochs are pruned, keeping the best-epoch files named
        by the kept checkpoints' `state["best_epoch"]`.

        Args:
            epoch: int, the number of completed epochs.
            model_values: list of arrays, the model's variables in order.
            extra_values: list of arrays, other training-model variables.
            optimizer_values: list of arrays, `optimizer.variables` in order.
            state: JSON-serializable dict.

        Raises:
            OSError: the disk is full or the directory is not writable (the
                message names the file); the previous checkpoints are intact
                and this epoch's weights-only file is removed.
        """
        arrays = {
            **_numbered("model", model_values),
            **_numbered("extra", extra_values),
            **_numbered("optimizer", optimizer_values),
        }
        try:
            if self.keep_weights:
                save_arrays(self.weights_path(epoch), _numbered("model", model_values),
                            {"epoch": epoch})
            save_arrays(self.checkpoint_path(epoch), arrays, dict(state, epoch=epoch))
        except BaseException:
            if self.keep_weights and epoch not in self.checkpoint_epochs():
                _remove_if_present(self.weights_path(epoch))
            raise
        self._prune(state.get("best_epoch"))

    def load(self, epoch=None):
        """Reads a checkpoint (default: the newest one that is intact).

        Without `epoch`, checkpoints are tried newest first: a damaged one
        (truncated, not an `.npz`, content not matching its sha256) is
        reported with a `UserWarning` naming it, renamed to
        `<name>.corrupt` (kept for inspection, never loaded again) and the
        previous one is used.

        Returns:
            A dict with `"model"`, `"extra"`, `"optimizer"` (lists of arrays),
            `"state"`, `"path"` and `"skipped"` (the damaged files passed
            over, as `(path, reason)` pairs), or None if there is no
            checkpoint.

        Raises:
            CorruptCheckpointError: `epoch` was given and its file is
                damaged, or every checkpoint is damaged (all named).
        """
        if epoch is not None:
            return self._load_checkpoint(epoch, skipped=[])
        skipped = []
        for candidate in reversed(self.checkpoint_epochs()):
            try:
                return self._load_checkpoint(candidate, skipped)
            except CorruptCheckpointError as error:
                skipped.append((error.path, str(error)))
                self._set_aside(error.path, str(error))
        if skipped:
            paths = ", ".join(f"'{path}'" for path, _ in skipped)
            raise CorruptCheckpointError(
                self.directory,
                "all damaged",
                f"Every checkpoint in '{self.directory}' is damaged ({paths}, "
                f"now renamed with '{CORRUPT_SUFFIX}'), so training cannot "
                "resume. Start a new run in an empty checkpoint directory.",
            )
        return None

    def _load_checkpoint(self, epoch, skipped):
        path = self.checkpoint_path(epoch)
        arrays, state = load_arrays(path)
        return {
            "model": _unnumbered("model", arrays),
            "extra": _unnumbered("extra", arrays),
            "optimizer": _unnumbered("optimizer", arrays),
            "state": state,
            "path": path,
            "skipped": list(skipped),
        }

    def _set_aside(self, path, reason):
        aside = path + CORRUPT_SUFFIX
        try:
            os.replace(path, aside)
        except OSError:
            aside = path
        warnings.warn(
            f"{reason} Skipping it (kept as '{aside}') and resuming from the "
            "previous checkpoint.",
            UserWarning,
            stacklevel=3,
        )

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
        kept = self.checkpoint_epochs()[-self.keep_checkpoints:]
        for epoch in self.checkpoint_epochs()[: -self.keep_checkpoints]:
            _remove_if_present(self.checkpoint_path(epoch))
        # Keep the best-epoch file of every kept checkpoint, so resuming
        # from an older one still finds its best weights.
        referenced = {best_epoch}
        for epoch in kept:
            state = _read_state(self.checkpoint_path(epoch))
            if state is not None:
                referenced.add(state.get("best_epoch"))
        if best_epoch is not None:
            for epoch in self._epochs(BEST_PATTERN):
                if epoch not in referenced:
                    _remove_if_present(self.best_path(epoch))
        weights = self.weights_epochs()
        stale = weights[: -self.keep_weights] if self.keep_weights else weights
        for epoch in stale:
            _remove_if_present(self.weights_path(epoch))

    def remove_temporary_files(self):
        """Deletes temporary files left by a run killed while writing.

        Call it only while no other process writes to this directory (the
        `Trainer` holds a lock on it).
        """
        pattern = os.path.join(glob.escape(self.directory), TEMPORARY_PREFIX + "*")
        for path in glob.glob(pattern):
            _remove_if_present(path)


def _remove_if_present(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
