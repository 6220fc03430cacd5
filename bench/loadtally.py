"""What became of each request of a load run, and its summary.

Answers are kept by kind and outcome, each with its latency from the request's due time. The
outcome is the status, or `503 overloaded` for a request shed by the service (a 503 whose body
carries the problem code "overloaded"). Served means a 2xx answer: the percentiles of the
served leave the shed out, which are counted apart with their own (they should be answered in
milliseconds). Errors are the other answers, and the requests that got none.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SHED = "503 overloaded"
WINDOW_SECONDS = 10


def outcome(status: int, body: bytes) -> str:
    return SHED if status == 503 and b'"overloaded"' in body else str(status)


def served(name: str) -> bool:
    return name.startswith("2")


@dataclass
class Tally:
    answers: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)  # "kind: why", requests with no answer
    unsent: Counter[str] = field(default_factory=Counter)  # by kind: no connection to send on
    lag: list[float] = field(default_factory=list)  # due time to bytes written, per request
    origin: float = 0.0  # the run's start, for the windows
    # By 10 s window of due time: served latencies, and the count shed.
    windows: dict[int, tuple[list[float], list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: ([], [0]))
    )

    def record(self, kind: str, status: int, body: bytes, due: float, latency: float) -> None:
        name = outcome(status, body)
        self.answers[(kind, name)].append(latency)
        window = self.windows[int((due - self.origin) // WINDOW_SECONDS)]
        if served(name):
            window[0].append(latency)
        elif name == SHED:
            window[1][0] += 1

    def count(self, *, where: Callable[[str], bool] | None = None) -> int:
        return sum(len(v) for (_, name), v in self.answers.items() if where is None or where(name))

    @property
    def shed(self) -> int:
        return self.count(where=lambda name: name == SHED)

    @property
    def served(self) -> int:
        return self.count(where=served)

    def error_counts(self) -> dict[str, int]:
        """The answers neither served nor shed, by kind and status, and the requests that got
        no answer, by kind and why."""
        found = {
            f"{kind}: {name}": len(v)
            for (kind, name), v in sorted(self.answers.items())
            if not served(name) and name != SHED
        }
        return {**found, **dict(sorted(self.errors.items()))}

    def summary(self) -> dict[str, Any]:
        kinds = sorted({kind for kind, _ in self.answers} | set(self.unsent))
        return {
            "answered": self.count(),
            "served": self.served,
            "shed": self.shed,
            "errors": self.error_counts(),
            "unsent": dict(self.unsent),
            "served_all": percentiles(self._latencies(None, served)),
            "served_kinds": {k: percentiles(self._latencies(k, served)) for k in kinds},
            "shed_all": percentiles(self._latencies(None, lambda name: name == SHED)),
            "by_status": {
                kind: {name: len(v) for (k, name), v in sorted(self.answers.items()) if k == kind}
                for kind in kinds
            },
            "send_lag": percentiles(self.lag),
            "every_10s": [
                {"shed": shed[0], "served": percentiles(latencies)}
                for _, (latencies, shed) in sorted(self.windows.items())
            ],
        }

    def _latencies(self, kind: str | None, where: Callable[[str], bool]) -> list[float]:
        return [
            x
            for (k, name), values in self.answers.items()
            if (kind is None or k == kind) and where(name)
            for x in values
        ]


def percentiles(values: list[float]) -> dict[str, float]:
    """Count, p50, p99 and max in milliseconds of latencies in seconds."""
    if not values:
        return {"count": 0}
    ms = np.asarray(values) * 1000
    return {
        "count": len(values),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }
