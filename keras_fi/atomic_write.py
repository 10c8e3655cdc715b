"""Outputs that appear whole or not at all: written to a temporary beside the target, then renamed.

Every output of the package (checkpoints, presets, SavedModels, videos and frame folders,
evaluation reports) goes through `atomic_write`: the caller writes to a hidden temporary path in
the target's folder, and only a block that ends without an exception renames it onto the target.
An exception, Ctrl-C or SIGTERM (when the program turns it into an exception) removes the
temporary and leaves the target as it was.

Temporary names: ``.NAME.keras-fi-PID-XXXXXXXX.tmp`` beside ``NAME`` (with ``suffix``,
``.STEM.keras-fi-PID-XXXXXXXX.tmp.SUFFIX``, for writers that choose the format from the ending),
and ``.NAME.keras-fi-PID-XXXXXXXX.old`` for a folder being replaced. PID is the writing process.

Stale temporaries: a process killed outright (SIGKILL, power loss) cannot clean up. The next write
to the same target removes the temporaries of that target whose process is no longer running on
this machine (`remove_stale_temporaries`); those of a live process, this one included, are kept, so
two writers at once never delete each other's work. A writer on another machine sharing the folder
is not seen: do not write one target from two machines at once. A folder set aside by a killed
writer (``.old``) is put back when the target is missing, and removed otherwise.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

_TAG = "keras-fi"
# Temporaries being written by this process, for `remove_active_temporaries`.
_ACTIVE: set[Path] = set()


class TargetExistsError(FileExistsError):
    """The target appeared while it was being written, and ``overwrite`` was off."""


@contextlib.contextmanager
def atomic_write(
    target: str | os.PathLike,
    *,
    overwrite: bool = True,
    directory: bool = False,
    suffix: str = "",
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` when the block succeeds.

    The block writes a file, or a folder, at the yielded path. On success it is flushed to disk
    (``fsync``, every file of a folder too), renamed onto ``target`` and the folder holding it is
    synced. On any exception (``KeyboardInterrupt`` included) the temporary is removed and
    ``target`` is left untouched. A folder replaces an existing ``target`` in three steps: the old
    one is renamed aside, the new one in, then the old one deleted.

    Args:
        target: the file or folder to write. Its folder must exist.
        overwrite: replace an existing ``target``. False never replaces one, not even one that
            appeared while the block ran (files are published with a hard link, which fails when
            the name is taken; for a folder the check and the rename are two steps); that
            raises `TargetExistsError` and removes the temporary.
        directory: create the temporary as an empty folder before the block.
        suffix: an ending of ``target``'s name the temporary keeps (``".mp4"``,
            ``".weights.h5"``), for writers that pick the format from it.

    Example:
    >>> import tempfile
    >>> preset = Path(tempfile.mkdtemp()) / "preset"
    >>> with atomic_write(preset, directory=True) as temporary:
    ...     _ = (temporary / "config.json").write_text("{}")
    ...     preset.exists()
    False
    >>> [p.name for p in preset.iterdir()], [p.name for p in preset.parent.iterdir()]
    (['config.json'], ['preset'])
    """
    target = Path(target)
    if suffix and (not suffix.startswith(".") or not target.name.endswith(suffix)):
        raise ValueError(f"suffix {suffix!r} is not an ending of {target.name!r}; pass one that is")
    if target.name in ("", suffix):
        raise ValueError(f"{target} names no file or folder; give a path with a name")
    remove_stale_temporaries(target, suffix=suffix)
    temporary = _sibling(target, suffix, "tmp" + suffix)
    _ACTIVE.add(temporary)
    if directory:
        temporary.mkdir()
    try:
        yield temporary
        _publish(temporary, target, overwrite=overwrite, suffix=suffix)
    finally:
        _remove(temporary)
        _ACTIVE.discard(temporary)


def remove_active_temporaries() -> None:
    """Removes the temporaries this process is writing now: for a process that must exit at
    once (a signal that the main thread cannot handle in time), so it leaves nothing behind."""
    for temporary in list(_ACTIVE):
        _remove(temporary)


