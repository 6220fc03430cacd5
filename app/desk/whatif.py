"""The what-if page (`/book/whatif`): the active ruleset's thresholds, changed and simulated.

An analyst or admin changes thresholds of `ruleset.yaml` (app.rules.thresholds) and sees,
before anything is activated, the seeded sample classified with the served ruleset and with
the candidate (the worker's bounded Sandbox, as `POST /v1/rules:simulate`): who moves from
which class to which, with their premium and CLV, the action counts that change, and the
example cases the change breaks, as findings. Activation (an admin, or an analyst with
`CLIENTSCORE_ANALYSTS_ACTIVATE_RULES`) checks the candidate again and needs every case to pass.

Nothing is kept between the pages: the candidate travels as the thresholds in the form, and
is rebuilt on the served ruleset, whose version the form carries too.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.api.browser import Visitor, visitor
from app.api.deps import StateDep
from app.api.state import AppState
from app.auth.service import Scope
from app.book.sandbox import Job
from app.desk.pages import message, page
from app.errors import FieldError, ServiceError
from app.rules import thresholds
from app.rules.errors import RulesetRefused
from app.rules.ruleset import Ruleset, read_ruleset_files, ruleset_version
from app.rules.store import VERSIONS_DIR
from app.signin.roles import ANALYSIS

router = APIRouter(prefix="/book/whatif", include_in_schema=False)
SAMPLE = 20_000  # clients of the seeded sample, as `POST /v1/rules:simulate` by default
SAMPLES = (100, 200_000)


async def _analyst(request: Request, state: StateDep) -> Visitor:
    """An analyst or admin signed in, or a key sign-in holding the `analyst` scope."""
    return await visitor(request, state, roles=ANALYSIS, scopes=(Scope.analyst,))


AnalystDep = Annotated[Visitor, Depends(_analyst)]


def may_activate(state: AppState, who: Visitor) -> bool:
    return Scope.admin in who.caller.scopes or state.settings.analysts_activate_rules


def _served(state: AppState) -> tuple[Ruleset, dict[str, bytes]]:
    """The ruleset this worker serves and its files."""
    ruleset = state.rules.current()
    store = state.rules.store
    for folder in (store.folder(store.pointer()), store.root / VERSIONS_DIR / ruleset.version):
        if folder.is_dir():
            files = read_ruleset_files(folder)
            if ruleset_version(files) == ruleset.version:
                return ruleset, files
    return ruleset, read_ruleset_files(store.folder(None))


def _render(
    request: Request, state: AppState, who: Visitor, status: int = 200, **extra: Any
) -> Response:
    ruleset, files = _served(state)
    values = extra.pop("values", None) or thresholds.current(files)
    return page(
        request,
        "whatif.html",
        status,
        agent=who,
        query="",
        searches=bool({Scope.desk, Scope.admin} & who.caller.scopes),
        active=ruleset.version,
        names=thresholds.THRESHOLDS,
        values=values,
        sample=extra.pop("sample", SAMPLE),
        can_activate=may_activate(state, who),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("")
async def whatif_page(
    request: Request, state: StateDep, who: AnalystDep, activated: str | None = None
) -> Response:
    """The served ruleset's thresholds, to change and simulate."""
    state.simulations.warm()  # while the analyst edits, the simulations' process starts
    done = activated if activated and activated == state.rules.current().version else None
    return _render(request, state, who, activated=done)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _sample(raw: str | None) -> int | FieldError:
    try:
        sample = int((raw or "").strip())
    except ValueError:
        return FieldError("sample", "not_a_number", f"{raw!r} is not a whole number", "form")
    low, high = SAMPLES
    if not low <= sample <= high:
        return FieldError("sample", "out_of_range", f"must be {low} to {high} clients", "form")
    return sample


def _errors(problems: list[FieldError]) -> dict[str, str]:
    return {problem.field: problem.detail for problem in problems}


@router.post("")
async def whatif_simulate(request: Request, state: StateDep, who: AnalystDep) -> Response:
    """The candidate simulated: moves, changed actions, broken cases; nothing activated."""
    form = await _form(request)
    if not who.session.csrf_ok(form.get("csrf")):
        return message(request, 403, "csrf")
    entered = {name: form.get(name, "") for name in thresholds.THRESHOLDS}
    sample = _sample(form.get("sample"))
    ruleset, files = _served(state)
    try:
        values = thresholds.parse(form)
        candidate = thresholds.changed(files, values)
    except thresholds.ThresholdsRefused as exc:
        problems = exc.problems + ([sample] if isinstance(sample, FieldError) else [])
        return _render(
            request, state, who, 422, values=entered, sample=form.get("sample"),
            errors=_errors(problems),
        )  # fmt: skip
    if isinstance(sample, FieldError):
        return _render(
            request, state, who, 422, values=entered, sample=form.get("sample"),
            errors=_errors([sample]),
        )  # fmt: skip
    changes = thresholds.differences(thresholds.current(files), values)
    if not changes:
        return _render(request, state, who, values=entered, sample=sample, unchanged=True)
    job = Job(
        models_dir=state.settings.models_dir,
        rules_dir=state.settings.rules_dir,
        versions=state.classifier.pin().versions(),
        files=candidate,
        sample=sample,
        as_of=date.today(),
        cases="report",
    )
    try:
        summary = await state.simulations.simulate(job)
    except RulesetRefused as exc:
        refused = [f"{p.field}: {p.detail}" for p in exc.errors]
        return _render(request, state, who, 422, values=entered, sample=sample, refused=refused)
    except ServiceError as exc:  # busy (429), past a limit or failed (503)
        return _render(
            request, state, who, exc.status, values=entered, sample=sample, failed=exc.detail
        )
    return _render(
        request, state, who, values=entered, sample=sample, changes=changes,
        result=_result(summary), base=ruleset.version,
    )  # fmt: skip


def _result(summary: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of a simulation: moves only, changed actions only."""
    dimensions = {
        name: {
            "moved": dim["moved"],
            "moves": [c for c in dim["transitions"] if c["from"] != c["to"]],
        }
        for name, dim in summary["dimensions"].items()
        if dim["moved"]
    }
    actions = [a for a in summary["actions"] if a["before"] != a["after"]]
    return {
        "candidate": summary["candidate"],
        "clients": summary["clients"],
        "moved": summary["moved"],
        "dimensions": dimensions,
        "actions": actions,
        "failing": summary.get("failing_cases", []),
    }


@router.post("/activate")
async def whatif_activate(request: Request, state: StateDep, who: AnalystDep) -> Response:
    """The candidate the page simulated, activated if every example case passes."""
    form = await _form(request)
    if not who.session.csrf_ok(form.get("csrf")):
        return message(request, 403, "csrf")
    if not may_activate(state, who):
        return message(request, 403, "whatif_not_admin")
    ruleset, files = _served(state)
    if form.get("base") != ruleset.version:
        return message(request, 409, "whatif_base_moved", version=ruleset.version)
    try:
        candidate = thresholds.changed(files, thresholds.parse(form))
    except thresholds.ThresholdsRefused:
        return message(request, 422, "whatif_bad_form")
    try:
        activated = await state.rules.activate(candidate, by=who.caller.key_id)
    except RulesetRefused as exc:
        problems = [f"{p.field}: {p.detail}" for p in exc.errors]
        entered = {name: form.get(name, "") for name in thresholds.THRESHOLDS}
        return _render(request, state, who, 422, values=entered, refused=problems)
    return RedirectResponse(f"/book/whatif?activated={activated.version}", status_code=303)
