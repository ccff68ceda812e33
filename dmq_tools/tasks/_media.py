"""Files of the built-in tasks, confined to the media root (MEDIA_ROOT).

An enqueuer names files in a payload, so a payload must not make a worker read or write outside
the directory the operator configured. Paths are relative to the root, walked one component at
a time from a descriptor of the root with O_NOFOLLOW, so neither `..`, an absolute path nor a
symlink (planted before or during the task) leads outside it. Writes go to a fresh temporary
file that is renamed over the target: a symlink at the target is replaced, never followed.
Every refusal is a SkipRetry: the same payload can never succeed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import SkipRetry

__all__ = ["MediaRoot", "check_relative"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
#: Longest path a payload may name (characters).
MAX_PATH = 1024


def check_relative(value: object, field: str) -> tuple[str, ...]:
    """The components of a payload path, or SkipRetry saying what is wrong with it."""
    if not isinstance(value, str):
        raise SkipRetry(f"{field} must be a string path relative to MEDIA_ROOT, got {type(value).__name__}")
    if not value.strip():
        raise SkipRetry(f"{field} is empty")
    if len(value) > MAX_PATH:
        raise SkipRetry(f"{field} is longer than {MAX_PATH} characters")
    if "\x00" in value or "\\" in value:
        raise SkipRetry(f"{field} contains a NUL byte or a backslash: {value[:80]!r}")
    path = PurePosixPath(value)
    if path.is_absolute():
        raise SkipRetry(f"{field} must be relative to MEDIA_ROOT, got the absolute path {value[:80]!r}")
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if ".." in parts:
        raise SkipRetry(f"{field} must stay inside MEDIA_ROOT ('..' is refused): {value[:80]!r}")
    if not parts:
        raise SkipRetry(f"{field} names no file: {value[:80]!r}")
    return parts


class MediaRoot:
    """The directory the built-in tasks may read and write (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _open_dir(self, parts: tuple[str, ...], field: str, create: bool) -> int:
        """A descriptor of the directory holding the last component (symlinks refused)."""
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise SkipRetry(f"MEDIA_ROOT {self.root} does not exist") from None
        try:
            for name in parts[:-1]:
                if create:
                    try:
                        os.mkdir(name, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                    except OSError as exc:
                        raise SkipRetry(f"{field}: cannot create directory {name[:80]!r} ({exc.strerror})") from None
                try:
                    sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    raise SkipRetry(f"{field}: no such directory {name!r} under MEDIA_ROOT") from None
                except (NotADirectoryError, OSError) as exc:
                    raise SkipRetry(f"{field}: {name!r} is a symlink or not a directory ({exc.strerror})") from None
                os.close(fd)
                fd = sub
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextmanager
    def open_read(self, value: object, field: str) -> Iterator[IO[bytes]]:
        """A regular file under the root, opened for reading (symlinks and directories refused)."""
        parts = check_relative(value, field)
        dir_fd = self._open_dir(parts, field, create=False)
        try:
            try:
                fd = os.open(parts[-1], os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
            except FileNotFoundError:
                raise SkipRetry(f"{field}: no such file {value!r} under MEDIA_ROOT") from None
            except OSError as exc:   # ELOOP: a symlink
                raise SkipRetry(f"{field}: cannot open {value!r} ({exc.strerror}; symlinks are refused)") from None
        finally:
            os.close(dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise SkipRetry(f"{field}: {value!r} is not a regular file (a directory?)")
        with os.fdopen(fd, "rb") as fh:
            yield fh

    @contextmanager
    def open_write(self, value: object, field: str) -> Iterator[IO[bytes]]:
        """A new file under the root: written to a temporary name, renamed over the target when
        the block ends without error (a symlink at the target is replaced, not followed)."""
        parts = check_relative(value, field)
        dir_fd = self._open_dir(parts, field, create=True)
        name = parts[-1]
        tmp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            try:
                existing = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                existing = None
            except OSError as exc:   # a name too long, ...: the same payload fails the same way
                raise SkipRetry(f"{field}: cannot write {value!r} ({exc.strerror})") from None
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                raise SkipRetry(f"{field}: {value!r} is a directory")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dir_fd)
            except OSError as exc:
                raise SkipRetry(f"{field}: cannot create a file beside {value!r} ({exc.strerror})") from None
            try:
                with os.fdopen(fd, "wb") as fh:
                    yield fh
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                try:
                    os.unlink(tmp, dir_fd=dir_fd)
                except FileNotFoundError:
                    pass
                raise
        finally:
            os.close(dir_fd)

    def path_of(self, value: str) -> Path:
        """Where a checked relative path lives (for results and messages)."""
        return self.root.joinpath(*check_relative(value, "path"))
