"""The champions one worker process serves, and how it follows the registry folder.

Each worker holds an immutable snapshot (model name -> Slot) and replaces it whole when a
champion changes. A request reads the snapshot once and keeps the model it got, so a swap
never disturbs a request in flight and the read path takes no lock. Workers share nothing
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
from app.serving.repository import LoadedModel, ModelRepository, Schemas

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
class Slot:
    """What this worker knows of one model: the version it serves, its last look at the
    pointer, and why it refused the version the pointer names, if it did."""

    served: LoadedModel | None = None
    stamp: Stamp | None = None
    error: str | None = None


class ModelRegistry:
    """The loaded champion of every model in the folder, for one worker process."""

    def __init__(
        self, repository: ModelRepository, *, expected: Schemas, required: Sequence[str]
    ) -> None:
        self.repository = repository
        self.expected = expected
        self.required = tuple(required)
        self._slots: Mapping[str, Slot] = MappingProxyType({})
        self._refreshing = asyncio.Lock()

    @property
    def slots(self) -> Mapping[str, Slot]:
        return self._slots

    def champion(self, name: str) -> LoadedModel:
        """The model to predict with; callers keep it for the whole request."""
        slot = self._slots.get(name)
        if slot is None or slot.served is None:
            reason = f": {slot.error}" if slot and slot.error else ""
            raise Unavailable(f"no champion of model '{name}' is loaded{reason}")
        return slot.served

    def missing(self) -> dict[str, str]:
        """The service models without a loaded champion, each with the reason."""
        missing = {}
        for name in self.required:
            slot = self._slots.get(name, Slot())
            if slot.served is None:
                missing[name] = slot.error or "no champion has been promoted"
        return missing

    async def start(self) -> None:
        await self.refresh()

    async def refresh(self, names: Sequence[str] | None = None) -> None:
        """Look at the champion pointers (all, or `names`) and load any that changed.

        Loading runs in a thread, so requests keep being served meanwhile; one refresh at a
        time, so a slow load can never be overwritten by an older result.
        """
        async with self._refreshing:
            updated = await asyncio.to_thread(self._checked, self._slots, names)
            self._slots = MappingProxyType(updated)

    def _checked(self, current: Mapping[str, Slot], names: Sequence[str] | None) -> dict[str, Slot]:
        if names is None:
            names = sorted({*self.repository.names(), *self.required})
        slots = dict(current)
        for name in names:
            slot = current.get(name, Slot())
            try:
                slots[name] = self._check(name, slot)
            except Exception as exc:  # one model's trouble must not stop the others
                logger.exception("model %s: could not check its champion", name)
                slots[name] = Slot(slot.served, None, f"{type(exc).__name__}: {exc}")
        return slots

    def _check(self, name: str, slot: Slot) -> Slot:
        try:
            stamp = self.repository.pointer_stamp(name)
        except NotFound:
            return Slot(slot.served, None, _gone(slot, "the model's folder"))
        if stamp is not None and stamp == slot.stamp:
            return slot
        try:
            pointer = self.repository.pointer(name)
        except ModelInvalid as exc:
            logger.error("model %s: %s; still serving %s", name, exc.detail, _version(slot))
            return Slot(slot.served, stamp, exc.detail)
        if pointer is None:
            return Slot(slot.served, None, _gone(slot, "champion.json"))
        if slot.served is not None and slot.served.version == pointer.version:
            return Slot(slot.served, stamp, None)
        try:
            loaded = self.repository.load(name, pointer.version, expected=self.expected)
        except (ModelInvalid, NotFound) as exc:
            logger.error(
                "model %s version %s refused; still serving %s: %s",
                name,
                pointer.version,
                _version(slot),
                exc.detail,
            )
            return Slot(slot.served, stamp, exc.detail)
        logger.info("model %s now serves version %s (was %s)", name, loaded.version, _version(slot))
        return Slot(loaded, stamp, None)


def _gone(slot: Slot, what: str) -> str | None:
    return None if slot.served is None else f"{what} is gone; still serving {slot.served.version}"


def _version(slot: Slot) -> str:
    return slot.served.version if slot.served else "nothing"
