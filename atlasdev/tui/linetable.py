"""LineTable: a light read-only table for live data, built on Textual's line API.

Why not DataTable: any change to a DataTable (one added row) invalidates its render cache, and a
repaint renders every visible cell again through Rich, about 0.6 ms a cell on the project's 2-core
machine. Two block streams at 4 blocks a second then kept a core busy and cut the sequencer's TPS
by 8x (benchmarks/tui.py). Here each row is rendered once into a cached strip (rows of a live
stream never change, or change one at a time) and a repaint only composes cached strips.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text
GAP = "  "


@dataclass(frozen=True)
class Column:
    label: str
    width: int
    justify: Literal["left", "right"] = "left"


class LineTable(ScrollView, can_focus=True):
    """Rows keyed by any hashable; a fixed header line; a row cursor; Enter posts `Selected`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Open", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "to(0)", "First", show=False),
        Binding("end", "to(-1)", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-table--header",
        "line-table--cursor",
        "line-table--cursor-blurred",
    }

    cursor: reactive[int] = reactive(0, init=False)

    class Selected(Message):
        """Enter (or a click) on a row."""

        def __init__(self, table: LineTable, key: Hashable) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(
        self, columns: Sequence[Column], *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = tuple(columns)
        self._keys: list[Hashable] = []
        self._cells: dict[Hashable, tuple[Cell, ...]] = {}
        self._strips: dict[Hashable, Strip] = {}
        self._header: Strip | None = None
        self._base_style = Style()
        self._cursor_style = Style()

    # ---- data -----------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[Hashable]:
        return list(self._keys)

    @property
    def cursor_key(self) -> Hashable | None:
        return self._keys[self.cursor] if self._keys else None

    def row(self, key: Hashable) -> tuple[Cell, ...]:
        return self._cells[key]

    def row_text(self, key: Hashable) -> str:
        """The row as shown (plain text), for tests and copy."""
        return self._row_text(self._cells[key]).plain

    def prepend(
        self, rows: Iterable[tuple[Hashable, Sequence[Cell]]], keep: int | None = None
    ) -> None:
        """Add ``rows`` (in display order) above the others, then keep only the first ``keep``.
        The cursor stays on its row, except on the top row, where it follows the new top."""
        new = [(k, tuple(c)) for k, c in rows]
        if not new:
            return
        for key, cells in new:
            self._cells[key] = cells
        self._keys[:0] = [k for k, _ in new]
        if self.cursor > 0:
            self.set_reactive(LineTable.cursor, self.cursor + len(new))
        if keep is not None:
            self._drop_after(keep)
        self._keep_cursor_visible()
        self._changed()

    def trim(self, keep: int) -> None:
        """Drop rows beyond the first ``keep``."""
        self._drop_after(keep)
        self._changed()

    def _drop_after(self, keep: int) -> None:
        for key in self._keys[keep:]:
            self._cells.pop(key, None)
            self._strips.pop(key, None)
        del self._keys[keep:]
        self._clamp_cursor()

    def set_rows(self, rows: Iterable[tuple[Hashable, Sequence[Cell]]]) -> None:
        """Replace all rows; rows whose cells did not change keep their rendering."""
        cursor_key = self.cursor_key
        keys: list[Hashable] = []
        cells: dict[Hashable, tuple[Cell, ...]] = {}
        for key, row in rows:
            keys.append(key)
            cells[key] = tuple(row)
            if key in self._cells and _plain(self._cells[key]) != _plain(cells[key]):
                self._strips.pop(key, None)
        self._strips = {k: s for k, s in self._strips.items() if k in cells}
        self._keys, self._cells = keys, cells
        if cursor_key in cells:
            self.set_reactive(LineTable.cursor, keys.index(cursor_key))
        self._clamp_cursor()
        self._changed()

    def update_row(self, key: Hashable, cells: Sequence[Cell]) -> None:
        row = tuple(cells)
        if _plain(row) == _plain(self._cells[key]):
            return
        self._cells[key] = row
        self._strips.pop(key, None)
        self.refresh()

    def clear(self) -> None:
        self._keys.clear()
        self._cells.clear()
        self._strips.clear()
        self.set_reactive(LineTable.cursor, 0)
        self._changed()

    def move_to(self, key: Hashable) -> None:
        if key in self._cells:
            self.cursor = self._keys.index(key)

    # ---- cursor -----------------------------------------------------------------------------
    def _clamp_cursor(self) -> None:
        top = max(0, len(self._keys) - 1)
        if self.cursor > top:
            self.set_reactive(LineTable.cursor, top)

    def watch_cursor(self) -> None:
        self._keep_cursor_visible()
        self.refresh()

    def _keep_cursor_visible(self) -> None:
        rows_shown = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows_shown:
            self.scroll_to(y=self.cursor - rows_shown + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        if self._keys:
            self.cursor = min(max(0, self.cursor + step), len(self._keys) - 1)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 2))

    def action_to(self, index: int) -> None:
        if self._keys:
            self.cursor = index % len(self._keys)

    def action_select(self) -> None:
        if self._keys:
            self.post_message(self.Selected(self, self._keys[self.cursor]))

    def on_click(self, event: events.Click) -> None:
        index = round(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self._keys):
            if index == self.cursor:
                self.action_select()
            self.cursor = index

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # ---- rendering --------------------------------------------------------------------------
    def _changed(self) -> None:
        width = sum(c.width for c in self.columns) + len(GAP) * len(self.columns)
        size = Size(width, len(self._keys) + 1)
        if size != self.virtual_size:  # a new size means a new layout: only when it grows
            self.virtual_size = size
        self.refresh()

    def on_resize(self) -> None:
        self._strips.clear()
        self._header = None

    def _row_text(self, cells: Sequence[Cell]) -> Text:
        line = Text(no_wrap=True, end="")
        for column, cell in zip(self.columns, cells, strict=False):
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.truncate(column.width, overflow="ellipsis")
            pad = " " * (column.width - text.cell_len)
            line.append(GAP[:1])
            if column.justify == "right":
                line.append(pad)
                line.append_text(text)
            else:
                line.append_text(text)
                line.append(pad)
            line.append(GAP[1:])
        return line

    def _render(self, text: Text, style: Style) -> Strip:
        width = self.scrollable_content_region.width
        text.stylize(style)
        return Strip(text.render(self.app.console)).crop_extend(0, width, style)

    def render_lines(self, crop: Region) -> list[Strip]:
        # Widget.rich_style walks the ancestors: look it up once per paint, not once per line
        self._base_style = self.rich_style
        cursor = "line-table--cursor" if self.has_focus else "line-table--cursor-blurred"
        self._cursor_style = self.get_component_rich_style(cursor)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        base = self._base_style
        if y == 0:
            if self._header is None:
                labels = [Text(c.label) for c in self.columns]
                header = self.get_component_rich_style("line-table--header")
                self._header = self._render(self._row_text(labels), base + header)
            return self._header
        index = round(self.scroll_offset.y) + y - 1
        if index >= len(self._keys):
            return Strip.blank(self.scrollable_content_region.width, base)
        key = self._keys[index]
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._render(self._row_text(self._cells[key]), base)
        if index == self.cursor:  # on top of the row's own styles (apply_style goes under)
            strip = Strip(
                Segment.apply_style(strip, post_style=self._cursor_style), strip.cell_length
            )
        return strip


def _plain(cells: Sequence[Cell]) -> tuple[str, ...]:
    return tuple(c.plain if isinstance(c, Text) else str(c) for c in cells)
