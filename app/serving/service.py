"""The model registry as the API shows it, and champion changes made through the API.

File reads and model loads run in a thread so the worker keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from app.errors import FieldError, ModelInvalid, NotFound, ValidationFailed
from app.serving.registry import ChampionState, ModelRegistry
from app.serving.repository import ChampionPointer, ModelRepository
from app.serving.schemas import ChampionChange, ModelList, ModelRead, VersionRead

logger = logging.getLogger("clientscore.models")


async def list_models(registry: ModelRegistry) -> ModelList:
    return await asyncio.to_thread(_describe_all, registry)


async def get_model(registry: ModelRegistry, *, name: str) -> ModelRead:
    return await asyncio.to_thread(_describe, registry, name)


async def change_champion(
    registry: ModelRegistry, *, name: str, change: ChampionChange, by: str
) -> ModelRead:
    """Promote a version or roll back one step, then serve the result in this worker at once;
    the other workers follow within their poll interval."""
    repository = registry.repository
    _check_change(change)
    if change.version is None:
        version = await asyncio.to_thread(
            repository.rollback, name, expected=registry.expected, by=by
        )
    else:
        pointer = await asyncio.to_thread(
            repository.promote, name, change.version, expected=registry.expected, by=by
        )
        version = pointer.version
    logger.info("model %s: champion set to %s by %s", name, version, by)
    await registry.refresh([name])
    return await get_model(registry, name=name)


def _check_change(change: ChampionChange) -> None:
    if change.version is not None and change.rollback:
        raise ValidationFailed(
            "the request is not valid: rollback",
            errors=[
                FieldError(
                    field="rollback",
                    rule="exclusive",
                    detail="send either a version to promote or rollback: true, not both",
                )
            ],
        )
    if change.version is None and not change.rollback:
        raise ValidationFailed(
            "the request is not valid: version",
            errors=[
                FieldError(
                    field="version",
                    rule="missing",
                    detail='send {"version": ...} to promote it, or {"rollback": true}',
                )
            ],
        )


def _describe_all(registry: ModelRegistry) -> ModelList:
    names = sorted({*registry.repository.names(), *registry.required})
    return ModelList(served_by=os.getpid(), models=[_describe(registry, n) for n in names])


def _describe(registry: ModelRegistry, name: str) -> ModelRead:
    repository = registry.repository
    try:
        versions = repository.versions(name)
    except NotFound:
        # A service model nobody has trained yet is worth showing: it is why /readyz says 503.
        if name not in registry.required:
            raise
        versions = []
    pointer, pointer_error = _pointer(repository, name)
    slot = registry.states.get(name, ChampionState())
    return ModelRead(
        name=name,
        champion=pointer.version if pointer else None,
        promoted_at=pointer.promoted_at if pointer else None,
        history=pointer.history if pointer else [],
        served=slot.served.version if slot.served else None,
        served_by=os.getpid(),
        error=slot.error or pointer_error,
        versions=[_version(repository, name, v) for v in reversed(versions)],
    )


def _pointer(repository: ModelRepository, name: str) -> tuple[ChampionPointer | None, str | None]:
    try:
        return repository.pointer(name), None
    except NotFound:
        return None, None
    except ModelInvalid as exc:
        return None, exc.detail


def _version(repository: ModelRepository, name: str, version: str) -> VersionRead:
    try:
        metadata = repository.metadata(name, version)
    except ModelInvalid as exc:
        return VersionRead(version=version, error=exc.detail)
    return VersionRead(
        version=version,
        created_at=metadata.created_at,
        task=metadata.task,
        num_trees=metadata.num_trees,
        rows=metadata.rows,
        metrics=_figures(metadata.metrics),
    )


def _figures(metrics: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The single figures per section (model, baseline, observed); curves stay in report.html."""
    figures = {}
    for section, values in metrics.items():
        scalars = {k: v for k, v in values.items() if isinstance(v, int | float | str | bool)}
        if scalars:
            figures[section] = scalars
    return figures
