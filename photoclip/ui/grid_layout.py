"""The grid's geometry by arithmetic: sections stacked, each a header (when titled) and
rows of equal cells, so finding a cell among 100,000 photos is a bisection over sections."""

from __future__ import annotations

import bisect

from PySide6.QtCore import QRect

from .grid_model import Section


class GridLayout:
    """Where every section header and cell is for one width: sections stack, each a header
    (when titled) and rows of ``columns`` cells. Lookups are a bisection over sections."""

    def __init__(self, sections: list[Section], width: int, cell: int, header: int) -> None:
        self.sections = sections
        self.columns = max(1, width // cell)
        self.cell_w = max(cell, width // self.columns)
        self.cell_h = cell
        self.header = header
        self.starts = [s.start for s in sections]
        self.tops: list[int] = []
        y = 0
        for s in sections:
            self.tops.append(y)
            y += self.header_of(s) + self.lines(s.rows) * cell
        self.height = y

    def header_of(self, section: Section) -> int:
        return self.header if section.title else 0

    def lines(self, count: int) -> int:
        return -(-count // self.columns)

    def section_of_row(self, row: int) -> int:
        return max(0, bisect.bisect_right(self.starts, row) - 1)

    def section_at(self, y: int) -> int:
        return max(0, bisect.bisect_right(self.tops, y) - 1)

    def cell_rect(self, row: int) -> QRect:
        """The cell of ``row`` in content coordinates (y from the top of the whole grid)."""
        i = self.section_of_row(row)
        s = self.sections[i]
        line, column = divmod(row - s.start, self.columns)
        y = self.tops[i] + self.header_of(s) + line * self.cell_h
        return QRect(column * self.cell_w, y, self.cell_w, self.cell_h)

    def row_at(self, x: int, y: int, *, clamp: bool = False) -> int:
        """The row whose cell holds (x, y) in content coordinates; -1 for a header or an empty
        spot. ``clamp``: the nearest row of that line instead (for keyboard moves)."""
        if not self.sections or y < 0 or y >= self.height:
            return -1
        i = self.section_at(y)
        s = self.sections[i]
        local_y = y - self.tops[i] - self.header_of(s)
        if local_y < 0:
            return -1
        column = min(max(0, x) // self.cell_w, self.columns - 1)
        if not clamp and x >= self.columns * self.cell_w:
            return -1
        local = (local_y // self.cell_h) * self.columns + column
        if local >= s.rows:
            return s.start + s.rows - 1 if clamp else -1
        return s.start + local
