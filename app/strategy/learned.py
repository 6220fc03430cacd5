"""The learned acceptance counts a worker arbitrates with, read again every few seconds.

Every worker records answers in the database and reads the counts back on its own loop
(`refresh`), so all workers share what any of them learned within one interval.
"""

from __future__ import annotations

import logging

from app.db.unit import SessionFactory, transaction
from app.strategy import repository
from app.strategy.rates import Rates

logger = logging.getLogger("clientscore")


class LearnedRates:
    """The acceptance rates learned from the answers every worker records, as last read."""

    def __init__(self) -> None:
        self._rates = Rates()

    def current(self) -> Rates:
        return self._rates

    async def refresh(self, session_factory: SessionFactory) -> None:
        async with transaction(session_factory) as session:
            self._rates = Rates(await repository.counts(session))

    async def first_read(self, session_factory: SessionFactory) -> None:
        """The read at start-up: a database not migrated yet must not stop the service (it
        ranks with the starting rates until the loop reads the counts)."""
        try:
            await self.refresh(session_factory)
        except Exception:
            logger.warning("could not read the learned acceptance yet", exc_info=True)
