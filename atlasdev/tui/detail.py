"""Detail screens: a block with its transactions and receipts, a transaction, an address.

Each screen loads its record in a thread worker (Monitor reads hit SQLite) and renders it when the
`Loaded` message comes back; Escape returns to where the user was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from ..engine.monitor import AddressSummary, BlockDetail, TxDetail, TxSummary
from . import format as fmt

if TYPE_CHECKING:
    from .app import AtlasApp


class Loaded(Message, bubble=False):
    """A detail screen's worker read its record (None: not found)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def fields(rows: list[tuple[str, str | Text]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    return table


def status(tx: TxSummary) -> Text:
    return Text(fmt.status_text(tx.status, tx.reason), style="green" if tx.status == 1 else "red")


class DetailScreen(Screen[None]):
    """A screen over the views that loads one record off the UI thread.

    No Header here: Textual's Header sets its title after mounting, which fails when the user
    pops the screen first (escape pressed quickly); the title label does the job.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    @property
    def atlas(self) -> AtlasApp:
        return cast("AtlasApp", self.app)

    def action_back(self) -> None:
        self.dismiss()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        self.post_message(Loaded(self.read()))

    def read(self) -> Any:
        """Runs in a worker thread: the Monitor read this screen shows (each screen defines it)."""
        raise NotImplementedError(f"{type(self).__name__} must define read()")

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.show(message.value)

    def show(self, value: Any) -> None:
        """Render what read() returned (each screen defines it)."""
        raise NotImplementedError(f"{type(self).__name__} must define show()")


class TxsTable(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open transaction")]


class BlockScreen(DetailScreen):
    """A block's header and its transactions with their receipts."""

    def __init__(self, chain_id: int, number: int) -> None:
        super().__init__()
        self.chain_id = chain_id
        self.number = number
        self.detail: BlockDetail | None = None

    def compose(self) -> ComposeResult:
        name = self.atlas.chain_name(self.chain_id)
        yield Label(
            f"Block #{self.number:,} on {name} (id {self.chain_id})", classes="screen-title"
        )
        yield Static("loading…", id="block-fields", classes="fields")
        yield Label("Transactions and receipts", classes="section-title")
        table = TxsTable(id="block-txs", cursor_type="row", zebra_stripes=True)
        for label in ("#", "hash", "from", "to", "value", "status", "gas used", "gas price"):
            table.add_column(label)
        yield table
        yield Footer()

    def read(self) -> BlockDetail | None:
        return self.atlas.monitor.block(self.chain_id, self.number)

    def show(self, value: Any) -> None:
        detail = cast("BlockDetail | None", value)
        box = self.query_one("#block-fields", Static)
        if detail is None:
            box.update(Text(f"block {self.number} not found on this chain", style="red"))
            return
        self.detail = detail
        b = detail.block
        box.update(
            fields(
                [
                    ("hash", fmt.hex0x(b.hash)),
                    ("parent", fmt.hex0x(detail.parent_hash)),
                    ("time", fmt.date_time(b.timestamp, self.atlas.tz)),
                    ("transactions", fmt.count(b.tx_count)),
                    ("gas used", fmt.count(b.gas_used)),
                    ("base fee", f"{detail.base_fee:,} wei"),
                    ("state root", fmt.hex0x(b.state_root)),
                    ("tx commitment", fmt.hex0x(detail.tx_commitment)),
                    ("message root", fmt.hex0x(detail.message_root)),
                    ("interop root", fmt.hex0x(detail.interop_root)),
                    ("proof", b.proof_status),
                ]
            )
        )
        table = self.query_one("#block-txs", TxsTable)
        for tx in detail.txs:
            table.add_row(
                Text(str(tx.index), justify="right"),
                fmt.short(tx.hash, 8),
                fmt.short_address(tx.sender),
                fmt.short_address(tx.to),
                Text(fmt.eth_short(tx.value), justify="right"),
                status(tx),
                Text(fmt.count(tx.gas_used), justify="right"),
                Text(f"{tx.gas_price / 10**9:,.2f} gwei", justify="right"),
                key=tx.hash.hex(),
            )
        if detail.txs:
            table.focus()

    @on(DataTable.RowSelected, "#block-txs")
    def _open_tx(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.atlas.open_tx(self.chain_id, bytes.fromhex(str(event.row_key.value)))


class TxScreen(DetailScreen):
    """Everything the node knows about one transaction: the request, the receipt, its logs."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "open_block", "Its block"),
        Binding("c", "copy_hash", "Copy hash"),
    ]

    def __init__(self, chain_id: int, tx_hash: bytes) -> None:
        super().__init__()
        self.chain_id = chain_id
        self.tx_hash = tx_hash
        self.detail: TxDetail | None = None

    def compose(self) -> ComposeResult:
        name = self.atlas.chain_name(self.chain_id)
        yield Label(f"Transaction on {name} (id {self.chain_id})", classes="screen-title")
        with VerticalScroll(id="tx-scroll"):
            yield Static("loading…", id="tx-fields", classes="fields")
            yield Label("Logs", classes="section-title")
            yield Static("", id="tx-logs", classes="fields")
        yield Footer()

    def read(self) -> TxDetail | None:
        return self.atlas.monitor.tx(self.chain_id, self.tx_hash)

    def show(self, value: Any) -> None:
        detail = cast("TxDetail | None", value)
        box = self.query_one("#tx-fields", Static)
        if detail is None:
            box.update(Text(f"{fmt.hex0x(self.tx_hash)} not found on this chain", style="red"))
            return
        self.detail = detail
        t = detail.tx
        data = fmt.hex0x(t.data) if t.data else "—"
        if len(data) > 514:
            data = f"{data[:514]}… ({len(t.data):,} bytes)"
        box.update(
            fields(
                [
                    ("hash", fmt.hex0x(t.hash)),
                    ("status", status(t)),
                    ("block", f"#{t.block_number:,}, index {t.index}"),
                    ("from", fmt.address(t.sender)),
                    ("to", fmt.address(t.to)),
                    ("value", fmt.eth(t.value)),
                    ("nonce", str(t.nonce)),
                    ("gas used", f"{t.gas_used:,} of {detail.gas_limit:,}"),
                    ("gas price", f"{t.gas_price:,} wei (effective)"),
                    ("max fee", f"{detail.max_fee:,} wei"),
                    ("priority fee", f"{detail.priority_fee:,} wei"),
                    ("type", str(detail.tx_type)),
                    ("data", data),
                    ("message", "—" if t.message_hash is None else fmt.hex0x(t.message_hash)),
                ]
            )
        )
        logs = self.query_one("#tx-logs", Static)
        if not detail.logs:
            logs.update(Text("no logs", style="dim"))
            return
        rows: list[tuple[str, str | Text]] = []
        for i, lg in enumerate(detail.logs):
            rows.append((f"log {i}", fmt.address(lg.address)))
            rows += [(f"  topic {j}", fmt.hex0x(topic)) for j, topic in enumerate(lg.topics)]
            rows.append(("  data", fmt.hex0x(lg.data) if lg.data else "—"))
        logs.update(fields(rows))

    def action_open_block(self) -> None:
        if self.detail is not None:
            self.atlas.open_block(self.chain_id, self.detail.tx.block_number)

    def action_copy_hash(self) -> None:
        text = fmt.hex0x(self.tx_hash)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {text}", title="transaction hash")


class AddressScreen(DetailScreen):
    """An address's balance and nonce on every chain of the network."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "copy_address", "Copy address")]

    def __init__(self, address: bytes) -> None:
        super().__init__()
        self.address = address

    def compose(self) -> ComposeResult:
        yield Label(f"Address {fmt.address(self.address)}", classes="screen-title")
        yield Static("loading…", id="address-fields", classes="fields")
        table: DataTable[str | Text] = DataTable(id="address-balances", cursor_type="row")
        for label in ("chain", "id", "balance", "nonce"):
            table.add_column(label)
        yield table
        yield Footer()

    def read(self) -> AddressSummary:
        return self.atlas.monitor.address(self.address)

    def show(self, value: Any) -> None:
        info = cast("AddressSummary", value)
        who = "—" if info.dev_index is None else f"dev account #{info.dev_index}"
        self.query_one("#address-fields", Static).update(
            fields([("address", fmt.address(info.address)), ("account", who)])
        )
        table = self.query_one("#address-balances", DataTable)
        for bal in info.balances:
            table.add_row(
                bal.chain,
                str(bal.chain_id),
                Text(fmt.eth(bal.balance), justify="right"),
                Text(str(bal.nonce), justify="right"),
            )

    def action_copy_address(self) -> None:
        text = fmt.address(self.address)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {text}", title="address")
