"""Deposits and withdrawals through the model L1, end to end: ETH locked on the L1 is minted on
an L2 once the gateway has read the L1 block; ETH burnt on an L2 is minted on the L1 once the
L2 block is proven, verified and settled — and not before. The ETH supply summed over the L1
and the L2s (balances plus the fees every chain burns) is the same before and after.

Only the STARKs are stand-ins (tests/integration/standin.py); everything else is the real node.
"""

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlasdev.cli import main
from atlasdev.engine.accounts import dev_accounts
from atlasdev.engine.zkos.system import MESSENGER_ADDRESS
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base
from atlasdev.rpc_client import RpcClient
from tests.conftest import free_port_base
from tests.integration.standin import standin_network, wait_stage

ON_L2 = "0x00000000000000000000000000000000000d0e01"
ON_L1 = "0x00000000000000000000000000000000000d0e02"
ETH = 10**18


@pytest.fixture
def network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[tuple[Node, str, str]]:
    profile = with_port_base(load_profile("default"), free_port_base(2))
    fast_l1 = dataclasses.replace(profile.l1, block_time_ms=300)
    profile = dataclasses.replace(profile, l1=fast_l1, settle_interval_ms=request.param)
    with standin_network(profile, tmp_path, monkeypatch) as node:
        l1, alpha = (f"http://127.0.0.1:{c.rpc_port}" for c in (profile.l1, profile.chains[0]))
        yield node, l1, alpha


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main([*args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _eth_supply(node: Node) -> int:
    """ETH over every chain: the balances of every account that ever held any here (the dev
    accounts, the messenger and the recipients), plus the fees the chains burnt."""
    assert node.store is not None
    holders = [a.address for a in dev_accounts()]
    holders += [MESSENGER_ADDRESS, bytes.fromhex(ON_L2[2:]), bytes.fromhex(ON_L1[2:])]
    total = 0
    for chain in node.chains.values():
        with chain.lock:  # one consistent state per chain
            total += sum(chain.balance(a) for a in holders)
            head = chain.head.number
        for n in range(1, head + 1):
            total += sum(
                t.gas_used * t.gas_price for t in node.store.block_transactions(chain.chain_id, n)
            )
    return total


def _quiet(node: Node) -> None:
    """Wait until no chain has a transaction waiting (bounded, not timed)."""
    for _ in range(400):
        if all(len(c.mempool) == 0 for c in node.chains.values()):
            return
        time.sleep(0.05)
    raise AssertionError("transactions still pending")


@pytest.mark.parametrize("network", [200], indirect=True)
def test_deposit_and_withdrawal_round_trip_conserves_eth(
    network: tuple[Node, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    node, l1, alpha = network
    supply = _eth_supply(node)
    # deposit: 3 ETH locked on the L1, minted to ON_L2 on alpha
    sent = _cli(capsys, "l1", "deposit", "alpha", "3eth", "--to", ON_L2, "--from", "2", "--rpc", l1)
    assert sent["destChainId"] == 271
    deposit = wait_stage(alpha, sent["messageHash"], "executed")
    assert deposit["sourceChainId"] == 900 and deposit["executedIn"]["chainId"] == 271
    assert int(RpcClient(alpha).call("eth_getBalance", ON_L2, "latest"), 16) == 3 * ETH
    # withdrawal: 1 ETH burnt on alpha (dev account 2), minted to ON_L1 on the L1 once settled
    sent = _cli(
        capsys, "l1", "withdraw", "alpha", "1eth", "--to", ON_L1, "--from", "2", "--rpc", l1
    )
    assert sent["destChainId"] == 900
    withdrawal = wait_stage(l1, sent["messageHash"], "executed")
    assert withdrawal["executedIn"]["chainId"] == 900
    assert int(RpcClient(l1).call("eth_getBalance", ON_L1, "latest"), 16) == ETH
    settled = _cli(capsys, "l1", "settlement", "--rpc", alpha)
    if settled["l1Block"] is None:  # the latest batch waits for its L1 block: the one before
        settled = _cli(capsys, "l1", "settlement", str(settled["batch"] - 1), "--rpc", alpha)
    assert settled["l1Block"] is not None and settled["historyCount"] >= 2
    assert [c["chainId"] for c in settled["chains"]] == [271, 272]
    assert settled["chains"][0]["verifiedBlock"] >= withdrawal["blockNumber"]
    _quiet(node)
    assert _eth_supply(node) == supply


@pytest.mark.parametrize("network", [3_600_000], indirect=True)
def test_a_withdrawal_executes_only_after_settlement(
    network: tuple[Node, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    node, l1, alpha = network
    assert node.gateway is not None
    sent = _cli(
        capsys, "l1", "withdraw", "alpha", "1eth", "--to", ON_L1, "--from", "3", "--rpc", alpha
    )
    found = wait_stage(l1, sent["messageHash"], "verified")  # proven and verified, not settled
    assert "settled" in found["waitingFor"]
    time.sleep(1.0)  # L1 blocks go by; the root is not settled, so the message cannot execute
    assert RpcClient(l1).call("atlasdev_getMessage", sent["messageHash"])["stage"] == "verified"
    messenger = "0x" + MESSENGER_ADDRESS.hex()
    call = {"from": ON_L1, "to": messenger, "data": found["relay"]["data"]}
    with pytest.raises(Exception, match="not under an imported interop root"):
        RpcClient(l1).call("eth_estimateGas", call)  # the L1's STF refuses the proof
    assert main(["msg", "relay", sent["messageHash"], "--rpc", l1]) == 1
    assert "cannot be relayed yet" in capsys.readouterr().err
    assert int(RpcClient(l1).call("eth_getBalance", ON_L1, "latest"), 16) == 0
    node.gateway.settle_interval_s = 0.0  # the next batch settles now
    wait_stage(l1, sent["messageHash"], "executed")
    assert int(RpcClient(l1).call("eth_getBalance", ON_L1, "latest"), 16) == ETH
    assert _cli(capsys, "l1", "settlement", "--rpc", l1)["batch"] >= 2


@pytest.mark.parametrize("network", [200], indirect=True)
def test_bridge_commands_refuse_bad_input(
    network: tuple[Node, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, l1, _ = network
    assert main(["l1", "deposit", "l1", "1eth", "--rpc", l1]) == 1
    assert "is the L1: name an L2 (alpha, beta)" in capsys.readouterr().err
    assert main(["l1", "withdraw", "gamma", "1eth", "--rpc", l1]) == 1
    assert "no chain 'gamma'" in capsys.readouterr().err
    assert main(["l1", "deposit", "alpha", "0", "--rpc", l1]) == 1
    assert "AMOUNT must be more than 0" in capsys.readouterr().err
    assert main(["l1", "settlement", "99", "--rpc", l1]) == 1
    assert "no settlement batch 99" in capsys.readouterr().err
    assert main(["msg", "send", "l1", ON_L1, "--value", "1", "--rpc", l1, "--chain", "l1"]) == 1
    assert "source and destination are both l1" in capsys.readouterr().err
