"""Proofs: the pipeline from queued to verified, per stage, and the recent jobs.

The prover is not part of the node yet: `Monitor.proofs()` answers None and the view says "not
running", with the columns already in place. Once it answers a `ProofPipeline`, the same view
shows the counts and the jobs (backend, cycles, trace rows, prove time, size, verify time).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Label, Static

from ..engine.monitor import ProofPipeline
from . import format as fmt
from .feed import Update

STAGES = ("queued", "proving", "proven", "verified", "failed")
JOB_ROWS = 100


def _opt(value: float | None, unit: str = "", digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


class StageColumn(Static):
    """One stage of the pipeline: how many blocks are in it."""

    def __init__(self, stage: str) -> None:
        super().__init__("—", id=f"stage-{stage}", classes=f"stage stage-{stage}")
        self.border_title = stage
        self._shown = ""

    def show(self, text: str) -> None:
        if text != self._shown:
            self._shown = text
            self.update(text)


class ProofsView(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state: object = ()  # what is shown, to skip identical refreshes

    def compose(self) -> ComposeResult:
        yield Static("", id="proofs-banner", classes="banner")
        with Horizontal(id="stages"):
            for stage in STAGES:
                yield StageColumn(stage)
        yield Label("Recent proof jobs", classes="section-title")
        table: DataTable[str | Text] = DataTable(id="proof-jobs", cursor_type="row")
        for label in (
            "chain",
            "block",
            "stage",
            "backend",
            "cycles",
            "trace rows",
            "prove",
            "size",
            "verify",
        ):
            table.add_column(label)
        yield table

    def on_mount(self) -> None:
        self._show(None)

    def focus_target(self) -> Widget | None:
        return self.query_one("#proof-jobs")

    def apply(self, update: Update) -> None:
        if update.slow:
            self._show(update.proofs, {c.chain_id: c.name for c in update.chains})

    def _show(self, pipeline: ProofPipeline | None, names: dict[int, str] | None = None) -> None:
        if pipeline == self._state:
            return
        self._state = pipeline
        banner = self.query_one("#proofs-banner", Static)
        table = self.query_one("#proof-jobs", DataTable)
        if pipeline is None:
            banner.update(
                Text.assemble(
                    ("prover not running", "bold yellow"),
                    " — blocks stay 'not proven'; start the node with `atlasdev up --prover cpu`",
                )
            )
            for stage in STAGES:
                self.query_one(f"#stage-{stage}", StageColumn).show(fmt.NOT_RUNNING)
            table.clear()
            return
        banner.update(
            Text.assemble(
                ("prover running", "bold green"),
                f" · backend {pipeline.backend} · {pipeline.proofs_per_s:,.2f} proofs/s",
            )
        )
        counts = dict.fromkeys(STAGES, 0)
        for job in pipeline.jobs:
            counts[job.stage] = counts.get(job.stage, 0) + 1
        for stage in STAGES:
            self.query_one(f"#stage-{stage}", StageColumn).show(f"{counts[stage]:,} blocks")
        table.clear()
        names = names or {}
        for job in pipeline.jobs[:JOB_ROWS]:
            table.add_row(
                names.get(job.chain_id, str(job.chain_id)),
                Text(f"#{job.block_number:,}", justify="right"),
                Text(job.stage, style="red" if job.stage == "failed" else ""),
                job.backend.upper(),
                Text(_opt(job.cycles), justify="right"),
                Text(_opt(job.trace_rows), justify="right"),
                Text(_opt(job.prove_ms, " ms"), justify="right"),
                Text(_opt(job.size_bytes and job.size_bytes / 1024, " KiB", 1), justify="right"),
                Text(_opt(job.verify_ms, " ms", 1), justify="right"),
            )
