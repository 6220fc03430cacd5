"""The rules folder: the active ruleset, activation, and how each worker follows it.

Layout of `CLIENTSCORE_RULES_DIR` (default `rules/`, the shipped ruleset):

    ruleset.yaml, cases.yaml, tables/, calibration.json   the shipped ruleset
    versions/<rs-version>/...                             each activated ruleset, whole
    active.json                                           which one serves

Without `active.json` the shipped ruleset at the top serves. Activation checks the ruleset
(every example case run), writes its version folder via a dot folder and a rename, then
replaces `active.json` atomically, as the model registry moves a champion pointer. Each worker
polls the pointer and loads a new ruleset itself; one that fails to load leaves the one
before in service.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ConfigDict, Field

from app.errors import FieldError, ServiceError, Unavailable
from app.pointers import Pointer, PointerFile, Stamp
from app.rules.clv_grid import CALIBRATION_FILE
from app.rules.errors import RulesetRefused
from app.rules.ruleset import Cases, Ruleset

POINTER_FILE = "active.json"
VERSIONS_DIR = "versions"
# The only paths a ruleset upload may write: nothing can climb out of its folder.
FILE_PATH = re.compile(r"^(ruleset\.yaml|cases\.yaml|calibration\.json|tables/[a-z_]{1,64}\.json)$")
logger = logging.getLogger("clientscore.rules")


class RulesetPointer(Pointer):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=r"^rs-[0-9a-f]{12}$")
    activated_at: datetime
    activated_by: str | None = None
    history: list[str] = Field(default_factory=list, description="Earlier ones, newest first.")


def check_paths(files: Mapping[str, bytes]) -> None:
    """Refuse an upload naming a file that is not part of a ruleset."""
    bad = [path for path in files if not FILE_PATH.match(path)]
    if bad:
        problems = [
            FieldError(f"files.{p}", "unknown_file", "not a file of a ruleset", "body") for p in bad
        ]
        raise RulesetRefused("upload", problems)


def check_candidate(
    files: Mapping[str, bytes], *, source: str, cases: Cases = "enforce"
) -> Ruleset:
    """`files` as a ruleset that could be activated; `RulesetRefused` (422) listing every
    problem if it fails a check, its cases, or carries no book calibration.

    `cases="report"` explores a candidate: its failing example cases are findings, kept in
    `failing_cases`, not a refusal. Activation always enforces them."""
    check_paths(files)
    ruleset = Ruleset.from_files(files, source=source, cases=cases)
    if ruleset.calibration is None:
        detail = "the book calibration is missing: run `clientscore rules calibrate` first"
        problem = FieldError(CALIBRATION_FILE, "missing_file", detail, "ruleset")
        raise RulesetRefused(source, [problem])
    return ruleset


class RulesetStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pointer_file = PointerFile(
            root / POINTER_FILE, RulesetPointer, what="the active ruleset", invalid=ServiceError
        )

    def pointer(self) -> RulesetPointer | None:
        return self.pointer_file.read()

    def stamp(self) -> Stamp | None:
        return self.pointer_file.stamp()

    def folder(self, pointer: RulesetPointer | None) -> Path:
        return self.root if pointer is None else self.root / VERSIONS_DIR / pointer.version

    def load_active(self) -> Ruleset:
        folder = self.folder(self.pointer())
        return Ruleset.load(folder)

    def activate(self, files: Mapping[str, bytes], *, by: str | None, source: str) -> Ruleset:
        """Check `files` as a ruleset and make it the active one; `RulesetRefused` (422) and
        nothing changed if it fails a check, its cases, or carries no book calibration."""
        ruleset = check_candidate(files, source=source)
        with self.pointer_file.locked():
            self._write_version(ruleset.version, files)
        self.pointer_file.move(
            ruleset.version,
            lambda history: RulesetPointer(
                version=ruleset.version,
                activated_at=datetime.now(UTC),
                activated_by=by,
                history=history,
            ),
        )
        return ruleset

    def _write_version(self, version: str, files: Mapping[str, bytes]) -> None:
        target = self.root / VERSIONS_DIR / version
        if target.is_dir():  # same content hash: the very same files are there already
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=target.parent))
        for path, content in files.items():
            (temp / path).parent.mkdir(parents=True, exist_ok=True)
            (temp / path).write_bytes(content)
        temp.chmod(0o755)
        temp.rename(target)


@dataclass(frozen=True, slots=True)
class _Serving:
    """What this worker serves, its last look at the pointer, and why it refused the ruleset
    the pointer names, if it did."""

    ruleset: Ruleset | None
    stamp: Stamp | None
    error: str | None


class ActiveRuleset:
    """The ruleset one worker classifies with; replaced whole when the pointer moves."""

    def __init__(self, store: RulesetStore) -> None:
        self.store = store
        self._loaded = _Serving(None, None, "not loaded yet")
        self._refreshing = asyncio.Lock()

    @property
    def error(self) -> str | None:
        return self._loaded.error

    def current(self) -> Ruleset:
        """The ruleset to classify with; callers keep it for the whole request."""
        ruleset = self._loaded.ruleset
        if ruleset is None:
            raise Unavailable(f"no ruleset is loaded: {self._loaded.error}")
        return ruleset

    async def refresh(self, *, force: bool = False) -> None:
        async with self._refreshing:
            self._loaded = await asyncio.to_thread(self._follow, self._loaded, force)

    async def activate(self, files: Mapping[str, bytes], *, by: str | None) -> Ruleset:
        """Activate `files` (see `RulesetStore.activate`) and serve it in this worker at once;
        the other workers follow the pointer within their poll interval."""
        ruleset = await asyncio.to_thread(self.store.activate, files, by=by, source="upload")
        await self.refresh(force=True)
        return ruleset

    def _follow(self, loaded: _Serving, force: bool) -> _Serving:
        stamp = self.store.stamp()
        if not force and loaded.ruleset is not None and stamp == loaded.stamp:
            return loaded
        try:
            ruleset = self.store.load_active()
        except ServiceError as exc:
            served = loaded.ruleset.version if loaded.ruleset else "nothing"
            logger.error("ruleset refused; still serving %s: %s", served, exc.detail)
            return _Serving(loaded.ruleset, stamp, exc.detail)
        if loaded.ruleset is None or ruleset.version != loaded.ruleset.version:
            logger.info("ruleset %s now active", ruleset.version)
        return _Serving(ruleset, stamp, None)
