"""What a book run classifies with, pinned for the whole run and shipped to every worker.

The run reads the champions' files and the active ruleset's files once, at its start: a
champion promoted or a ruleset activated during the run changes nothing in it. A worker
(another process here, or a Dask worker on another machine) rebuilds the models and the
ruleset from those bytes with the same checks as the service (each model's sha256 and
features, every ruleset check and example case), once per worker process and bundle. The
learned acceptance rates, read once when the run starts, travel with them: every worker
ranks the actions with the same snapshot.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.classification.classifier import PinnedModels
from app.errors import ServiceError
from app.rules.ruleset import Ruleset, read_ruleset_files, ruleset_version
from app.rules.store import VERSIONS_DIR, RulesetStore
from app.serving.predictor import MODELS, Champions
from app.serving.registry import service_schemas
from app.serving.repository import METADATA_FILE, MODEL_FILE, LoadedModel, ModelRepository
from app.strategy.rates import NO_ANSWERS, Rates


@dataclass(frozen=True)
class Bundle:
    """The bytes of the three champions and of one ruleset, with their versions, and the
    acceptance rates the run ranks actions with."""

    models: dict[str, tuple[str, dict[str, bytes]]]  # name -> (version, files)
    ruleset_version: str
    ruleset_files: dict[str, bytes]
    digest: str = field(default="", compare=False)  # of the models and the ruleset
    rates: Rates = NO_ANSWERS

    @classmethod
    def pin(
        cls,
        models_dir: Path,
        rules_dir: Path,
        *,
        ruleset: Path | None = None,
        versions: Mapping[str, Any] | None = None,
    ) -> Bundle:
        """The champions of `models_dir` and the active ruleset of `rules_dir` as they are
        now; or the ruleset folder `ruleset`; or the `versions` a run was started with."""
        repository = ModelRepository(models_dir)
        models: dict[str, tuple[str, dict[str, bytes]]] = {}
        for name in MODELS:
            version = versions["models"][name] if versions else repository.champion(name)
            if version is None:
                raise ServiceError(f"model '{name}' has no champion in {models_dir}")
            folder = models_dir / name / version
            if not folder.is_dir():
                raise ServiceError(f"model {name} version {version} is not in {models_dir}")
            files = {f: (folder / f).read_bytes() for f in (MODEL_FILE, METADATA_FILE)}
            models[name] = (version, files)
        store = RulesetStore(rules_dir)
        folder = ruleset or store.folder(store.pointer())
        if versions and ruleset_version(read_ruleset_files(folder)) != versions["ruleset"]:
            folder = rules_dir / VERSIONS_DIR / str(versions["ruleset"])
            if not folder.is_dir():
                raise ServiceError(f"ruleset {versions['ruleset']} is not in {rules_dir}")
        files = read_ruleset_files(folder)
        loaded = Ruleset.from_files(files, source=str(folder))  # refused here, not on a worker
        return cls.of(models, loaded.version, files)

    @classmethod
    def of(
        cls,
        models: dict[str, tuple[str, dict[str, bytes]]],
        ruleset_version: str,
        ruleset_files: dict[str, bytes],
    ) -> Bundle:
        digest = hashlib.sha256()
        for name in sorted(models):
            version, files = models[name]
            digest.update(f"{name}/{version}".encode())
            for path in sorted(files):
                digest.update(hashlib.sha256(files[path]).digest())
        digest.update(ruleset_version.encode())
        return cls(models, ruleset_version, ruleset_files, digest.hexdigest())

    def with_ruleset(self, files: dict[str, bytes], version: str) -> Bundle:
        return dataclasses.replace(Bundle.of(self.models, version, files), rates=self.rates)

    def with_rates(self, rates: Rates) -> Bundle:
        """The bundle ranking with `rates` (a snapshot of the recorded answers)."""
        return dataclasses.replace(self, rates=rates)

    def versions(self) -> dict[str, object]:
        return {
            "models": {name: version for name, (version, _) in self.models.items()},
            "ruleset": self.ruleset_version,
        }


_LOADED: dict[str, PinnedModels] = {}  # per worker process, by bundle digest
_KEEP = 4  # a what-if holds two bundles; a long-lived worker serves runs one after another


def load(bundle: Bundle) -> PinnedModels:
    """The bundle's models and ruleset, built once per process."""
    held = _LOADED.get(bundle.digest)
    if held is not None:
        return held
    with tempfile.TemporaryDirectory(prefix="clientscore-models-") as root:
        for name, (version, files) in bundle.models.items():
            folder = Path(root) / name / version
            folder.mkdir(parents=True)
            for path, content in files.items():
                (folder / path).write_bytes(content)
        repository = ModelRepository(Path(root))
        schemas = service_schemas()
        loaded_models: dict[str, LoadedModel] = {
            name: repository.load(name, version, expected=schemas)
            for name, (version, _) in bundle.models.items()
        }
    champions = Champions(**loaded_models)
    ruleset = Ruleset.from_files(bundle.ruleset_files, source=f"ruleset {bundle.ruleset_version}")
    if len(_LOADED) >= _KEEP:
        _LOADED.clear()
    held = _LOADED[bundle.digest] = PinnedModels(champions, ruleset)
    return held
