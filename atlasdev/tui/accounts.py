"""Accounts: the dev accounts with their balance on every chain; keys copy an address or key."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from ..engine.accounts import DEV_DERIVATION_PATH, DEV_MNEMONIC
from ..engine.monitor import AccountRow
from . import format as fmt
from .feed import Update

if TYPE_CHECKING:
    from .app import AtlasApp


class AccountsTable(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open address")]


class AccountsView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_address", "Copy address"),
        Binding("k", "copy_key", "Copy private key"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: dict[int, AccountRow] = {}
        self._chains: list[str] = []

    def compose(self) -> ComposeResult:
        yield AccountsTable(id="accounts-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="account-key", classes="fields")
        yield Static(
            Text.assemble(
                ("mnemonic  ", "dim"),
                DEV_MNEMONIC,
                ("\npath      ", "dim"),
                DEV_DERIVATION_PATH,
                ("\npublic test keys: never use them outside a devnet", "dim"),
            ),
            id="mnemonic",
        )

    def focus_target(self) -> Widget | None:
        return self.query_one("#accounts-table")

    def apply(self, update: Update) -> None:
        if update.accounts is None:
            return
        table = self.query_one("#accounts-table", AccountsTable)
        if not self._chains and update.accounts:
            self._chains = [name for name, _ in update.accounts[0].balances]
            table.add_column("#", key="index")
            table.add_column("address", key="address")
            for name in self._chains:
                table.add_column(f"{name} balance", key=f"bal-{name}")
        for acct in update.accounts:
            old = self._rows.get(acct.index)
            self._rows[acct.index] = acct
            if old is None:
                table.add_row(
                    Text(str(acct.index), justify="right"),
                    fmt.address(acct.address),
                    *(Text(fmt.eth_short(wei), justify="right") for _, wei in acct.balances),
                    key=str(acct.index),
                )
                continue
            for (name, wei), (_, before) in zip(acct.balances, old.balances, strict=False):
                if wei != before:
                    table.update_cell(
                        str(acct.index), f"bal-{name}", Text(fmt.eth_short(wei), justify="right")
                    )
        self._show_key()

    def _current(self) -> AccountRow | None:
        table = self.query_one("#accounts-table", AccountsTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self._rows.get(int(str(row_key.value)))

    @on(DataTable.RowHighlighted, "#accounts-table")
    def _show_key(self) -> None:
        acct = self._current()
        if acct is None:
            return
        self.query_one("#account-key", Static).update(
            Text.assemble(
                (f"account #{acct.index}  ", "bold"),
                ("private key  ", "dim"),
                "0x" + acct.private_key.hex(),
            )
        )

    @on(DataTable.RowSelected, "#accounts-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        acct = self._rows.get(int(str(event.row_key.value)))
        if acct is not None:
            cast("AtlasApp", self.app).open_address(acct.address)

    def action_copy_address(self) -> None:
        acct = self._current()
        if acct is not None:
            text = fmt.address(acct.address)
            self.app.copy_to_clipboard(text)
            self.notify(f"copied {text}", title=f"address of account #{acct.index}")

    def action_copy_key(self) -> None:
        acct = self._current()
        if acct is not None:
            self.app.copy_to_clipboard("0x" + acct.private_key.hex())
            self.notify(
                f"copied the private key of {fmt.short_address(acct.address)}",
                title=f"private key of account #{acct.index}",
            )