def _sibling(target: Path, suffix: str, ending: str) -> Path:
    stem = target.name[: len(target.name) - len(suffix)]
    return target.with_name(f".{stem}.{_TAG}-{os.getpid()}-{uuid.uuid4().hex[:8]}.{ending}")


def _publish(temporary: Path, target: Path, *, overwrite: bool, suffix: str) -> None:
    """Sync ``temporary`` and give it the name ``target`` (see `atomic_write`)."""
    if not os.path.lexists(temporary):
        raise FileNotFoundError(f"nothing was written to {temporary} for {target}")
    _fsync_tree(temporary)
    if temporary.is_dir() and not temporary.is_symlink():
        _publish_folder(temporary, target, overwrite=overwrite, suffix=suffix)
    elif overwrite:
        os.replace(temporary, target)
    else:
        try:
            os.link(temporary, target)  # fails when the name is taken: nothing is replaced
        except FileExistsError:
            raise _taken(target) from None
        except OSError:  # no hard links on this file system: check, then rename
            if os.path.lexists(target):
                raise _taken(target) from None
            os.replace(temporary, target)
    _fsync_folder(target.parent)


def _publish_folder(temporary: Path, target: Path, *, overwrite: bool, suffix: str) -> None:
    if not os.path.lexists(target):
        os.rename(temporary, target)
        return
    if not overwrite:
        raise _taken(target)
    aside = _sibling(target, suffix, "old")
    os.replace(target, aside)
    try:
        os.replace(temporary, target)
    except BaseException:
        os.replace(aside, target)
        raise
    _remove(aside)


def _taken(target: Path) -> TargetExistsError:
    return TargetExistsError(
        f"{target} appeared while this run was writing it (another run?) and was left as it is; "
        "pass --overwrite (overwrite=True) to replace it"
    )


def _fsync_tree(path: Path) -> None:
    """Flush a file, or every file and folder below a folder, to disk."""
    if path.is_dir() and not path.is_symlink():
        for folder, _, files in os.walk(path):
            for name in files:
                _fsync_file(Path(folder, name))
            _fsync_folder(Path(folder))
    else:
        _fsync_file(path)


def _fsync_file(path: Path) -> None:
    if path.is_symlink():
        return
    try:  # writable where allowed: Windows syncs only files open for writing
        descriptor = os.open(path, os.O_RDWR)
    except PermissionError:  # a read-only file the caller wrote
        descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk, where the OS can open a folder."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else (or cannot be asked: assume it lives)
    return True


def remove_stale_temporaries(target: str | os.PathLike, *, suffix: str = "") -> list[Path]:
    """Delete the temporaries of ``target`` left by writers that were killed (see the module).

    Only names of `atomic_write`'s pattern for this ``target`` and ``suffix`` are touched, and
    only when the process id in the name is not running. A folder set aside while it was being
    replaced (``.old``) is renamed back to ``target`` when ``target`` is missing.

    Returns:
        The removed paths.
    """
    target = Path(target)
    stem = target.name[: len(target.name) - len(suffix)]
    pattern = re.compile(
        rf"^\.{re.escape(stem)}\.{_TAG}-(\d+)-[0-9a-f]{{8}}\.(tmp{re.escape(suffix)}|old)$"
    )
    parent = target.parent if str(target.parent) else Path(".")
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or int(match[1]) == os.getpid() or process_alive(int(match[1])):
            continue
        path = Path(entry.path)
        if match[2] == "old" and _put_back(path, target):
            continue
        _remove(path)
        if not os.path.lexists(path):
            removed.append(path)
    return removed


def _put_back(aside: Path, target: Path) -> bool:
    """Rename a folder set aside by a killed writer back to ``target`` if that is missing."""
    if os.path.lexists(target):
        return False
    try:
        os.rename(aside, target)
    except OSError:
        return False
    return True
