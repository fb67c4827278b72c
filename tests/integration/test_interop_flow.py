"""A message from alpha to beta through the whole network: sealed, proven, verified by the
gateway, its root imported by beta, relayed (automatically, or with `atlasdev msg relay`) and
executed exactly once by beta's STF, which mints the value and logs MessageExecuted.

The STARKs are replaced here, and only them: a stand-in prover stores a proof record for every
sealed block and the gateway's proof check attests the sealed block's public values (the real
proofs and the real check are tested in tests/engine/airbender and tests/engine/gateway; an
empty block takes ~12 s to prove on two cores, a block with a message ~90 s). Everything else
is the real node: sequencers, gateway, interop history, root import, relayer, RPC, CLI.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlasdev.cli import main
from atlasdev.engine.accounts import dev_accounts
from atlasdev.engine.monitor import Monitor
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base
from atlasdev.rpc_client import RpcClient
from tests.conftest import free_port_base
from tests.integration.standin import standin_network, wait_stage

RECIPIENT = "0x00000000000000000000000000000000000beef1"


@pytest.fixture
def network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[tuple[Node, str, str]]:
    autorelay, tampered = request.param
    profile = with_port_base(load_profile("default"), free_port_base(2))
    with standin_network(profile, tmp_path, monkeypatch, tampered, autorelay=autorelay) as node:
        alpha, beta = (f"http://127.0.0.1:{c.rpc_port}" for c in profile.chains)
        yield node, alpha, beta


def _send(alpha: str, capsys: pytest.CaptureFixture[str]) -> str:
    import json

    code = main(["msg", "send", "beta", RECIPIENT, "--value", "7gwei", "--data", "0xc0ffee",
                 "--from", "2", "--rpc", alpha, "--json"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)["messageHash"]


def _balance(rpc: str) -> int:
    return int(RpcClient(rpc).call("eth_getBalance", RECIPIENT, "latest"), 16)


@pytest.mark.parametrize("network", [(True, False)], indirect=True)
def test_a_message_is_autorelayed_and_executes_once(
    network: tuple[Node, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    node, alpha, beta = network
    before = _balance(beta)
    message = _send(alpha, capsys)
    done = wait_stage(beta, message, "executed")
    assert _balance(beta) == before + 7 * 10**9
    where = done["executedIn"]
    assert where["chainId"] == 272
    logs = RpcClient(beta).call(
        "eth_getLogs",
        {"fromBlock": hex(where["blockNumber"]), "toBlock": hex(where["blockNumber"])},
    )
    executed = [entry for entry in logs if entry["topics"][3] == message]
    assert len(executed) == 1 and executed[0]["transactionHash"] == where["transactionHash"]
    receipt = RpcClient(beta).call("eth_getTransactionReceipt", where["transactionHash"])
    relayer = dev_accounts()[9].address
    assert receipt["status"] == "0x1" and receipt["from"].lower() == "0x" + relayer.hex()
    # relaying it again: the CLI refuses, and the STF would too (the proof is still valid)
    assert main(["msg", "relay", message, "--rpc", alpha]) == 1
    assert "already executed" in capsys.readouterr().err
    assert node.store is not None
    assert node.store.verified_head(271) >= done["blockNumber"]
    monitor = Monitor(node)  # the dashboard's messages view sees the whole lifecycle
    try:
        shown = {m.hash.hex(): m.stage for m in monitor.messages()}
    finally:
        monitor.close()
    assert shown[message[2:]] == "executed"


@pytest.mark.parametrize("network", [(False, False)], indirect=True)
def test_without_autorelay_the_user_relays(
    network: tuple[Node, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, alpha, beta = network
    before = _balance(beta)
    message = _send(alpha, capsys)
    found = wait_stage(alpha, message, "imported")
    assert "relay" in found and found["proof"]["interopRoot"].startswith("0x")
    time.sleep(1.0)  # nobody relays it meanwhile
    assert RpcClient(beta).call("atlasdev_getMessage", message)["stage"] == "imported"
    assert main(["msg", "relay", message, "--from", "4", "--rpc", alpha]) == 0
    capsys.readouterr()
    wait_stage(beta, message, "executed")
    assert _balance(beta) == before + 7 * 10**9
    assert main(["msg", "relay", message, "--rpc", alpha]) == 1
    assert "already executed" in capsys.readouterr().err


@pytest.mark.parametrize("network", [(True, True)], indirect=True)
def test_a_rejected_proof_stops_its_messages_for_good(
    network: tuple[Node, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    node, alpha, beta = network
    assert node.store is not None
    before = _balance(beta)
    message = _send(alpha, capsys)
    found = wait_stage(alpha, message, "proven")
    block = found["blockNumber"]
    for _ in range(600):  # the gateway's verdict on that block; bounded, not timed
        verdict = node.store.verification(271, block)
        if verdict is not None:
            break
        time.sleep(0.05)
    assert verdict is not None and verdict.status == "rejected"
    time.sleep(1.5)  # blocks keep coming; the verified head stays below the rejected block
    assert node.store.verified_head(271) == block - 1
    stuck = RpcClient(beta).call("atlasdev_getMessage", message)
    assert stuck["stage"] == "proven" and "rejected" in stuck["waitingFor"]
    assert node.store.latest_interop() is None  # nothing was ever provable
    assert _balance(beta) == before
    assert main(["msg", "relay", message, "--rpc", alpha]) == 1
    assert "cannot be relayed yet" in capsys.readouterr().err


def _token_call(rpc: str, data: bytes) -> int:
    from atlasdev.engine.zkos.system import STABLECOIN_ADDRESS

    to = "0x" + STABLECOIN_ADDRESS.hex()
    return int(RpcClient(rpc).call("eth_call", {"to": to, "data": "0x" + data.hex()}, "latest"), 16)


@pytest.mark.parametrize("network", [(True, False)], indirect=True)
def test_a_token_message_moves_aUSD_and_conserves_the_supply(
    network: tuple[Node, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from eth_abi import encode

    _, alpha, beta = network
    supply = bytes.fromhex("18160ddd")  # totalSupply()
    balance = bytes.fromhex("70a08231") + encode(["address"], [RECIPIENT])  # balanceOf
    supplies = _token_call(alpha, supply) + _token_call(beta, supply)
    held = _token_call(beta, balance)
    code = main(["msg", "send", "beta", RECIPIENT, "--token", "2eth", "--from", "2",
                 "--rpc", alpha, "--json"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    message = json.loads(out.out)["messageHash"]
    wait_stage(beta, message, "executed")
    assert _token_call(beta, balance) == held + 2 * 10**18
    assert _token_call(alpha, supply) + _token_call(beta, supply) == supplies
    assert main(["msg", "send", "beta", RECIPIENT, "--token", "1", "--value", "1",
                 "--rpc", alpha]) == 1  # fmt: skip
    assert "--token sends aUSD alone" in capsys.readouterr().err
