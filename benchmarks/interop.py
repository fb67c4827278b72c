"""Cross-chain message latency with the real CPU prover, and the gateway's verification rate.

    python benchmarks/interop.py [--route message|deposit|withdrawal] [--messages 3] [--out FILE]

One in-process node (the default profile: alpha and beta, 250 ms blocks, and the L1) with
`--prover cpu` and autorelay. Messages go from alpha to beta (`message`), from the L1 to alpha
(`deposit`) or from alpha to the L1 (`withdrawal`), one after another (each once the one before
has executed, so each latency is one message's, not a queue's); for each, the times from its
block being sealed to: its proof stored (not for a deposit: L1 blocks are final), the gateway's
verdict, the destination importing a root that holds it (for a withdrawal: a settlement), and
its execution there. The gateway's verification rate is 1 / mean verification
time over every real proof it verified. Empty blocks are not proven (docs/decisions.md), so the
prover works only on blocks with transactions or imports. Prints JSON and writes
benchmarks/results/interop.json (interop-deposit.json, interop-withdrawal.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import free_port_base, write_result

from atlasdev.cli import main as cli
from atlasdev.engine.gateway.messages import status
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base

RESULTS = Path(__file__).parent / "results" / "interop.json"


ROUTES = {
    "message": ["msg", "send", "beta", "0x" + "be" * 20, "--value", "1gwei", "--data", "0x1234"],
    "deposit": ["l1", "deposit", "alpha", "1gwei", "--to", "0x" + "be" * 20],
    "withdrawal": ["l1", "withdraw", "alpha", "1gwei", "--to", "0x" + "be" * 20],
}


def send(rpc: str, route: str) -> bytes:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli([*ROUTES[route], "--from", "5", "--rpc", rpc, "--json"])
    if code:
        raise RuntimeError(f"{route} failed")
    return bytes.fromhex(json.loads(out.getvalue())["messageHash"][2:])


def follow(node: Node, message: bytes, limit_s: float) -> dict[str, float]:
    """Seconds from the message's block being sealed to each later stage."""
    store = node.store
    assert store is not None
    seen: dict[str, float] = {}
    started = time.time()
    while time.time() - started < limit_s:
        found = status(store, message)
        now = time.time()
        for stage in ("proven", "verified", "imported", "executed"):
            order = ("sealed", "proven", "verified", "imported", "executed")
            if order.index(found.stage) >= order.index(stage) and stage not in seen:
                seen[stage] = now
        if found.stage == "executed":
            break
        time.sleep(0.2)
    m = found.message
    block = store.block(m.chain_id, m.block_number)
    assert block is not None
    sealed = block.sealed_at
    if m.chain_id == store.l1_chain_id():
        seen.pop("proven", None)  # an L1 block is final, never proven
    out = {f"to_{k}_s": round(v - sealed, 1) for k, v in seen.items()}
    if found.executed is not None:
        executed = store.block(m.dst_chain, found.executed.block_number)
        assert executed is not None
        out["to_executed_s"] = round(executed.sealed_at - sealed, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--route", choices=sorted(ROUTES), default="message")
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--limit-s", type=float, default=900.0, help="give up on one message after")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or (
        RESULTS if args.route == "message" else RESULTS.with_name(f"interop-{args.route}.json")
    )
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        profile = with_port_base(load_profile("default"), free_port_base(2))
        node = Node(profile, Path(tmp), prover="cpu")
        node.start()
        try:
            alpha = f"http://127.0.0.1:{profile.chains[0].rpc_port}"
            for i in range(args.messages):
                message = send(alpha, args.route)
                run = follow(node, message, args.limit_s)
                print(f"message {i + 1}: {json.dumps(run)}", file=sys.stderr)
                runs.append(run)
            assert node.store is not None
            rows = (
                node.store._conn()
                .execute(
                    "SELECT v.verify_ms FROM verifications v JOIN proofs p ON "
                    "p.chain_id=v.chain_id AND p.number=v.number WHERE p.status='proven'"
                )
                .fetchall()
            )
            verify_ms = [r[0] for r in rows]
        finally:
            node.stop()
    executed = sorted(r["to_executed_s"] for r in runs if "to_executed_s" in r)
    result = {
        "what": {
            "message": "alpha -> beta message",
            "deposit": "L1 -> alpha deposit",
            "withdrawal": "alpha -> L1 withdrawal",
        }[args.route]
        + " latency with the CPU prover; gateway verification rate",
        "route": args.route,
        "messages": runs,
        "seal_to_executed_s": {
            "p50": statistics.median(executed) if executed else None,
            "p99": executed[-1] if executed else None,  # with a handful of samples: the max
        },
        "gateway_verify_ms_mean": round(statistics.mean(verify_ms), 1) if verify_ms else None,
        "gateway_proofs_per_s": round(1000 / statistics.mean(verify_ms), 2) if verify_ms else None,
        "verified_real_proofs": len(verify_ms),
    }
    write_result(out, result)


if __name__ == "__main__":
    main()
