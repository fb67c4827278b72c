"""Help (`?`): every key, per place, read from the bindings themselves so it never drifts."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

NAV_KEYS = [("↑ ↓ pgup pgdn", "move in a table or the log"), ("tab", "next table / field")]


def _keys(bindings: list[Binding]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for b in bindings:
        if not b.description:
            continue
        key = b.key_display or b.key
        if out and out[-1][1] == b.description:  # another key for the same action
            out[-1] = (f"{out[-1][0]}, {key}", b.description)
            continue
        out.append((key, b.description))
    return out


def sections() -> list[tuple[str, list[tuple[str, str]]]]:
    from .accounts import AccountsTable, AccountsView
    from .app import TITLES, AtlasApp
    from .blocks import BlocksTable
    from .detail import AddressScreen, DetailScreen, TxScreen, TxsTable
    from .feed import VIEWS
    from .log import LogFilter, LogView
    from .search import SearchScreen

    def bound(*classes: type) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for cls in classes:
            out += _keys([b for b in cls.BINDINGS if isinstance(b, Binding)])
        return out

    app_keys = bound(AtlasApp)
    views = [(app_keys[0][0], " · ".join(TITLES[v] for v in VIEWS))]
    return [
        ("Everywhere", views + [(k, d) for k, d in app_keys[1:] if not k.isdigit()]),
        ("Blocks", bound(BlocksTable)),
        ("Block", bound(TxsTable, DetailScreen)),
        ("Transaction", bound(TxScreen, DetailScreen)),
        ("Address", bound(AddressScreen, DetailScreen)),
        ("Accounts", bound(AccountsTable, AccountsView)),
        ("Log", bound(LogView, LogFilter)),
        ("Search", [("enter", "search / open the chosen match"), *bound(SearchScreen)]),
        ("Moving around", NAV_KEYS),
    ]


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, keys in sections():
        for i, (key, what) in enumerate(keys):
            table.add_row(Text(title if i == 0 else "", style="bold"), key, what)
        table.add_row("", "", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "keys"
            yield Static(help_table())

    def action_close(self) -> None:
        self.dismiss()
