"""Charts: TPS and inclusion latency over the last two minutes per chain, proving throughput.

The Monitor samples once a second (the feed calls `sample()`), so each sparkline is one point per
second, oldest on the left.
"""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Label, Sparkline, Static

from ..engine.monitor import ChainSummary
from . import format as fmt
from .feed import Update

PROVING_POINTS = 120


def _caption(title: str, values: list[float], unit: str) -> Text:
    now = values[-1] if values else 0.0
    peak = max(values) if values else 0.0
    return Text.assemble(
        (title, "bold"),
        (f"   now {now:,.1f} {unit}   max {peak:,.1f} {unit}   ", ""),
        (f"({len(values)} s)", "dim"),
    )


class ChainCharts(Vertical):
    def __init__(self, chain: ChainSummary) -> None:
        super().__init__(id=f"charts-{chain.chain_id}", classes="chain-charts")
        self.border_title = f"{chain.name} · id {chain.chain_id}"
        self.tps_label = Label("", classes="chart-caption")
        self.tps = Sparkline([], id=f"tps-{chain.chain_id}", classes="tps")
        self.latency_label = Label("", classes="chart-caption")
        self.latency = Sparkline([], id=f"latency-{chain.chain_id}", classes="latency")

    def compose(self) -> ComposeResult:
        yield self.tps_label
        yield self.tps
        yield self.latency_label
        yield self.latency

    def show(self, tps: list[float], latency: list[float]) -> None:
        self.tps_label.update(_caption("TPS", tps, "tx/s"))
        self.tps.data = tps
        self.latency_label.update(_caption("inclusion latency", latency, "ms"))
        self.latency.data = latency


class ChartsView(VerticalScroll):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._charts: dict[int, ChainCharts] = {}
        self._proving: deque[float] = deque(maxlen=PROVING_POINTS)
        self._proving_label = Label("", classes="chart-caption")
        self._proving_note = Static("", id="proving-note")
        self._proving_line = Sparkline([], id="proving-line")

    def compose(self) -> ComposeResult:
        with Vertical(id="proving-chart") as box:
            box.border_title = "proving throughput"
            yield self._proving_label
            yield self._proving_note
            yield self._proving_line

    def on_mount(self) -> None:
        self._proving_note.update(Text(fmt.NOT_RUNNING, style="italic yellow"))
        self._proving_line.display = False

    def focus_target(self) -> Widget | None:
        return self

    def apply(self, update: Update) -> None:
        new = []
        for c in update.chains:
            if c.chain_id not in self._charts:
                self._charts[c.chain_id] = ChainCharts(c)
                new.append(self._charts[c.chain_id])
        if new:
            self.mount_all(new, before="#proving-chart")
        if update.slow:
            self._show_proving(update)
        if update.series is None:
            return
        for chain_id, (tps, latency) in update.series.items():
            chart = self._charts.get(chain_id)
            if chart is not None:
                chart.show(tps, latency)

    def _show_proving(self, update: Update) -> None:
        running = update.proofs is not None
        if update.proofs is not None:
            self._proving.append(update.proofs.proofs_per_s)
            self._proving_line.data = list(self._proving)
            self._proving_label.update(_caption("proofs", list(self._proving), "/s"))
        self._proving_note.display = not running
        self._proving_line.display = running
        self._proving_label.display = running
