"""The background loop every worker runs to follow the model and rules folders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("clientscore")


async def run_periodically(
    interval: float, action: Callable[[], Awaitable[None]], what: str
) -> None:
    """Await `action` every `interval` seconds until cancelled; a failure is logged and the
    loop goes on, so one bad look at a folder never stops the following ones."""
    while True:
        await asyncio.sleep(interval)
        try:
            await action()
        except Exception:
            logger.exception("could not look at %s", what)
