"""The desk's writes and the agent's callbacks: recording the call's answers (a call back
with its date and time), a complaint's note or closing, and the list of callbacks due.

Nothing is stored from a form with a mistake: the card comes back saying what was wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.api.browser import Visitor, visitor
from app.api.classification import call_for
from app.api.deps import SessionDep, StateDep
from app.auth.service import Scope
from app.db.unit import Session
from app.desk.pages import lang, message, page
from app.errors import ServiceError
from app.i18n.texts import TIMEZONE, moment, t
from app.outcomes import service as outcomes
from app.outcomes.schemas import CALLBACK_HORIZON, OutcomeCreate
from app.signin.roles import DESK

router = APIRouter(prefix="/desk", include_in_schema=False)
# The card's problems a redirect may name (never text from the URL).
PROBLEMS = frozenset(
    {"answer_one", "not_recorded", "callback_when", "callback_range", "complaint_note"}
)
DONE = frozenset({"complaint_noted", "complaint_closed_done"})


TEAM_OUTCOMES = 200  # the team's latest calls a lead sees


async def _agent(request: Request, state: StateDep) -> Visitor:
    return await visitor(request, state, roles=DESK, scopes=(Scope.desk,))


AgentDep = Annotated[Visitor, Depends(_agent)]


def local_time(raw: object) -> datetime | None:
    """A `datetime-local` field's value (`2026-12-09T18:30`) as China Standard Time."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=TIMEZONE) if parsed.tzinfo is None else parsed


def _callbacks(
    form: FormData, answers: dict[str, str], now: datetime
) -> tuple[dict[str, datetime], str | None]:
    """Each call back's time, or the problem with one (missing, past, over a year ahead)."""
    times = {}
    for code, answer in answers.items():
        if answer != "call_back":
            continue
        when = local_time(form.get(f"callback_{code}"))
        if when is None:
            return {}, "callback_when"
        if when <= now or when > now + CALLBACK_HORIZON:
            return {}, "callback_range"
        times[code] = when.astimezone(UTC)
    return times, None


def _back(client_id: str, **query: str | int) -> Response:
    url = f"/desk/clients/{quote(client_id)}"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return RedirectResponse(url, status_code=303)


async def _store(
    session: Session, agent: Visitor, client_id: str, bodies: list[OutcomeCreate]
) -> None:
    # One savepoint: a bad answer records none of the call's answers.
    now = datetime.now(UTC)
    async with session.begin_nested():
        for body in bodies:
            await outcomes.record(
                session,
                client_id=client_id,
                body=body,
                key_id=agent.caller.key_id,
                at=now,
                person=agent.person,
                team=agent.team,
            )


@router.post("/clients/{client_id}/outcomes")
async def record_call(request: Request, session: SessionDep, agent: AgentDep) -> Response:
    client_id = request.path_params["client_id"]
    form = await request.form()
    sent = form.get("csrf")
    if not agent.session.csrf_ok(sent if isinstance(sent, str) else None):
        return message(request, 403, "csrf")
    answers = {
        str(name).removeprefix("result_"): str(value)
        for name, value in form.multi_items()
        if str(name).startswith("result_") and value
    }
    if not answers:
        return _back(client_id, error="answer_one")
    times, problem = _callbacks(form, answers, datetime.now(UTC))
    if problem:
        return _back(client_id, error=problem)
    note, offer = form.get("note"), form.get("offer_request_id")
    try:
        bodies = [
            OutcomeCreate.model_validate(
                {
                    "action_code": code,
                    "result": answer,
                    "note": note or None,
                    "offer_request_id": offer or None,
                    "callback_at": times.get(code),
                }
            )
            for code, answer in answers.items()
        ]
        await _store(session, agent, client_id, bodies)
    except (ValidationError, ServiceError):
        return _back(client_id, error="not_recorded")
    return _back(client_id, recorded=len(answers))


@router.post("/clients/{client_id}/complaint")
async def record_complaint(request: Request, session: SessionDep, agent: AgentDep) -> Response:
    """Open or add a note to a complaint (a note is needed), or close it."""
    client_id = request.path_params["client_id"]
    form = await request.form()
    sent = form.get("csrf")
    if not agent.session.csrf_ok(sent if isinstance(sent, str) else None):
        return message(request, 403, "csrf")
    state = form.get("state")
    note = str(form.get("complaint_note") or "").strip()
    if state not in ("complaint", "complaint_closed"):
        return _back(client_id, error="not_recorded")
    if state == "complaint" and not note:
        return _back(client_id, error="complaint_note")
    try:
        body = OutcomeCreate.model_validate({"result": state, "note": note or None})
        await _store(session, agent, client_id, [body])
    except (ValidationError, ServiceError):
        return _back(client_id, error="not_recorded")
    done = "complaint_noted" if state == "complaint" else "complaint_closed_done"
    return _back(client_id, done=done)


@router.get("/callbacks")
async def callbacks(
    request: Request, state: StateDep, session: SessionDep, agent: AgentDep
) -> Response:
    """The signed-in agent's callbacks due by the end of today, the longest overdue first."""
    chosen = lang(request)
    now = datetime.now(UTC)
    today = now.astimezone(TIMEZONE).date()
    until = datetime.combine(today + timedelta(days=1), time(), TIMEZONE)
    person, team = agent.person, agent.leads_team
    due = await outcomes.due_callbacks(
        session,
        subject=person[0] if person and not team else None,
        key_id=None if person else agent.caller.key_id,
        until=until,
        team=team,
    )
    actions = call_for(request, state, agent.caller).pinned.ruleset.document.actions
    titles = {spec.code: spec.zh if chosen == "zh" else spec.en for spec in actions}
    rows = [
        {
            "client_id": c.client_id,
            "name": c.name or c.client_id,
            "action": titles.get(c.action_code, c.action_code),
            "due": moment(chosen, c.due),
            "overdue": c.due < now,
            "note": c.note,
            "agent": c.recorded_by,
        }
        for c in due
    ]
    title = t(chosen, "team_callbacks", team=team) if team else t(chosen, "callbacks")
    return page(request, "callbacks.html", agent=agent, query="", rows=rows, title=title, team=team)


@router.get("/team")
async def team_outcomes(
    request: Request, state: StateDep, session: SessionDep, agent: AgentDep
) -> Response:
    """A team lead's view of the calls their team recorded, newest first."""
    chosen = lang(request)
    team = agent.leads_team
    if team is None:
        return message(request, 403, "not_team_lead")
    recorded = await outcomes.team_outcomes(session, team=team, limit=TEAM_OUTCOMES)
    actions = call_for(request, state, agent.caller).pinned.ruleset.document.actions
    titles = {spec.code: spec.zh if chosen == "zh" else spec.en for spec in actions}
    rows = [
        {
            "client_id": o.client_id,
            "when": moment(chosen, o.recorded_at),
            "agent": o.recorded_by,
            "action": titles.get(o.action_code or "", o.action_code or "-"),
            "result": t(chosen, o.result),
            "note": o.note,
        }
        for o in recorded
    ]
    title = t(chosen, "team_outcomes", team=team)
    return page(request, "team.html", agent=agent, query="", rows=rows, title=title)
