"""What the dashboard reads from the Monitor on each refresh, decided off the UI thread.

The app runs `Feed.poll` in one long-lived worker thread four times a second (once a second while
the sequencer is busy) and posts the resulting `Update` to the UI, which only renders it. The feed
asks only for what the visible view needs and remembers what it already delivered (the newest
block per chain, the log position), so the UI appends rows instead of rebuilding tables. Slow
reads (accounts, messages, gateway, proofs) and the Monitor's TPS/latency samples happen once a
second whatever the refresh rate, slow reads also at once when the view changes. No textual
here: the feed is plain Python.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engine.monitor import (
    AccountRow,
    BlockSummary,
    ChainSummary,
    GatewaySummary,
    LogLine,
    MessageSummary,
    NetworkSummary,
    ProofPipeline,
)

VIEWS = ("overview", "blocks", "proofs", "messages", "charts", "accounts", "log")
BLOCK_BATCH = 100  # newest blocks fetched at most per chain and refresh (what a table keeps)
SLOW_EVERY_S = 1.0  # seconds between two slow reads, and between two samples of the series


@dataclass(frozen=True)
class Demand:
    """What the UI shows now; the UI replaces it as a whole, the feed thread only reads it."""

    view: str = "overview"  # one of VIEWS, or "" while a detail screen covers the views
    log_filter: str = ""
    log_generation: int = 0  # bumped by the UI when the filter changes: the log view restarts


@dataclass(frozen=True)
class BlockBatch:
    chain_id: int
    blocks: list[BlockSummary]  # oldest first
    contiguous: bool  # False: blocks were skipped since the last batch (clear the table first)


@dataclass(frozen=True)
class LogChunk:
    generation: int
    lines: list[LogLine]


@dataclass(frozen=True)
class Update:
    """One refresh: fields are None when this refresh did not read them."""

    tick: int
    chains: list[ChainSummary]
    network: NetworkSummary | None = None
    blocks: list[BlockBatch] = field(default_factory=list)
    series: dict[int, tuple[list[float], list[float]]] | None = None
    accounts: list[AccountRow] | None = None
    messages: list[MessageSummary] | None = None
    gateway: GatewaySummary | None = None
    proofs: ProofPipeline | None = None
    slow: bool = False  # gateway and proofs were read (None in them then means "not running")
    log: LogChunk | None = None


class Feed:
    """Reads one `Update` per call; keep it to one thread (it remembers what it delivered)."""

    def __init__(self, monitor: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.monitor = monitor
        self.clock = clock
        self.tick = 0
        self._last_slow = -math.inf
        self._last_sample = -math.inf
        self._last_block: dict[int, int] = {}
        self._log_seen = 0
        self._log_generation = -1
        self._last_view = ""

    def poll(self, demand: Demand) -> Update:
        m = self.monitor
        view = demand.view
        now = self.clock()
        slow = now - self._last_slow >= SLOW_EVERY_S or view != self._last_view
        if slow:
            self._last_slow = now
        if now - self._last_sample >= SLOW_EVERY_S:
            self._last_sample = now
            m.sample()  # one point a second, whether or not the charts are shown
        chains = m.chains()
        update = Update(
            tick=self.tick,
            chains=chains,
            network=m.network() if self.tick == 0 else None,
            blocks=self._blocks(chains) if view == "blocks" else [],
            series={c.chain_id: m.series(c.chain_id) for c in chains}
            if view in ("charts", "overview") and slow
            else None,
            accounts=m.accounts() if view == "accounts" and slow else None,
            messages=m.messages() if view == "messages" and slow else None,
            gateway=m.gateway() if slow else None,
            proofs=m.proofs() if slow else None,
            slow=slow,
            log=self._log(demand) if view == "log" else None,
        )
        self._last_view = view
        self.tick += 1
        return update

    def _blocks(self, chains: list[ChainSummary]) -> list[BlockBatch]:
        out = []
        for c in chains:
            last = self._last_block.get(c.chain_id, -1)
            if c.height <= last:
                continue
            blocks = self.monitor.blocks_after(c.chain_id, last, BLOCK_BATCH)
            if not blocks:
                continue
            contiguous = last >= 0 and blocks[0].number == last + 1
            self._last_block[c.chain_id] = blocks[-1].number
            out.append(BlockBatch(c.chain_id, blocks, contiguous))
        return out

    def _log(self, demand: Demand) -> LogChunk:
        if demand.log_generation != self._log_generation:
            self._log_generation = demand.log_generation
            self._log_seen = 0
        self._log_seen, lines = self.monitor.log_since(self._log_seen, demand.log_filter)
        return LogChunk(demand.log_generation, lines)
