"""Keys typed faster than the screen refreshes land where the last one points."""

from __future__ import annotations

from textual.pilot import Pilot

from atlasdev.tui import make_app
from tests.tui.fake_monitor import TZ, FakeMonitor, clock
from tests.tui.helpers import run, wait_for


def test_fast_view_keys_end_on_the_last_view() -> None:
    """Each view change focuses its view after the next refresh; a stale focus request for a
    view the user already left used to pull its tab back (3, 4, 5 typed fast ended on 3)."""
    app = make_app(FakeMonitor(), clock=clock, tz=TZ)

    async def scenario(pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.updates >= 1, "a first refresh")
        for view in ("proofs", "messages", "charts"):  # what keys 3, 4, 5 do, back to back
            app.action_show(view)
        for _ in range(10):
            await pilot.pause(0.05)
        assert app.view == "charts"
        assert app.focused is app.charts

    run(app, scenario)
