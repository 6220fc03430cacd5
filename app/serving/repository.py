"""The model registry folder on disk: its versions, the checks a version passes on load, and
the champion pointer that says which version serves.

Layout: `<root>/<model>/<version>/{model.txt, metadata.json, ...}` beside
`<root>/<model>/champion.json`.
Training writes a version into a dot-prefixed folder and renames it when complete, so names
starting with a dot are never read. The pointer is replaced atomically, so a reader sees the old
or the new pointer, never half of one; that is what lets every worker process follow it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field, ValidationError

from app.errors import Conflict, ModelInvalid, NotFound
from app.pointers import Pointer, PointerFile, Stamp, stamp, validation_summary
from app.serving.fast_predict import FastPredictor
from app.serving.metadata import FeatureSpec, ModelMetadata
from app.serving.probe import prove_loadable

if TYPE_CHECKING:
    import lightgbm

MODEL_FILE = "model.txt"
METADATA_FILE = "metadata.json"
POINTER_FILE = "champion.json"
# One path component that cannot climb out of the folder nor name a temp (dot) folder.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_NAME = re.compile(NAME_PATTERN)

Schemas = Mapping[str, Sequence[FeatureSpec]]
VersionStamp = tuple[Stamp | None, Stamp | None]  # model.txt, metadata.json


class ChampionPointer(Pointer):
    """`champion.json`: the version that serves, since when, and the champions before it."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=NAME_PATTERN)
    promoted_at: datetime
    promoted_by: str | None = Field(default=None, description="Who moved it: API key or CLI user.")
    history: list[str] = Field(
        default_factory=list, description="Earlier champions, newest first; rollback pops one."
    )


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A version that passed every check, ready to predict."""

    name: str
    version: str
    booster: lightgbm.Booster
    metadata: ModelMetadata
    fast: FastPredictor  # one client at a time, without Booster.predict's set-up per call


class ModelRepository:
    """Finds, checks and loads model versions under `root`, and moves the champion pointer."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        return _subfolders(self.root)

    def versions(self, name: str) -> list[str]:
        """Oldest first: version names start with their UTC training time."""
        return _subfolders(self._model_dir(name))

    def pointer(self, name: str) -> ChampionPointer | None:
        return self._pointer_file(name).read()

    def champion(self, name: str) -> str | None:
        pointer = self.pointer(name)
        return pointer.version if pointer else None

    def pointer_stamp(self, name: str) -> Stamp | None:
        """A cheap fingerprint of the pointer file, to skip re-reading it when unchanged."""
        return self._pointer_file(name).stamp()

    def version_stamp(self, name: str, version: str) -> VersionStamp | None:
        """A cheap fingerprint of a version's files; None when the version is gone."""
        try:
            folder = self._version_dir(name, version)
        except NotFound:
            return None
        return stamp(folder / MODEL_FILE), stamp(folder / METADATA_FILE)

    def metadata(self, name: str, version: str) -> ModelMetadata:
        path = self._version_dir(name, version) / METADATA_FILE
        try:
            metadata = ModelMetadata.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            raise ModelInvalid(f"{name}/{version}: {METADATA_FILE} is missing") from None
        except ValidationError as exc:
            raise ModelInvalid(
                f"{name}/{version}: {METADATA_FILE} is not valid: {validation_summary(exc)}"
            ) from None
        if (metadata.name, metadata.version) != (name, version):
            raise ModelInvalid(
                f"{name}/{version}: {METADATA_FILE} describes "
                f"{metadata.name}/{metadata.version}, not this folder"
            )
        return metadata

    def load(self, name: str, version: str, *, expected: Schemas | None = None) -> LoadedModel:
        """Load a version after checking it is whole and fits the service.

        Refuses (ModelInvalid) a version whose model.txt does not hash to the recorded
        sha256, that LightGBM cannot read, whose booster disagrees with metadata.json on
        the features, or whose features differ from `expected[name]` in name, order or type.
        """
        metadata = self.metadata(name, version)
        where = f"{name}/{version}"
        path = self._version_dir(name, version) / MODEL_FILE
        try:
            model_bytes = path.read_bytes()
        except FileNotFoundError:
            raise ModelInvalid(f"{where}: {MODEL_FILE} is missing") from None
        digest = hashlib.sha256(model_bytes).hexdigest()
        if digest != metadata.model_sha256:
            raise ModelInvalid(
                f"{where}: {MODEL_FILE} is corrupt or was replaced: its sha256 is "
                f"{digest[:12]}..., {METADATA_FILE} records {metadata.model_sha256[:12]}..."
            )
        booster = _booster(where, model_bytes)
        _check_features(where, booster, metadata, None if expected is None else expected.get(name))
        return LoadedModel(
            name=name,
            version=version,
            booster=booster,
            metadata=metadata,
            fast=FastPredictor(booster),
        )

    def promote(
        self, name: str, version: str, *, expected: Schemas | None = None, by: str | None = None
    ) -> ChampionPointer:
        """Make `version` the champion. It is loaded and checked first; a refused version
        raises ModelInvalid and leaves the pointer as it was. Promoting the current champion
        again rewrites the pointer (workers then retry it) without adding to the history."""
        self.load(name, version, expected=expected)
        return self._pointer_file(name).move(
            version,
            lambda history: ChampionPointer(
                version=version, promoted_at=datetime.now(UTC), promoted_by=by, history=history
            ),
        )

    def rollback(self, name: str, *, expected: Schemas | None = None, by: str | None = None) -> str:
        """Go back to the previous champion in the history, checked like a promotion."""
        current = self.pointer(name)
        if current is None or not current.history:
            raise Conflict(f"model '{name}' has no earlier champion to roll back to")
        target = current.history[0]
        try:
            self.load(name, target, expected=expected)
        except (ModelInvalid, NotFound) as exc:
            raise ModelInvalid(f"cannot roll back {name} to {target}: {exc.detail}") from None
        self._pointer_file(name).back(
            current,
            lambda version, history: ChampionPointer(
                version=version, promoted_at=datetime.now(UTC), promoted_by=by, history=history
            ),
        )
        return target

    def _model_dir(self, name: str) -> Path:
        folder = self.root / name
        if not _NAME.match(name) or not folder.is_dir():
            raise NotFound(f"no model named '{name}'")
        return folder

    def _version_dir(self, name: str, version: str) -> Path:
        folder = self._model_dir(name) / version
        if not _NAME.match(version) or not folder.is_dir():
            raise NotFound(f"model '{name}' has no version '{version}'")
        return folder

    def _pointer_file(self, name: str) -> PointerFile[ChampionPointer]:
        return PointerFile(
            self._model_dir(name) / POINTER_FILE,
            ChampionPointer,
            what=f"the champion of '{name}'",
            invalid=lambda detail: ModelInvalid(f"{name}/{detail}"),
        )


