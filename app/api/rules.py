"""HTTP routes of the ruleset: what serves, and uploading a new one (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CallerAdmin, CallerClassify, StateDep
from app.api.docs import ERROR_RESPONSES
from app.rules.ruleset import Ruleset

router = APIRouter(prefix="/v1", tags=["rules"], responses=ERROR_RESPONSES)


class RulesetUpload(BaseModel):
    """A whole ruleset: each file's path in the ruleset folder and its text (UTF-8)."""

    model_config = ConfigDict(extra="forbid")

    files: dict[str, Annotated[str, Field(max_length=2_000_000)]] = Field(
        min_length=1,
        max_length=20,
        description="`ruleset.yaml`, `cases.yaml`, `calibration.json` and "
        "`tables/<table>.json` for the seven tables.",
    )


class RulesetRead(BaseModel):
    version: str
    description: str
    tables: dict[str, int] = Field(description="Rows per decision table.")
    cases: int = Field(description="Example cases that passed.")
    calibration: dict[str, Any] | None = Field(description="The book the CLV grid comes from.")
    error: str | None = Field(
        default=None, description="Why this worker refused the ruleset the pointer names."
    )


def _read(ruleset: Ruleset, error: str | None = None) -> RulesetRead:
    calibration = ruleset.calibration
    return RulesetRead(
        version=ruleset.version,
        description=ruleset.document.description,
        tables=ruleset.rows,
        cases=ruleset.cases,
        calibration=calibration.model_dump(mode="json", exclude={"clv_quantiles"})
        if calibration
        else None,
        error=error,
    )


_UPLOAD_EXAMPLE = {
    "files": {
        "ruleset.yaml": "description: ...\nclv: ...",
        "cases.yaml": "value_tier: ...",
        "calibration.json": '{"source": "stored book", ...}',
        "tables/value_tier.json": '{"nodes": [...], "edges": [...]}',
    }
}


@router.get("/rules", response_model=RulesetRead)
async def get_rules(state: StateDep, _caller: CallerClassify) -> RulesetRead:
    """The ruleset this worker classifies with."""
    return _read(state.rules.current(), state.rules.error)


@router.put("/rules", response_model=RulesetRead)
async def put_rules(
    body: Annotated[RulesetUpload, Body(openapi_examples={"ruleset": {"value": _UPLOAD_EXAMPLE}})],
    state: StateDep,
    caller: CallerAdmin,
) -> RulesetRead:
    """Upload a whole ruleset and activate it in every worker (admin).

    It is checked first: every file parses, every table meets its contract, every example
    case passes and it carries the book calibration. A refused ruleset (422
    `ruleset_refused`, listing each problem) leaves the active one serving.
    """
    files = {path: text.encode("utf-8") for path, text in body.files.items()}
    ruleset = await state.rules.activate(files, by=caller.key_id)
    return _read(ruleset)
