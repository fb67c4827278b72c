"""Driving the dashboard in tests: run a scenario under the pilot, read the screen as text."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from textual.pilot import Pilot

from atlasdev.engine.monitor import Monitor
from atlasdev.tui.app import AtlasApp

SIZE = (140, 45)
ALPHA, BETA = 271, 272


@dataclass
class Live:
    """The module's real node (see conftest) and the hashes of its fixture transactions."""

    node: Any
    monitor: Monitor
    transfer: bytes  # a successful 1 ETH transfer on alpha
    failed: bytes  # a stablecoin transfer beyond the balance (status 0)
    message: bytes  # sendMessage alpha -> beta


def run(app: AtlasApp, scenario: Callable[[Pilot], Awaitable[None]]) -> None:
    """Run ``scenario`` against ``app`` at the fixed test size (no pytest-asyncio needed)."""

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await scenario(pilot)

    asyncio.run(main())


def screen_text(app: AtlasApp) -> str:
    """What the terminal shows now, as plain text (the same render as a screenshot)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)


async def wait_for(
    pilot: Pilot, predicate: Callable[[], object], what: str, tries: int = 400
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``tries`` short pauses."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def wait_for_text(pilot: Pilot, *needles: str, tries: int = 400) -> str:
    """Wait until every needle is on screen; return the screen text."""
    app = pilot.app
    assert isinstance(app, AtlasApp)
    text = ""
    for _ in range(tries):
        text = screen_text(app)
        if all(n in text for n in needles):
            return text
        await pilot.pause(0.05)
    missing = [n for n in needles if n not in text]
    raise AssertionError(f"not on screen: {missing}\n{text}")
