"""The headers of every page that may show personal data (the desk, the book report)."""

from __future__ import annotations

from starlette.responses import Response

_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'{styles}; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def page_headers(*, inline_styles: bool = False) -> dict[str, str]:
    """Not cached anywhere, no script but the service's own files, never framed, no
    referrer sent elsewhere. `inline_styles` for a page with a `<style>` block (the
    report); scripts are never inline."""
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": _POLICY.format(
            styles=" 'unsafe-inline'" if inline_styles else ""
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def protect(response: Response, *, inline_styles: bool = False) -> Response:
    response.headers.update(page_headers(inline_styles=inline_styles))
    return response
