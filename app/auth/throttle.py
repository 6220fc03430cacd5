"""Failed authentications counted per client address and per key id, and refused past a
limit: guessing keys costs the guesser, not the database.

Each counter keeps the times of its last `attempts` failures; once `attempts` failures fall
within `window_seconds`, the address (or key id) is refused with 429 until the oldest of them
leaves the window. A burst is logged once, when it starts, with the address hashed (an
address is personal data) and the key id as it is (a key id is public).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger("clientscore.auth")

KEPT_AT_MOST = 100_000  # counters; then they start again empty


def _label(kind: str, value: str) -> str:
    if kind == "address":
        return "address #" + hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"key id {value}"


@dataclass
class Throttle:
    attempts: int
    window_seconds: float
    on_refused: Callable[[str], None] = lambda _kind: None
    clock: Callable[[], float] = time.monotonic
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def wait(self, address: str | None, key_id: str | None) -> float | None:
        """Seconds the caller must wait before trying again, or None when it may try now."""
        now = self.clock()
        longest: float | None = None
        for kind, value in (("address", address), ("key", key_id)):
            if not value:
                continue
            times = self._failures.get((kind, value))
            if times is None or len(times) < self.attempts:
                continue
            left = self.window_seconds - (now - times[0])
            if left > 0:
                self.on_refused(kind)
                longest = max(longest or 0.0, left)
        return longest

    def failed(self, address: str | None, key_id: str | None) -> None:
        """Count a failed authentication of the address and of the key id it named."""
        now = self.clock()
        if len(self._failures) > KEPT_AT_MOST:
            self._failures.clear()
        for kind, value in (("address", address), ("key", key_id)):
            if not value:
                continue
            times = self._failures.setdefault((kind, value), deque(maxlen=self.attempts))
            was_open = len(times) < self.attempts or now - times[0] >= self.window_seconds
            times.append(now)
            if was_open and len(times) == self.attempts and now - times[0] < self.window_seconds:
                logger.warning(
                    "%d failed authentications from %s within %.0f s: refusing it for up to %.0f s",
                    self.attempts,
                    _label(kind, value),
                    self.window_seconds,
                    self.window_seconds,
                )
