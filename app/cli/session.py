"""One database transaction for a command's work."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from app.settings import Settings

T = TypeVar("T")


def run_in_session(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    import asyncio

    from app.db.engine import create_engine_for, create_sessionmaker

    async def main() -> T:
        engine = create_engine_for(settings)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())
