"""Request body size limits, enforced while the body streams in."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response
from app.errors import PayloadTooLarge


class BodyLimit:
    """Refuses bodies over `default` bytes (`per_path` overrides it for bulk endpoints) with 413."""

    def __init__(self, app: ASGIApp, *, default: int, per_path: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.per_path = per_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problem_response(
                status=413,
                code=PayloadTooLarge.code,
                title=PayloadTooLarge.title,
                detail=f"the body is {int(declared)} bytes; this endpoint takes at most {limit}",
                instance=scope["path"],
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException, not a ServiceError: FastAPI passes it through while
                    # parsing a body, where any other error would become a 400.
                    detail = f"the body is over {limit} bytes, this endpoint's limit"
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, receive if declared is not None else counting_receive, send)
