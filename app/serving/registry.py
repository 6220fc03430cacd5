"""The champions one worker process serves, and how it follows the registry folder.

Each worker holds an immutable snapshot (model name -> ChampionState) and replaces it whole
when a champion changes. A request reads the snapshot once and keeps the model it got, so a
swap never disturbs a request in flight and the read path takes no lock. Workers share nothing
but the folder: each polls the champion pointers and loads a new champion itself, so a
promotion made by any worker or by the CLI reaches every worker within one poll interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from app.errors import ModelInvalid, NotFound, ServiceError, Unavailable
from app.pointers import Stamp
from app.serving.features import SERVICE_FEATURES
from app.serving.metadata import FeatureSpec
from app.serving.predictor import Champions
from app.serving.repository import LoadedModel, ModelRepository, Schemas, VersionStamp

# The models the service needs: readiness waits for a champion of each.
SERVICE_MODELS = tuple(SERVICE_FEATURES)
logger = logging.getLogger("clientscore.models")


def service_schemas() -> dict[str, tuple[FeatureSpec, ...]]:
    """The features the service builds for each model, which a champion must take as input."""
    return dict(SERVICE_FEATURES)


def service_registry(models_dir: Path) -> ModelRegistry:
    """A worker's registry of the service models in `models_dir`, following their champions."""
    return ModelRegistry(
        ModelRepository(models_dir), expected=service_schemas(), required=SERVICE_MODELS
    )


def load_champions(models_dir: Path) -> Champions:
    """The service models' champions in `models_dir`, loaded and checked once: what a command
    or a batch run classifies with from start to end."""
    repository = ModelRepository(models_dir)
    loaded = {}
    for name in SERVICE_MODELS:
        version = repository.champion(name)
        if version is None:
            raise ServiceError(f"model '{name}' has no champion in {models_dir}")
        loaded[name] = repository.load(name, version, expected=service_schemas())
    return Champions(**loaded)


@dataclass(frozen=True, slots=True)
class ChampionState:
    """What this worker knows of one model: the version it serves, its last look at the
    pointer, and why it refused the version the pointer names, if it did (`refused`, with
    a look at its files: when they change, as when someone repairs them, it is tried again)."""

    served: LoadedModel | None = None
    stamp: Stamp | None = None
    error: str | None = None
    refused: str | None = None
    files: VersionStamp | None = None


class ModelRegistry:
    """The loaded champion of every model in the folder, for one worker process."""

    def __init__(
        self, repository: ModelRepository, *, expected: Schemas, required: Sequence[str]
    ) -> None:
        self.repository = repository
        self.expected = expected
        self.required = tuple(required)
        self._states: Mapping[str, ChampionState] = MappingProxyType({})
        self._refreshing = asyncio.Lock()

    @property
    def states(self) -> Mapping[str, ChampionState]:
        return self._states

    def champion(self, name: str) -> LoadedModel:
        """The model to predict with; callers keep it for the whole request."""
        state = self._states.get(name)
        if state is None or state.served is None:
            reason = f": {state.error}" if state and state.error else ""
            raise Unavailable(f"no champion of model '{name}' is loaded{reason}")
        return state.served

    def missing(self) -> dict[str, str]:
        """The service models without a loaded champion, each with the reason."""
        missing = {}
        for name in self.required:
            state = self._states.get(name, ChampionState())
            if state.served is None:
                missing[name] = state.error or "no champion has been promoted"
        return missing

    async def start(self) -> None:
        await self.refresh()

    async def refresh(self, names: Sequence[str] | None = None) -> None:
        """Look at the champion pointers (all, or `names`) and load any that changed.

        Loading runs in a thread, so requests keep being served meanwhile; one refresh at a
        time, so a slow load can never be overwritten by an older result.
        """
        async with self._refreshing:
            updated = await asyncio.to_thread(self._next_snapshot, self._states, names)
            self._states = MappingProxyType(updated)

    def _next_snapshot(
        self, current: Mapping[str, ChampionState], names: Sequence[str] | None
    ) -> dict[str, ChampionState]:
        """`current` after a look at the pointers of `names` (default: every model)."""
        if names is None:
            names = sorted({*self.repository.names(), *self.required})
        snapshot = dict(current)
        for name in names:
            state = current.get(name, ChampionState())
            try:
                snapshot[name] = self._next_state(name, state)
            except Exception as exc:  # one model's trouble must not stop the others
                logger.exception("model %s: could not check its champion", name)
                snapshot[name] = ChampionState(state.served, None, f"{type(exc).__name__}: {exc}")
        return snapshot

    def _next_state(self, name: str, state: ChampionState) -> ChampionState:
        """What this worker knows of model `name` after one look at its pointer: the same
        state if the pointer is unchanged, else the newly loaded champion or why it was not."""
        try:
            stamp = self.repository.pointer_stamp(name)
        except NotFound:
            return ChampionState(state.served, None, _gone(state, "the model's folder"))
        if stamp is not None and stamp == state.stamp and not self._repaired(name, state):
            return state
        try:
            pointer = self.repository.pointer(name)
        except ModelInvalid as exc:
            logger.error("model %s: %s; still serving %s", name, exc.detail, _version(state))
            return ChampionState(state.served, stamp, exc.detail)
        if pointer is None:
            return ChampionState(state.served, None, _gone(state, "champion.json"))
        if state.served is not None and state.served.version == pointer.version:
            return ChampionState(state.served, stamp, None)
        try:
            loaded = self.repository.load(name, pointer.version, expected=self.expected)
        except (ModelInvalid, NotFound) as exc:
            files = self.repository.version_stamp(name, pointer.version)
            served = state.served or self._earlier(name, pointer.history)
            error = exc.detail
            if state.served is None and served is not None:
                error = f"{exc.detail}; serving the previous champion {served.version} instead"
            logger.error(
                "model %s version %s refused; serving %s: %s",
                name,
                pointer.version,
                "nothing" if served is None else served.version,
                exc.detail,
            )
            return ChampionState(served, stamp, error, pointer.version, files)
        logger.info(
            "model %s now serves version %s (was %s)", name, loaded.version, _version(state)
        )
        return ChampionState(loaded, stamp, None)

    def _repaired(self, name: str, state: ChampionState) -> bool:
        """The refused version's files changed since it was refused: worth another try."""
        if state.refused is None:
            return False
        return self.repository.version_stamp(name, state.refused) != state.files

    def _earlier(self, name: str, history: Sequence[str]) -> LoadedModel | None:
        """The newest earlier champion that loads: what a worker starts on when the champion
        cannot be loaded, rather than serving nothing."""
        for version in history:
            try:
                return self.repository.load(name, version, expected=self.expected)
            except (ModelInvalid, NotFound) as exc:
                logger.error("model %s: earlier champion %s refused too: %s", name, version, exc)
        return None


def _gone(state: ChampionState, what: str) -> str | None:
    return None if state.served is None else f"{what} is gone; still serving {state.served.version}"


def _version(state: ChampionState) -> str:
    return state.served.version if state.served else "nothing"
