"""Settlement to the L1: which batch the gateway settles next, and when a batch has landed.

A batch records every L2's verified head (block number and the state root its proof attests)
and the gateway's interop root at that moment (the empty history's root before any message).
The L1 imports the batch's root in its next block, the same header import every L2 uses, so a
withdrawal (a message to the L1) executes there against it exactly like a message between L2s;
the L1 block that carries the root is where the batch landed. One batch is in flight at a time,
and a batch is made only when some head moved since the last one, at most once per interval.
Pure: the gateway's thread (service.py) reads the store and hands the L1 the root.
"""

from __future__ import annotations

from ..store import SettledHead, SettlementRow


def due(last: SettlementRow | None, now: float, interval_s: float) -> bool:
    """Whether a new batch may be made: the last one landed at least ``interval_s`` ago."""
    return last is None or (last.l1_block is not None and now - last.created_at >= interval_s)


def next_batch(
    last: SettlementRow | None,
    heads: tuple[SettledHead, ...],
    root: bytes,
    history_count: int,
    now: float,
) -> SettlementRow | None:
    """The batch after ``last`` with these heads and root; None if nothing changed since."""
    if last is None:
        return SettlementRow(1, root, history_count, heads, now)
    if last.heads == heads and last.root == root:
        return None
    return SettlementRow(last.batch + 1, root, history_count, heads, now)


def lands(pending: SettlementRow | None, interop_root: bytes) -> bool:
    """Whether an L1 block that imported ``interop_root`` carries the pending batch."""
    return pending is not None and pending.l1_block is None and pending.root == interop_root
