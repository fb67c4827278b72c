"""Log: the node's log lines, newest at the bottom, filtered by what the Input holds."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, Log

from ..engine.monitor import LogLine
from . import format as fmt
from .feed import Update

if TYPE_CHECKING:
    from .app import AtlasApp

MAX_LINES = 2000


class LogFilter(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", "Leave filter")]

    def action_leave(self) -> None:
        self.screen.focus_next()


class LogView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f", "filter", "Filter")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._generation = 0

    def compose(self) -> ComposeResult:
        yield LogFilter(
            placeholder="filter: text in the level, logger or message (f to edit, escape to leave)",
            id="log-filter",
        )
        yield Log(id="log-lines", max_lines=MAX_LINES, auto_scroll=True)

    def focus_target(self) -> Widget | None:
        return self.query_one("#log-lines")

    def action_filter(self) -> None:
        self.query_one("#log-filter").focus()

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        app = cast("AtlasApp", self.app)
        app.set_log_filter(event.value)
        self._generation = app.demand.log_generation
        self.query_one("#log-lines", Log).clear()

    def apply(self, update: Update) -> None:
        chunk = update.log
        if chunk is None or chunk.generation != self._generation or not chunk.lines:
            return
        tz = cast("AtlasApp", self.app).tz
        self.query_one("#log-lines", Log).write_lines([self._line(ln, tz) for ln in chunk.lines])

    @staticmethod
    def _line(line: LogLine, tz: tzinfo | None) -> str:
        when = fmt.clock_time(line.created, tz)
        return f"{when}  {line.level:<7} {line.logger:<18} {line.message}"
