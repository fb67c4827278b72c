"""What the dashboard costs the node: sequencer TPS, CPU share and refresh rate, with and without it.

    python benchmarks/tui.py [--count N] [--rounds R] [--idle-seconds S] [--refresh-hz HZ]

One in-process node (the default profile's two chains, temp data dir). Each load phase feeds N
pre-signed native transfers at full speed into alpha (as `atlasdev bench sequencer` does) and
measures the sealed TPS; R rounds run the three modes interleaved, in an order rotated every
round, and the medians are reported, also of each mode's TPS relative to the headless run of the
same round (the shared 2-core machine drifts by +-15 % between runs, and throughput falls a little
as the chain grows). The modes:

- ``headless``: no dashboard (what `atlasdev up --headless` runs);
- ``dashboard-overview`` / ``dashboard-blocks``: the dashboard runs in this process (Textual's
  headless driver, 160x48, the full render pipeline without a terminal) on that view; the blocks
  view streams both chains' tables, the most expensive view. Under load the dashboard throttles
  itself to one refresh a second (`BUSY_REFRESH_HZ`); idle it refreshes 4 times a second.

Then an idle phase of S seconds per mode measures the process CPU share with no load. For every
phase: the process CPU share (CPU seconds / wall seconds, so up to 2.0 on two cores), the UI
thread's CPU share (the dashboard's asyncio loop, from /proc), feed updates rendered per second
and screen paints per second. Prints JSON and writes benchmarks/results/tui.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import free_port_base, write_result
from textual.screen import Screen

from atlasdev.bench import _fund, _sign_workload
from atlasdev.engine.monitor import Monitor
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base
from atlasdev.tui import make_app

RESULTS = Path(__file__).parent / "results" / "tui.json"
ALPHA = 271
SIZE = (160, 48)
PAINTS = [0]

_paint = Screen._compositor_refresh


def _counting_paint(self: Screen, *args: Any, **kwargs: Any) -> Any:
    PAINTS[0] += 1
    return _paint(self, *args, **kwargs)


Screen._compositor_refresh = _counting_paint  # type: ignore[method-assign]


def thread_cpu(tid: int) -> float:
    """CPU seconds of one thread of this process (Linux /proc)."""
    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Window:
    """Wall time, process CPU and UI-thread CPU between start() and stop()."""

    def start(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.ui = thread_cpu(threading.main_thread().native_id or 0)
        self.paints = PAINTS[0]

    def stop(self, updates: int = 0) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        ui = thread_cpu(threading.main_thread().native_id or 0) - self.ui
        return {
            "seconds": round(wall, 2),
            "process_cpu_share": round((time.process_time() - self.cpu) / wall, 3),
            "ui_thread_cpu_share": round(ui / wall, 3),
            "updates_per_s": round(updates / wall, 2),
            "paints_per_s": round((PAINTS[0] - self.paints) / wall, 2),
        }


class Load:
    """N pre-signed transfers from funded fresh senders, submitted from a thread."""

    def __init__(self, node: Node, count: int) -> None:
        self.chain = node.chains[ALPHA]
        self.count = count
        self.raws, accounts = _sign_workload("transfer", count, ALPHA, 500)
        _fund(self.chain, accounts, "transfer")
        self.chain.mempool.max_per_sender = max(self.chain.mempool.max_per_sender, count)
        self.chain.mempool.max_total = max(self.chain.mempool.max_total, count)
        self.done = threading.Event()
        self.sealed = 0
        self.chain.listeners.append(self._on_block)

    def _on_block(self, block: Any, txs: list[Any]) -> None:
        self.sealed += len(txs)
        if self.sealed >= self.count:
            self.done.set()

    def start(self) -> None:
        self.started = time.perf_counter()
        threading.Thread(target=self._submit, daemon=True).start()

    def _submit(self) -> None:
        for raw in self.raws:
            self.chain.submit(raw)

    def tps(self) -> float:
        return round(self.count / (time.perf_counter() - self.started), 1)

    def close(self) -> None:
        self.chain.listeners.remove(self._on_block)


def headless_phase(node: Node, count: int) -> dict[str, Any]:
    load = Load(node, count)
    window = Window()
    window.start()
    load.start()
    load.done.wait(600)
    tps = load.tps()
    load.close()
    return {"sequencer_tps": tps, **window.stop()}


def dashboard_phase(
    monitor: Monitor, node: Node, count: int | None, view_key: str, idle: float, hz: float
) -> dict[str, Any]:
    """Run the dashboard on ``view_key``; with ``count`` feed the load, else stay idle."""
    load = Load(node, count) if count else None
    result: dict[str, Any] = {}

    async def main() -> None:
        app = make_app(monitor, refresh_hz=hz)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(view_key)
            while app.updates < 1:  # the view filled, then a moment to settle
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            window = Window()
            before = app.updates
            window.start()
            if load is not None:
                load.start()
                await asyncio.to_thread(load.done.wait)  # no polling: the loop sleeps as in use
                result["sequencer_tps"] = load.tps()
            else:
                await asyncio.sleep(idle)
            result.update(window.stop(app.updates - before))

    asyncio.run(main())
    if load is not None:
        load.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="transfers per load phase")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="length of idle phases")
    parser.add_argument("--rounds", type=int, default=3, help="load rounds per mode (median)")
    parser.add_argument(
        "--refresh-hz", type=float, default=4.0, help="dashboard refresh rate when idle"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    hz = args.refresh_hz

    with tempfile.TemporaryDirectory() as tmp:
        profile = with_port_base(load_profile("default"), free_port_base(2))
        node = Node(profile, Path(tmp))
        node.start()
        monitor = Monitor(node)
        try:
            modes = {"headless": None, "dashboard-overview": "1", "dashboard-blocks": "2"}
            runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
            order = list(modes)
            for r in range(args.rounds):  # interleaved and rotated: drift hits every mode alike
                for mode in order[r % 3 :] + order[: r % 3]:
                    key = modes[mode]
                    print(f"round {r + 1}: {mode}, {args.count} transfers", file=sys.stderr)
                    runs[mode].append(
                        headless_phase(node, args.count)
                        if key is None
                        else dashboard_phase(monitor, node, args.count, key, 0, hz)
                    )
            headless_tps = [r["sequencer_tps"] for r in runs["headless"]]
            load = {
                mode: {
                    "sequencer_tps_median": statistics.median(r["sequencer_tps"] for r in rs),
                    "tps_vs_headless_same_round_median": statistics.median(
                        r["sequencer_tps"] / h for r, h in zip(rs, headless_tps, strict=True)
                    ),
                    "ui_thread_cpu_share_median": statistics.median(
                        r["ui_thread_cpu_share"] for r in rs
                    ),
                    "updates_per_s_median": statistics.median(r["updates_per_s"] for r in rs),
                    "runs": rs,
                }
                for mode, rs in runs.items()
            }
            print("idle phases ...", file=sys.stderr)
            window = Window()
            window.start()
            time.sleep(args.idle_seconds)
            idle = {
                "headless": window.stop(),
                "dashboard-overview": dashboard_phase(
                    monitor, node, None, "1", args.idle_seconds, hz
                ),
                "dashboard-blocks": dashboard_phase(
                    monitor, node, None, "2", args.idle_seconds, hz
                ),
            }
        finally:
            monitor.close()
            node.stop()
    result = {
        "what": "sequencer TPS and CPU with the dashboard open (Textual headless driver) vs not",
        "transfers_per_phase": args.count,
        "rounds": args.rounds,
        "refresh_hz": hz,
        "under_load": load,
        "idle": idle,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
