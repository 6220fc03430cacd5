"""What every desk page shares: its templates, its language, and where it may send back to."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.api.browser import here
from app.api.pages import protect
from app.i18n.texts import LANG_COOKIE, WORDS, Lang, lang_of, t
from app.outcomes.schemas import COMPLAINTS, MAX_NOTE, CallResult

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates


@cache
def templates() -> Jinja2Templates:
    """The pages' templates, compiled once: not checked against their files on every page (a
    restart serves changed ones). Jinja is imported with the first page shown: a worker that
    only serves the API does not load it."""
    from fastapi.templating import Jinja2Templates
    from jinja2 import Environment, FileSystemLoader

    return Jinja2Templates(
        env=Environment(
            loader=FileSystemLoader(Path(__file__).parent / "templates"),
            autoescape=True,
            auto_reload=False,
        )
    )


PAGES = ("/desk", "/book")  # the pages a sign-in may go back to
# The answers to an action on the card; a complaint has a form of its own.
ANSWERS = [r.value for r in CallResult if r not in COMPLAINTS]


def lang(request: Request) -> Lang:
    return lang_of(request.cookies.get(LANG_COOKIE))


def safe_next(target: str | None) -> str:
    # Only back into the service's pages: never an open redirect to another site.
    if target and target.startswith(PAGES) and not target.startswith("//"):
        return target
    return "/desk"


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    chosen = lang(request)
    response = templates().TemplateResponse(
        request,
        name,
        {"lang": chosen, "other": "en" if chosen == "zh" else "zh", "t": t, "tx": WORDS[chosen],
         "here": here(request),
         "max_note": MAX_NOTE, "answers": ANSWERS, **context},
        status_code=status,
    )  # fmt: skip
    protect(response)
    return response


def message(request: Request, status: int, text_key: str, **values: object) -> HTMLResponse:
    """A page that says what went wrong, in the desk's words (never text from the URL)."""
    chosen = lang(request)
    return page(
        request,
        "message.html",
        status,
        title=t(chosen, "error"),
        text=t(chosen, text_key, **values),
    )
