"""Request body size limits, enforced while the body streams in."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from app.api.problems import problem_response
from app.errors import PayloadTooLarge


class BodyLimit:
    """Refuses bodies over `default` bytes (`per_path` overrides it for bulk endpoints) with 413."""

    def __init__(self, *, default: int, per_path: dict[str, int]) -> None:
        self.default = default
        self.per_path = per_path

    def refusal(self, scope: Scope, path: str) -> Response | None:
        """The 413 for a body whose declared length is over the limit, before reading it
        (`path`: the request's path under its root path)."""
        limit = self.per_path.get(path, self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is None or not declared.isdigit() or int(declared) <= limit:
            return None
        return problem_response(
            status=413,
            code=PayloadTooLarge.code,
            title=PayloadTooLarge.title,
            detail=f"the body is {int(declared)} bytes; this endpoint takes at most {limit}",
            instance=scope["path"],
        )

    def counting(self, scope: Scope, receive: Receive, path: str) -> Receive:
        """`receive`, raising 413 once a body of undeclared length passes the limit."""
        if b"content-length" in dict(scope["headers"]):
            return receive  # declared, and within the limit (`refusal`)
        limit = self.per_path.get(path, self.default)
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

        return counting_receive
