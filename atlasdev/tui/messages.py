"""Cross-chain messages: lifecycle stage, source → destination, age.

Rows are added when messages appear and updated in place (stage, age) otherwise; Enter opens the
source block. Until the gateway runs, a message stops at "sealed" (sent in a sealed source block),
and the banner says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from ..engine.monitor import MessageSummary
from . import format as fmt
from .feed import Update
from .linetable import Column, LineTable

if TYPE_CHECKING:
    from .app import AtlasApp

STAGE_STYLE = {
    "sent": "yellow",
    "sealed": "cyan",
    "proven": "blue",
    "verified": "magenta",
    "imported": "bright_magenta",
    "delivered": "green",
    "executed": "green",
}
COLUMNS = (
    Column("stage", 9),
    Column("route", 17),
    Column("nonce", 5, "right"),
    Column("hash", 15),
    Column("from", 11),
    Column("to", 11),
    Column("value", 14, "right"),
    Column("block", 9, "right"),
    Column("age", 8, "right"),
)


class MessagesTable(LineTable):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select", "Open source block")]


class MessagesView(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._banner = ""
        self._messages: dict[bytes, MessageSummary] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="messages-banner", classes="banner")
        yield MessagesTable(COLUMNS, id="messages-table")

    def focus_target(self) -> Widget | None:
        return self.query_one("#messages-table")

    def apply(self, update: Update) -> None:
        if update.messages is None:
            return
        self._show_banner(update)
        names = {c.chain_id: c.name for c in update.chains}
        now = cast("AtlasApp", self.app).clock()
        self._messages = {m.hash: m for m in update.messages}
        # unchanged rows keep their rendering: in steady state only the age cells re-render
        self.query_one(MessagesTable).set_rows(
            (m.hash, self._cells(m, names, now)) for m in update.messages
        )

    def _show_banner(self, update: Update) -> None:
        if update.gateway is None:
            text = (
                "gateway not running: messages stay 'sealed' (sent in a sealed source block) "
                "until it routes them"
            )
        else:
            text = "gateway running: messages are delivered once their source block is verified"
        if not update.messages:
            text += "\nno messages yet — send one with: atlasdev msg send beta 1 --value 0.1eth"
        if text != self._banner:
            self._banner = text
            self.query_one("#messages-banner", Static).update(text)

    @staticmethod
    def _cells(m: MessageSummary, names: dict[int, str], now: float) -> tuple[str | Text, ...]:
        route = f"{names.get(m.src_chain, m.src_chain)} → {names.get(m.dst_chain, m.dst_chain)}"
        return (
            Text(m.stage, style=STAGE_STYLE.get(m.stage, "")),
            route,
            str(m.nonce),
            fmt.short(m.hash, 6),
            fmt.short_address(m.sender),
            fmt.short_address(m.to),
            fmt.eth_short(m.value),
            f"#{m.block_number:,}",
            fmt.age(now - m.sealed_at),
        )

    @on(LineTable.Selected, "#messages-table")
    def _open_source(self, event: LineTable.Selected) -> None:
        event.stop()
        m = self._messages.get(cast(bytes, event.key))
        if m is not None:
            cast("AtlasApp", self.app).open_block(m.src_chain, m.block_number)
