"""Plain-text tables for the CLI, laid out to the terminal's width.

Each column is as wide as its widest cell (no value runs into the next column). When the
table is wider than the terminal, the columns marked `wrap` give up width, widest first, and
their cells wrap over several lines. A table written to a file or a pipe is laid out for
`COLUMNS`, else 100 characters (`shutil.get_terminal_size`).
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

GAP = "  "
NARROWEST = 10  # a wrapped column keeps at least this width


def terminal_width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[int] = (),
    wrap: Sequence[int] = (),
    width: int | None = None,
) -> list[str]:
    """The lines of a table: `right` columns aligned right, `wrap` columns wrapped to fit."""
    width = width or terminal_width()
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    over = sum(widths) + len(GAP) * (len(widths) - 1) - width
    while over > 0:
        shrinkable = [i for i in wrap if widths[i] > max(NARROWEST, len(header[i]))]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        over -= 1
    return [line for cells in (header, *rows) for line in _row(cells, widths, right, wrap_at=wrap)]


def _row(
    cells: Sequence[str], widths: list[int], right: Sequence[int], *, wrap_at: Sequence[int]
) -> list[str]:
    parts = [
        textwrap.wrap(cell, w, break_on_hyphens=False) or [""]
        if i in wrap_at and len(cell) > w
        else [cell]
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
    ]
    height = max(len(p) for p in parts)
    lines = []
    for k in range(height):
        texts = [
            (p[k] if k < len(p) else "").rjust(w)
            if i in right
            else (p[k] if k < len(p) else "").ljust(w)
            for i, (p, w) in enumerate(zip(parts, widths, strict=True))
        ]
        lines.append(GAP.join(texts).rstrip())
    return lines


def blocks(label_width: int, column_width: int, width: int | None = None) -> int:
    """How many value columns of `column_width` fit beside a label column (at least one)."""
    width = width or terminal_width()
    return max(1, (width - label_width) // (column_width + len(GAP)))
