"""Pointer files that many processes read and a few replace: the model champions and the
active ruleset. Readers never lock and always see a whole file, the old or the new one.

A pointer names the version that serves and keeps the versions that served before it,
newest first. Moving it (promote, activate) and moving it back (rollback) are
read-modify-write steps under an exclusive lock beside the file, so two writers cannot lose
each other's change; the replace itself is an atomic rename.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from app.errors import Conflict, ServiceError, Unavailable

# (inode, mtime_ns, size): changes whenever the file is replaced, cheap to look at.
Stamp = tuple[int, int, int]
HISTORY_LIMIT = 50


class Pointer(BaseModel):
    """What every pointer file holds; each kind adds when and by whom it moved."""

    version: str
    history: list[str]


P = TypeVar("P", bound=Pointer)


class PointerFile(Generic[P]):
    """One pointer file: read, fingerprint, move forward, move back.

    `invalid` makes the error raised when the file is there but does not parse; `what` names
    the pointer in the messages ("the champion of 'lapse'", "the active ruleset").
    """

    def __init__(
        self,
        path: Path,
        model: type[P],
        *,
        what: str,
        invalid: Callable[[str], ServiceError],
    ) -> None:
        self.path = path
        self.model = model
        self.what = what
        self.invalid = invalid
        self.lock_path = path.with_name(f".{path.stem}.lock")

    def read(self) -> P | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return self.model.model_validate_json(raw)
        except ValidationError as exc:
            summary = validation_summary(exc)
            raise self.invalid(f"{self.path.name} is not valid: {summary}") from None

    def stamp(self) -> Stamp | None:
        return stamp(self.path)

    def move(self, version: str, make: Callable[[list[str]], P]) -> P:
        """Point at `version`; `make(history)` builds the new pointer. The old version goes on
        top of the history, unless it is `version` itself (a repeated move rewrites the file,
        which readers then load again, without adding to the history). A broken pointer is
        what a move repairs."""
        with self.locked():
            try:
                current = self.read()
            except ServiceError:
                current = None
            if current is None:
                history: list[str] = []
            elif current.version == version:
                history = current.history
            else:
                history = [current.version, *current.history]
            pointer = make(history[:HISTORY_LIMIT])
            self._write(pointer)
        return pointer

    def back(self, seen: P, make: Callable[[str, list[str]], P]) -> P:
        """Point at the newest earlier version of `seen` (the pointer the caller checked);
        Conflict if the file moved since. `make(version, history)` builds the new pointer."""
        if not seen.history:
            raise Conflict(f"{self.what} has no earlier version to roll back to")
        with self.locked():
            if self.read() != seen:
                raise Conflict(f"{self.what} changed meanwhile; look and try again")
            pointer = make(seen.history[0], seen.history[1:])
            self._write(pointer)
        return pointer

    @contextmanager
    def locked(self) -> Iterator[None]:
        try:
            with exclusive_lock(self.lock_path):
                yield
        except OSError as exc:
            raise Unavailable(f"cannot change {self.what}: {exc}") from None

    def _write(self, pointer: P) -> None:
        replace_atomically(self.path, pointer.model_dump_json(indent=2).encode() + b"\n")


def validation_summary(exc: ValidationError) -> str:
    """The first problem of a document in words: 'history.0: String should match ...'."""
    first = exc.errors(include_url=False)[0]
    place = ".".join(str(p) for p in first["loc"]) or "document"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{place}: {first['msg']}{more}"


def stamp(path: Path) -> Stamp | None:
    """A fingerprint of the file, to skip re-reading it when unchanged; None if it is absent."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def replace_atomically(path: Path, content: bytes) -> None:
    """Write `content` to a temporary file beside `path`, then rename it over `path`."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes 0600; the service may run as another user than the operator.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    # Make the rename itself durable, so a crash cannot bring the old file back.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if absent); OSError if it cannot be had."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
