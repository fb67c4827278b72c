"""Live blocks: one table per chain, newest on top, streamed in by adding rows."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label

from ..engine.monitor import BlockSummary, ChainSummary
from . import format as fmt
from .feed import BLOCK_BATCH, BlockBatch, Update
from .linetable import Column, LineTable

if TYPE_CHECKING:
    from .app import AtlasApp

PROOF_STYLES = {"proven": "green", "verified": "bold green", "proving": "yellow", "failed": "red"}
MAX_ROWS = BLOCK_BATCH  # rows kept per chain (a screenful twice); older blocks: search
# Three streams (two L2s and the L1) fit a 140-column terminal: gas is in the block's detail.
L1_COLUMNS = (
    Column("#", 6, "right"),
    Column("time", 8),
    Column("txs", 4, "right"),
    Column("state root", 11),
)
COLUMNS = (*L1_COLUMNS, Column("proof", 10))  # an L1 block is final, never proven


class BlocksTable(LineTable):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select", "Open block")]


class ChainBlocks(Vertical):
    """One chain's stream of blocks. The cursor follows the newest block while it is on the top
    row; moved down, it stays on its block as new ones arrive."""

    def __init__(self, chain: ChainSummary) -> None:
        classes = "chain-blocks l1-blocks" if chain.l1 else "chain-blocks"
        super().__init__(id=f"blocks-{chain.chain_id}", classes=classes)
        self.chain_id = chain.chain_id
        self.l1 = chain.l1
        self.title = f"{chain.name} · id {chain.chain_id}" + (" · L1" if chain.l1 else "")
        columns = L1_COLUMNS if chain.l1 else COLUMNS
        self.table = BlocksTable(columns, id=f"blocks-table-{chain.chain_id}")

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="section-title")
        yield self.table

    def add_batch(self, batch: BlockBatch) -> None:
        if not batch.contiguous:
            self.table.clear()
        tz = cast("AtlasApp", self.app).tz
        width = len(self.table.columns)
        rows = ((b.number, _cells(b, tz)[:width]) for b in reversed(batch.blocks))
        self.table.prepend(rows, keep=MAX_ROWS)

    @on(LineTable.Selected)
    def _selected(self, event: LineTable.Selected) -> None:
        event.stop()
        cast("AtlasApp", self.app).open_block(self.chain_id, cast(int, event.key))


def _cells(b: BlockSummary, tz: tzinfo | None) -> tuple[str | Text, ...]:
    return (
        str(b.number),
        fmt.clock_time(b.timestamp, tz),
        fmt.count(b.tx_count),
        fmt.short(b.state_root, 4),
        Text(b.proof_status, style=PROOF_STYLES.get(b.proof_status, "dim")),
    )


class BlocksView(Horizontal):
    """The chains' block streams side by side; Tab moves between them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._chains: dict[int, ChainBlocks] = {}

    def focus_target(self) -> Widget | None:
        first = next(iter(self._chains.values()), None)
        return None if first is None else first.table

    def apply(self, update: Update) -> None:
        new = []
        for c in update.chains:
            if c.chain_id not in self._chains:
                self._chains[c.chain_id] = ChainBlocks(c)
                new.append(self._chains[c.chain_id])
        if new:
            self.mount_all(new)
            if cast("AtlasApp", self.app).view == "blocks" and self.screen.focused is None:
                self.call_after_refresh(new[0].table.focus)
        for batch in update.blocks:
            self._chains[batch.chain_id].add_batch(batch)
