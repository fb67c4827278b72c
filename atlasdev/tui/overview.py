"""Overview: one card per chain and one for the gateway, refreshed in place."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from ..engine.monitor import ChainSummary, GatewaySummary, ProofPipeline
from . import format as fmt
from .feed import Update

if TYPE_CHECKING:
    from .app import AtlasApp

NOT_RUNNING = Text(fmt.NOT_RUNNING, style="italic yellow")


LABEL_WIDTH = 17


def _lines(rows: list[tuple[str, str | Text]]) -> Text:
    """Label/value lines as one Text: a Rich Table would measure its columns on every
    refresh, which costs several times more at 4 refreshes a second."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    for i, (label, value) in enumerate(rows):
        if i:
            out.append("\n")
        out.append(label.ljust(LABEL_WIDTH), style="dim")
        out.append_text(value if isinstance(value, Text) else Text(value))
    return out


class Fields(Static):
    """Key/value rows that re-render only when their text changes."""

    def __init__(self) -> None:
        super().__init__("waiting for the node…", classes="fields")
        self.shown: tuple[tuple[str, str], ...] = ()

    def show_rows(self, rows: list[tuple[str, str | Text]]) -> None:
        key = tuple((label, str(value)) for label, value in rows)
        if key != self.shown:
            same_size = len(key) == len(self.shown)  # values fit one line: no new layout
            self.shown = key
            self.update(_lines(rows), layout=not same_size)


class Card(Vertical):
    """A bordered card of fields."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="card")
        self.border_title = title
        self.fields = Fields()

    def compose(self) -> ComposeResult:
        yield self.fields

    def show_rows(self, rows: list[tuple[str, str | Text]]) -> None:
        self.fields.show_rows(rows)


class ChainCard(Card):
    """A chain's card: its fields and its TPS over the last two minutes."""

    def __init__(self, chain: ChainSummary) -> None:
        super().__init__(_chain_title(chain), id=f"chain-card-{chain.chain_id}")
        self.caption = Static("", classes="card-caption")
        self.tps = Sparkline([], classes="card-tps")

    def compose(self) -> ComposeResult:
        yield self.fields
        yield self.caption
        yield self.tps

    def show_series(self, tps: list[float]) -> None:
        peak = max(tps, default=0.0)
        self.caption.update(
            Text(f"TPS, last {len(tps)} s (max {peak:,.1f})", style="dim"), layout=False
        )
        self.tps.data = tps


class OverviewView(Vertical):
    """The network at a glance: heights, throughput, latency and what proves and settles."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cards: dict[int, ChainCard] = {}
        self._gateway = Card("gateway", id="gateway-card")
        self._proofs: ProofPipeline | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="overview-error", classes="error")
        yield Grid(id="cards")

    def on_mount(self) -> None:
        self.query_one("#overview-error").display = False

    def focus_target(self) -> Widget | None:
        return None

    def show_error(self, error: str | None) -> None:
        banner = self.query_one("#overview-error", Static)
        banner.display = error is not None
        if error is not None:
            banner.update(f"cannot read the node: {error}")

    def apply(self, update: Update) -> None:
        if update.slow:
            self._proofs = update.proofs
        new = []
        for c in update.chains:
            card = self._cards.get(c.chain_id)
            if card is None:
                card = self._cards[c.chain_id] = ChainCard(c)
                new.append(card)
            card.show_rows(_chain_rows(c, self._proofs))
            if update.series is not None and c.chain_id in update.series:
                card.show_series(update.series[c.chain_id][0])
        if new:  # the chains of a network never change while it runs: this happens once
            self.query_one("#cards", Grid).mount_all([*new, self._gateway])
        if update.slow:
            self._gateway.show_rows(self._gateway_rows(update.gateway))

    def _gateway_rows(self, gw: GatewaySummary | None) -> list[tuple[str, str | Text]]:
        if gw is None:
            return [
                ("status", NOT_RUNNING),
                ("verified proofs", "—"),
                ("interop root", "—"),
                ("last settlement", "—"),
                ("until it runs", Text("blocks stay unproven,", style="dim")),
                ("", Text("messages undelivered", style="dim")),
            ]
        app = cast("AtlasApp", self.app)
        if gw.last_settlement_block is None:
            settled = "none yet"
        else:
            settled = f"L1 block {gw.last_settlement_block:,}"
            if gw.last_settlement_at is not None:
                settled += f", {fmt.age(app.clock() - gw.last_settlement_at)} ago"
        return [
            ("status", Text("running", style="green")),
            ("verified proofs", fmt.count(gw.verified_proofs)),
            ("interop root", "—" if gw.interop_root is None else fmt.short(gw.interop_root, 8)),
            ("last settlement", settled),
        ]


def _chain_title(c: ChainSummary) -> str:
    kind = "L1 (settlement)" if c.l1 else "private" if c.private else "public"
    return f"{c.name} · id {c.chain_id} · {kind}"


def _chain_rows(c: ChainSummary, proofs: ProofPipeline | None) -> list[tuple[str, str | Text]]:
    if c.l1:
        return [
            *_live_rows(c),
            ("blocks", "final when sealed"),
            ("proofs", Text("none (the L1)", style="dim")),
            ("role", "settlement layer"),
        ]
    verified: str | Text = NOT_RUNNING
    if c.verified_height is not None:
        verified = f"#{c.verified_height:,} ({c.height - c.verified_height:,} behind)"
    backend = c.prover_backend or (proofs.backend if proofs is not None else None)
    return [
        *_live_rows(c),
        ("verified", verified),
        ("prover", NOT_RUNNING if backend is None else backend),
        ("proof queue", NOT_RUNNING if c.proof_queue is None else f"{c.proof_queue:,} blocks"),
    ]


def _live_rows(c: ChainSummary) -> list[tuple[str, str | Text]]:
    return [
        ("height", Text(f"#{c.height:,}", style="bold")),
        ("TPS now", f"{fmt.rate(c.tps)} tx/s"),
        ("inclusion", "—" if c.latency_ms is None else f"{c.latency_ms:,.0f} ms (median)"),
        ("mempool", f"{c.mempool:,} txs"),
        ("block time", f"{c.block_time_ms} ms"),
        ("JSON-RPC", c.rpc_url),
    ]
