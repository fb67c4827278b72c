"""The scripting commands against a running node, the way a user scripts fixtures."""

import json

import pytest

from atlasdev.cli import main
from atlasdev.engine.accounts import dev_accounts

DEV = dev_accounts()


@pytest.fixture(scope="module")
def rpc(node) -> str:
    return f"http://127.0.0.1:{node.profile.chains[0].rpc_port}"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_status_and_accounts(capsys, rpc: str) -> None:
    status = run_json(capsys, "status", "--rpc", rpc)
    assert [c["name"] for c in status["chains"]] == ["alpha", "beta", "l1"]
    assert [c["l1"] for c in status["chains"]] == [False, False, True]
    accounts = run_json(capsys, "accounts", "--rpc", rpc)
    assert len(accounts["accounts"] if isinstance(accounts, dict) else accounts) == 10


def test_send_token_oracle_msg_and_reads(capsys, rpc: str) -> None:
    dead = "0x000000000000000000000000000000000000dEaD"
    sent = run_json(capsys, "send", dead, "0.5eth", "--from", "9", "--rpc", rpc)
    assert sent["status"] == "success"
    bal = run_json(capsys, "balance", dead, "--rpc", rpc)
    assert int(bal["wei"] if "wei" in bal else bal["balance"]) >= 5 * 10**17

    before = int(run_json(capsys, "token", "balance", dead, "--rpc", rpc)["amount"])
    moved = run_json(capsys, "token", "transfer", dead, "2eth", "--from", "9", "--rpc", rpc)
    assert moved["status"] == "success"
    after = int(run_json(capsys, "token", "balance", dead, "--rpc", rpc)["amount"])
    assert after == before + 2 * 10**18

    run_json(capsys, "oracle", "push", "BTC/USD", "65000", "--from", "8", "--rpc", rpc)
    assert run_json(capsys, "oracle", "get", "BTC/USD", "--rpc", rpc)["price"] == "65000"

    msg = run_json(
        capsys, "msg", "send", "beta", "2", "--data", "0xbeef", "--from", "8", "--rpc", rpc
    )
    assert msg["destChainId"] == 272 and msg["messageHash"].startswith("0x")

    tx = run_json(capsys, "tx", sent["hash"], "--rpc", rpc)
    assert json.dumps(tx).count(sent["hash"]) >= 1
    block = run_json(capsys, "block", str(sent["blockNumber"]), "--rpc", rpc)
    assert sent["hash"] in json.dumps(block)


def test_errors_are_one_line_and_nonzero(capsys, rpc: str) -> None:
    assert main(["balance", "0xzz", "--rpc", rpc]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert main(["send", "1", "1eth", "--from", "0", "--rpc", "http://127.0.0.1:9"]) == 1
    assert "atlasdev up" in capsys.readouterr().err
    poor = "0x" + "11" * 32
    assert main(["send", "1", "1eth", "--from", poor, "--rpc", rpc]) == 1
    err = capsys.readouterr().err.strip()
    assert "insufficient funds" in err and "\n" not in err


def test_msg_status_prove_and_relay(capsys, rpc: str) -> None:
    sent = run_json(capsys, "msg", "send", "beta", "3", "--value", "1gwei", "--rpc", rpc)
    message = sent["messageHash"]
    status = run_json(capsys, "msg", "status", message, "--rpc", rpc)
    assert (status["hash"], status["sourceChainId"], status["destinationChainId"]) == (
        message,
        271,
        272,
    )
    assert status["value"] == hex(10**9) and status["blockNumber"] == sent["blockNumber"]
    assert status["stage"] == "sealed" and "not proven" in status["waitingFor"]  # no prover here
    assert main(["msg", "prove", message, "--rpc", rpc]) == 1
    assert "has no proof yet" in capsys.readouterr().err
    assert main(["msg", "relay", message, "--rpc", rpc]) == 1
    assert "cannot be relayed yet: the prover has not proven" in capsys.readouterr().err
    assert main(["msg", "status", "0x" + "ab" * 32, "--rpc", rpc]) == 1
    assert "no message" in capsys.readouterr().err
    assert main(["msg", "status", "0x1234", "--rpc", rpc]) == 1
    assert "64 hex digits" in capsys.readouterr().err
