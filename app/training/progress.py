"""What a training run says while it works: lines on stderr whatever it is, a bar on a terminal.

Every line is written whole and flushed, so a log file or a pipe shows the run as it goes:
one line per finished trial of a search (its score, rounds, time, the best so far) and one
line every `period` boosting rounds of a fit. On a terminal a live bar below the lines
shows the search's trials and time; it is never written to a file. `Progress.silent()`
writes nothing (`clientscore train --quiet`, and the library's default).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

ROUND_PERIOD = 50  # boosting rounds between two lines of a fit
BAR_WIDTH = 24


class Progress:
    def __init__(
        self, stream: TextIO | None = None, *, period: int = ROUND_PERIOD, live: bool | None = None
    ) -> None:
        self.stream = stream
        self.period = period
        self.live = bool(stream is not None and (stream.isatty() if live is None else live))
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._bar = ""

    @classmethod
    def silent(cls) -> Progress:
        return cls(None)

    @classmethod
    def to_stderr(cls, *, quiet: bool = False) -> Progress:
        return cls(None if quiet else sys.stderr)

    def line(self, text: str) -> None:
        """One whole line (the live bar, if any, is drawn again below it)."""
        if self.stream is None:
            return
        with self._lock:
            clear = "\r\033[K" if self._bar else ""
            self.stream.write(f"{clear}{text}\n{self._bar}")
            self.stream.flush()

    def bar(self, done: int, total: int, seconds: float, budget: float | None) -> None:
        """The live bar of a search (terminal only): trials done, time used of the budget."""
        if not self.live or self.stream is None:
            return
        share = done / total if total else 0.0
        if budget:
            share = max(share, min(1.0, seconds / budget))
        filled = round(BAR_WIDTH * share)
        of = f" of {budget:.0f} s" if budget else ""
        drawn = "#" * filled + "." * (BAR_WIDTH - filled)
        text = f"[{drawn}] {done}/{total} trials, {seconds:.0f} s{of}"
        with self._lock:
            self._bar = text
            self.stream.write(f"\r\033[K{text}")
            self.stream.flush()

    def end_bar(self) -> None:
        if self._bar and self.stream is not None:
            with self._lock:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self._bar = ""

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rounds(self, label: str) -> Callable[[Any], None] | None:
        """A LightGBM callback writing a line every `period` rounds (None when silent)."""
        if self.stream is None:
            return None

        def callback(env: Any) -> None:
            done = env.iteration + 1
            if done % self.period and done != env.end_iteration:
                return
            figures = ", ".join(
                f"{name} {value:.6g}" for _, name, value, _ in env.evaluation_result_list
            )
            tail = f": {figures}" if figures else ""
            self.line(f"  {label} round {done}/{env.end_iteration}{tail} ({self.elapsed():.1f} s)")

        return callback
