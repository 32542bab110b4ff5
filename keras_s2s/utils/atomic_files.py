"""Writing files and directories so that a crash never leaves half of one.

A file is written to a temporary name in its directory, flushed to disk and
renamed over the destination (`atomic_write`); a directory is built under a
temporary name next to its destination and swapped into place
(`replace_directory`). Either way a reader sees the previous complete version
or the new complete version, whenever the writing process dies. A disk that
is full, or a directory that is not writable, gives one `OSError` that names
the path and says what to do (`write_error`), and the temporary file is
removed.
"""

import contextlib
import ctypes
import errno
import glob
import os
import re
import secrets
import shutil
import signal
import tempfile
import threading

TEMPORARY_PREFIX = ".tmp-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def temporary_path(path):
    """A fresh hidden name in the directory of `path`: `.tmp-<pid>-<random>-<name>`.

    The process id lets a later run tell a crashed writer's leftover from
    a live writer's file (`is_stale`).
    """
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(
        directory, f"{TEMPORARY_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{name}"
    )


def temporary_directory_beside(target):
    """A new, empty directory next to `target` (readable by all, like a normal one).

    Something written there is moved onto `target` in one rename (same file
    system); its name marks it as ours and as stale once its process is gone
    (`is_stale`). The parent directory is created if needed.
    """
    parent, name = os.path.split(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    directory = tempfile.mkdtemp(
        prefix=f".{name}{TEMPORARY_PREFIX}{os.getpid()}-", dir=parent
    )
    os.chmod(directory, 0o755)
    return directory


def is_stale(path):
    """True if the process that made the temporary `path` no longer runs.

    Reads the process id from a name made by `temporary_path` (or a preset
    writer's `.<name>.tmp-<pid>-...`); a name without one counts as stale.
    """
    match = _STALE_NAME.search(os.path.basename(path))
    if match is None:
        return True
    pid = match.group(1)
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


_DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)
_STALE_NAME = re.compile(r"\.tmp-(\d+)-")


def is_disk_error(error):
    """True for a full disk or quota, or a directory that is not writable."""
    return isinstance(error, OSError) and getattr(error, "errno", None) in _DISK_ERRORS


def write_error(error, path, what="file"):
    """A clear `OSError` (same errno) for a failed write of `path`.

    Example:
    >>> import errno
    >>> str(write_error(OSError(errno.ENOSPC, "No space left on device"), "/d/x"))
    ... # doctest: +ELLIPSIS
    "[Errno 28] Could not write the file '/d/x': the disk is full ..."
    """
    if isinstance(error, OSError) and getattr(error, "_keras_s2s_described", False):
        return error
    code = getattr(error, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        reason = (
            "the disk is full (or the quota is used up). Free some space or "
            "write to another directory"
        )
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = (
            "the directory is not writable "
            f"({os.strerror(code)}). Choose a directory you can write to, or "
            "change its permissions"
        )
    else:
        reason = f"{error.strerror or error}" if isinstance(error, OSError) else str(error)
    message = (
        f"Could not write the {what} '{path}': {reason}. Nothing was left "
        f"half-written: any previous version of '{path}' is unchanged."
    )
    described = OSError(code, message) if code else OSError(message)
    described._keras_s2s_described = True
    return described


def fsync_directory(directory):
    """Makes renames inside `directory` durable (where the OS allows it)."""
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


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None, what="file"):
    """Opens a temporary file that replaces `path` when the block succeeds.

    The file is flushed and fsynced, renamed over `path` with `os.replace`
    and the directory fsynced. If the block raises (or the process is
    interrupted), the temporary file is removed and `path` is unchanged.

    Args:
        path: the destination.
        mode: `"wb"` or `"w"`.
        encoding: for text mode.
        what: the kind of file, for error messages (`"checkpoint"`).

    Raises:
        OSError: the write failed (disk full, directory not writable, ...),
            with a message naming `path` (see `write_error`).

    Example:
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> with atomic_write(path, "w", encoding="utf-8") as file:
    ...     _ = file.write("done")
    >>> open(path).read()
    'done'
    """
    temporary = temporary_path(path)
    exclusive = mode.replace("w", "x")
    try:
        try:
            file = open(temporary, exclusive, encoding=encoding)
        except OSError as error:
            raise write_error(error, path, what) from error
        with file:
            try:
                yield file
                file.flush()
                os.fsync(file.fileno())
            except OSError as error:
                raise write_error(error, path, what) from error
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise write_error(error, path, what) from error
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    fsync_directory(os.path.dirname(os.path.abspath(path)))


def _exchange(first, second):
    """Atomically swaps two paths (Linux `renameat2(RENAME_EXCHANGE)`).

    Returns:
        False where the system or file system does not support it.
    """
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                         ctypes.c_char_p, ctypes.c_uint]
    result = function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                      _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), second)


def _aside_pattern(target):
    parent, name = os.path.split(os.path.abspath(target))
    return parent, name, os.path.join(glob.escape(parent), f".{glob.escape(name)}.old-*")


def replace_directory(source, target):
    """Moves the complete directory `source` to `target`, replacing it.

    Where the OS can swap two directories atomically (Linux), there is no
    moment at which `target` is missing or incomplete: `target` and
    `source` are exchanged, then the old content (now at `source`) is
    deleted. Elsewhere the old `target` is first moved to
    `.<name>.old-*/<name>` next to it, then `source` renamed to `target`; a
    crash between the two leaves the old version complete there, for
    `restore_directory` to move back.

    Args:
        source: the new, complete directory (same file system as `target`).
        target: the destination; may be missing.
    """
    if not os.path.lexists(target):
        os.rename(source, target)
    elif _exchange(source, target):
        shutil.rmtree(source, ignore_errors=True)
    else:
        parent, name, _ = _aside_pattern(target)
        aside = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
        os.replace(target, os.path.join(aside, name))
        os.replace(source, target)
        shutil.rmtree(aside, ignore_errors=True)
    fsync_directory(os.path.dirname(os.path.abspath(target)))


def restore_directory(target):
    """Moves back a directory that an interrupted `replace_directory` set aside.

    If `target` is missing and `.<name>.old-*/<name>` exists next to it, the
    newest such copy is moved back and the emptied `.old-*` directories are
    removed.

    Returns:
        The path the directory was restored from, or None.
    """
    if os.path.lexists(target):
        return None
    _, name, pattern = _aside_pattern(target)
    candidates = [
        path for path in glob.glob(pattern) if os.path.isdir(os.path.join(path, name))
    ]
    if not candidates:
        return None
    newest = max(candidates, key=os.path.getmtime)
    os.replace(os.path.join(newest, name), target)
    for path in candidates:
        shutil.rmtree(path, ignore_errors=True)
    return newest


class _Terminated(BaseException):
    """Raised in place of SIGTERM's default action inside `terminate_after_cleanup`."""


@contextlib.contextmanager
def terminate_after_cleanup():
    """Lets the cleanup of a block run when the process gets SIGTERM.

    SIGTERM's default action ends the process at once, so a write in
    progress cannot remove its temporary files. Inside this block (in the
    main thread, and only while SIGTERM has its default action) SIGTERM
    raises an exception instead, so `except`/`finally` clauses run; then the
    process ends by SIGTERM as it would have. Elsewhere it does nothing.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "SIGTERM")
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def terminate(signum, frame):
        raise _Terminated()

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