def _subfolders(folder: Path) -> list[str]:
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    return sorted(e.name for e in entries if _NAME.match(e.name) and e.is_dir())


def _booster(where: str, model_bytes: bytes) -> lightgbm.Booster:
    # Imported on first load: LightGBM (and the scikit-learn it pulls in) takes seconds to
    # import, which every `clientscore` command would otherwise pay.
    import lightgbm

    prove_loadable(where, model_bytes)  # LightGBM aborts the process on some bad texts
    try:
        return lightgbm.Booster(model_str=model_bytes.decode())
    except Exception as exc:  # LightGBM reports a bad model text in several ways
        raise ModelInvalid(f"{where}: LightGBM cannot load {MODEL_FILE}: {exc}") from None


def _check_features(
    where: str,
    booster: lightgbm.Booster,
    metadata: ModelMetadata,
    expected: Sequence[FeatureSpec] | None,
) -> None:
    declared = [f.name for f in metadata.features]
    in_model = list(booster.feature_name())
    if in_model != declared:
        raise ModelInvalid(
            f"{where}: the features in {MODEL_FILE} are not those in {METADATA_FILE}: "
            f"{_difference(declared, in_model)}"
        )
    if expected is not None:
        wanted = [f"{f.name} ({f.type})" for f in expected]
        found = [f"{f.name} ({f.type})" for f in metadata.features]
        if found != wanted:
            difference = _difference(wanted, found)
            raise ModelInvalid(f"{where}: incompatible feature schema: {difference}")


def _difference(wanted: list[str], found: list[str]) -> str:
    """Where two feature lists first part, in words: 'feature 3 expected x, found y'."""
    for position, (want, have) in enumerate(zip(wanted, found, strict=False), start=1):
        if want != have:
            return f"feature {position} expected {want}, found {have}"
    if len(wanted) > len(found):
        missing = ", ".join(wanted[len(found) :])
        return f"expected {len(wanted)} features, found {len(found)}: missing {missing}"
    extra = ", ".join(found[len(wanted) :])
    return f"expected {len(wanted)} features, found {len(found)}: unexpected {extra}"
