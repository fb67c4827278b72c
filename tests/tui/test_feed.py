"""The feed reads only what the visible view needs, and only what is new; the Monitor's reads
that make that possible (blocks_after, log_since, address) answer what the node holds."""

from __future__ import annotations

import logging
import time

from atlasdev.engine.accounts import dev_accounts
from atlasdev.tui.feed import Demand, Feed
from tests.tui.fake_monitor import CHAINS, FakeMonitor
from tests.tui.helpers import ALPHA, BETA, Live


def test_feed_reads_per_view_and_only_new_blocks() -> None:
    feed = Feed(FakeMonitor())
    first = feed.poll(Demand(view="blocks"))
    assert first.network is not None and first.slow
    assert first.accounts is None and first.messages is None and first.log is None
    heights = {cid: height for cid, (_, _, height, _) in CHAINS.items()}
    for batch in first.blocks:
        assert not batch.contiguous  # a new table starts clean
        assert [b.number for b in batch.blocks] == list(range(heights[batch.chain_id] + 1))
    again = feed.poll(Demand(view="blocks"))
    assert again.blocks == [] and again.network is None  # nothing new, nothing re-sent

    accounts = feed.poll(Demand(view="accounts"))  # a view change reads its slow data at once
    assert accounts.slow and accounts.accounts is not None and len(accounts.accounts) == 10
    assert accounts.blocks == [] and accounts.series is None


def test_feed_restarts_the_log_when_the_filter_changes() -> None:
    feed = Feed(FakeMonitor())
    all_lines = feed.poll(Demand(view="log")).log
    assert all_lines is not None and len(all_lines.lines) == 5
    assert feed.poll(Demand(view="log")).log.lines == []  # type: ignore[union-attr]
    warned = feed.poll(Demand(view="log", log_filter="warn", log_generation=1)).log
    assert warned is not None and warned.generation == 1
    assert [ln.level for ln in warned.lines] == ["WARNING"]


def test_feed_samples_and_reads_slow_data_once_a_second() -> None:
    monitor = FakeMonitor()
    now = [0.0]
    feed = Feed(monitor, clock=lambda: now[0])
    slow = []
    for _ in range(8):  # two seconds at 4 refreshes a second
        slow.append(feed.poll(Demand(view="messages")).slow)
        now[0] += 0.25
    assert monitor.samples == 2
    assert slow == [True, False, False, False, True, False, False, False]
    now[0] += 10.0  # a busy node: one refresh a second still samples every time
    feed.poll(Demand(view="messages"))
    assert monitor.samples == 3


def test_monitor_blocks_after_and_address(live: Live) -> None:
    m = live.monitor
    chain = live.node.chains[ALPHA]
    for _ in range(400):  # a few blocks past genesis (bounded, not timed)
        if chain.head.number >= 6:
            break
        time.sleep(0.05)
    head = chain.head.number
    after = m.blocks_after(ALPHA, head - 5)
    assert [b.number for b in after][:5] == list(range(head - 4, head + 1))
    newest = m.blocks_after(ALPHA, -1, limit=3)
    assert len(newest) == 3 and newest[-1].number >= head
    assert m.blocks_after(ALPHA, 10**9) == []

    dev = dev_accounts()[1]
    info = m.address(dev.address)
    assert info.dev_index == 1
    assert [(b.chain_id, b.chain) for b in info.balances] == [
        (ALPHA, "alpha"),
        (BETA, "beta"),
        (900, "l1"),
    ]
    assert info.balances[1].balance == 10_000 * 10**18 and info.balances[1].nonce == 0
    assert m.address(bytes(20)).dev_index is None


def test_monitor_log_since_returns_only_new_lines(live: Live) -> None:
    m = live.monitor
    seen, _ = m.log_since(0)
    logging.getLogger("atlasdev.test").info("dashboard feed probe %d", 1)
    logging.getLogger("atlasdev.test").info("something else")
    seen2, lines = m.log_since(seen, "probe")
    assert seen2 == seen + 2
    assert [ln.message for ln in lines] == ["dashboard feed probe 1"]
    assert m.log_since(seen2) == (seen2, [])
