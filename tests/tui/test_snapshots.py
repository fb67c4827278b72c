"""Snapshot tests: every screen of the dashboard over the fixed FakeMonitor network.

Regenerate after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs under ``__snapshots__/`` before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from atlasdev.engine.monitor import GatewaySummary, ProofPipeline, ProofSummary
from atlasdev.tui import make_app
from atlasdev.tui.app import AtlasApp
from tests.tui.fake_monitor import DEV, NOW, TZ, FakeMonitor, clock, h
from tests.tui.helpers import SIZE, wait_for

Before = Callable[[Pilot], Awaitable[None]]


def app(monitor: FakeMonitor | None = None) -> AtlasApp:
    return make_app(monitor or FakeMonitor(), clock=clock, tz=TZ)


async def settled(pilot: Pilot) -> None:
    """The first refreshes rendered, no blinking cursor left to catch mid-blink."""
    atlas = pilot.app
    assert isinstance(atlas, AtlasApp)
    await wait_for(pilot, lambda: atlas.updates >= 2, "two refreshes")
    for widget in atlas.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def view(key: str, ready: Callable[[AtlasApp], object] = lambda _: True) -> Before:
    async def before(pilot: Pilot) -> None:
        atlas = pilot.app
        assert isinstance(atlas, AtlasApp)
        await pilot.press(key)
        await wait_for(pilot, lambda: ready(atlas) and atlas.updates >= 3, f"view {key}")
        await settled(pilot)

    return before


def rows(selector: str, count: int = 1) -> Callable[[AtlasApp], bool]:
    def ready(atlas: AtlasApp) -> bool:
        found = atlas.screen.query(selector)
        return bool(found) and cast(Any, found.first()).row_count >= count

    return ready


def detail(open_it: Callable[[AtlasApp], None], ready: Callable[[AtlasApp], object]) -> Before:
    async def before(pilot: Pilot) -> None:
        atlas = pilot.app
        assert isinstance(atlas, AtlasApp)
        await wait_for(pilot, lambda: atlas.updates >= 1, "a first refresh")
        open_it(atlas)
        await wait_for(pilot, lambda: ready(atlas), "the detail screen")
        await settled(pilot)

    return before


def compare(snap_compare: Any, atlas: AtlasApp, before: Before) -> None:
    assert snap_compare(atlas, terminal_size=SIZE, run_before=before)


def test_overview(snap_compare: Any) -> None:
    compare(snap_compare, app(), view("1", lambda a: a.query("#gateway-card")))


def test_blocks(snap_compare: Any) -> None:
    compare(snap_compare, app(), view("2", rows("#blocks-table-273", 26)))


def test_proofs_not_running(snap_compare: Any) -> None:
    compare(snap_compare, app(), view("3"))


def test_messages(snap_compare: Any) -> None:
    compare(snap_compare, app(), view("4", rows("#messages-table", 2)))


def test_charts(snap_compare: Any) -> None:
    compare(snap_compare, app(), view("5", lambda a: a.query("#tps-273")))


def test_accounts(snap_compare: Any) -> None:
    compare(snap_compare, app(), view("6", rows("#accounts-table", 10)))


def test_log(snap_compare: Any) -> None:
    compare(snap_compare, app(), view("7", lambda a: a.query_one("#log-lines").lines))


def test_log_filtered(snap_compare: Any) -> None:
    async def before(pilot: Pilot) -> None:
        await view("7", lambda a: a.query_one("#log-lines").lines)(pilot)
        await pilot.press("f", *"warn")
        atlas = pilot.app
        await wait_for(pilot, lambda: len(atlas.query_one("#log-lines").lines) == 1, "filter")
        await settled(pilot)

    compare(snap_compare, app(), before)


def test_block_screen(snap_compare: Any) -> None:
    compare(
        snap_compare,
        app(),
        detail(lambda a: a.open_block(271, 39), rows("#block-txs", 4)),
    )


def test_transaction_screen(snap_compare: Any) -> None:
    compare(
        snap_compare,
        app(),
        detail(
            lambda a: a.open_tx(271, h("tx", 271, 39, 2)),
            lambda a: a.screen.query("#tx-fields") and a.screen.detail is not None,
        ),
    )


def test_address_screen(snap_compare: Any) -> None:
    compare(
        snap_compare,
        app(),
        detail(lambda a: a.open_address(DEV[2].address), rows("#address-balances", 2)),
    )


def test_help(snap_compare: Any) -> None:
    async def before(pilot: Pilot) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    compare(snap_compare, app(), before)


def test_search_with_several_matches(snap_compare: Any) -> None:
    async def before(pilot: Pilot) -> None:
        await settled(pilot)
        await pilot.press("slash", "1", "2", "enter")
        atlas = pilot.app
        await wait_for(pilot, lambda: atlas.screen.query("OptionList").first().display, "hits")
        await settled(pilot)

    compare(snap_compare, app(), before)


RUNNING = FakeMonitor(
    gateway=GatewaySummary(
        verified_proofs=57,
        interop_root=h("interop"),
        last_settlement_block=30,
        last_settlement_at=NOW - 75.0,
    ),
    proofs=ProofPipeline(
        backend="gpu",
        proofs_per_s=1.25,
        jobs=tuple(
            ProofSummary(
                chain_id=271 if n % 2 else 273,
                block_number=40 - n,
                stage=stage,
                backend="gpu",
                cycles=None if stage == "queued" else 1_200_000 + 1_000 * n,
                trace_rows=None if stage == "queued" else 2**21,
                prove_ms=None if stage in ("queued", "proving") else 900.0 + n,
                size_bytes=None if stage in ("queued", "proving") else 180_000 + n,
                verify_ms=12.5 if stage == "verified" else None,
            )
            for n, stage in enumerate(
                ["queued", "queued", "proving", "proven", "verified", "verified", "failed"]
            )
        ),
    ),
)


@pytest.mark.parametrize("key", ["1", "3"], ids=["overview", "proofs"])
def test_prover_and_gateway_running(snap_compare: Any, key: str) -> None:
    """Once the prover and gateway report, the same views light up."""
    compare(snap_compare, app(RUNNING), view(key))
