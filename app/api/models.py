"""HTTP routes for the model registry: what is trained, what serves, and changing the champion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from app.api.deps import CallerAdmin, CallerClassify, RegistryDep
from app.api.docs import ERROR_RESPONSES, NO_SUCH_CLIENT
from app.serving import service as service
from app.serving.repository import NAME_PATTERN
from app.serving.schemas import VERSION_EXAMPLE, ChampionChange, ModelList, ModelRead

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {**NO_SUCH_CLIENT[404], "description": "No such model or version"},
}
router = APIRouter(prefix="/v1", tags=["models"], responses=RESPONSES)

ModelNamePath = Annotated[
    str, Path(pattern=NAME_PATTERN, description="The model's name.", examples=["lapse"])
]


@router.get("/models", response_model=ModelList)
async def list_models(registry: RegistryDep, _caller: CallerClassify) -> ModelList:
    """Every model in the registry folder: its versions with their held-out metrics (model
    and baseline), the folder's champion, and the version the answering worker serves.

    `served` differs from `champion` for at most the poll interval after a promotion, or
    for good when this worker refused the new champion: `error` then says why.
    """
    return await service.list_models(registry)


@router.get("/models/{name}", response_model=ModelRead)
async def get_model(
    name: ModelNamePath, registry: RegistryDep, _caller: CallerClassify
) -> ModelRead:
    """One model, as in the list."""
    return await service.get_model(registry, name=name)


_CHANGE_EXAMPLES = {
    "promote": {
        "summary": "Promote a version (also how to go back to any earlier one)",
        "value": {"version": VERSION_EXAMPLE},
    },
    "rollback": {"summary": "Go back to the previous champion", "value": {"rollback": True}},
}


@router.put(
    "/models/{name}/champion",
    response_model=ModelRead,
    responses={
        409: {**ERROR_RESPONSES[422], "description": "Nothing to roll back to"},
        422: {
            **ERROR_RESPONSES[422],
            "description": "Invalid body, or the version was refused: corrupt model file, "
            "features that differ from what the service sends ... (the champion is unchanged)",
        },
    },
)
async def set_champion(
    name: ModelNamePath,
    change: Annotated[ChampionChange, Body(openapi_examples=_CHANGE_EXAMPLES)],
    registry: RegistryDep,
    caller: CallerAdmin,
) -> ModelRead:
    """Make a version the champion, or roll back to the previous one (`admin` scope).

    The version is loaded and checked before the pointer moves; a refused version leaves
    the champion as it was. This worker serves the new champion before answering; the
    others switch within `CLIENTSCORE_MODEL_RELOAD_SECONDS`.
    """
    return await service.change_champion(
        registry, name=name, change=change, by=f"api-key:{caller.key_id}"
    )
