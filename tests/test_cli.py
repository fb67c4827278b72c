"""Tests for the atlasdev CLI that need no running node.

The scripting commands are exercised against a small fake JSON-RPC node (two chains, each an
http.server on a free port) that records what it was sent; the real node is covered by the
integration tests.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak
from typer.testing import CliRunner

from atlasdev.cli import app, main, node_cmds
from atlasdev.cli._tx import MESSENGER_ADDRESS, ORACLE_ADDRESS, STABLECOIN_ADDRESS
from atlasdev.cli.inputs import feed_id, feed_label, hex_bytes, parse_signer
from atlasdev.engine.accounts import dev_accounts
from atlasdev.engine.transactions import decode_raw_transaction
from atlasdev.rpc_client import NodeUnreachable, RpcClient, RpcError
from tests.conftest import free_port_base

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
ACCOUNTS = dev_accounts(10)


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), input=input, env=env)


def closed_port() -> int:
    """A port nothing listens on (and, below the ephemeral range, nothing takes meanwhile)."""
    return free_port_base(0)


def assert_one_line_error(result: Any, *needles: str) -> None:
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


# ---- the command tree -----------------------------------------------------------------------------


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


def leaf_commands() -> list[tuple[tuple[str, ...], Any]]:
    return [(p, c) for p, c in walk(typer.main.get_command(app)) if not hasattr(c, "commands")]


EXPECTED = {
    ("up",),
    ("status",),
    ("accounts",),
    ("balance",),
    ("send",),
    ("token", "balance"),
    ("token", "transfer"),
    ("token", "mint"),
    ("oracle", "push"),
    ("oracle", "get"),
    ("msg", "send"),
    ("msg", "status"),
    ("msg", "prove"),
    ("msg", "relay"),
    ("l1", "deposit"),
    ("l1", "withdraw"),
    ("l1", "settlement"),
    ("doctor",),
    ("bench", "prover"),
    ("bench", "kernels"),
    ("prividium", "token"),
    ("block",),
    ("tx",),
    ("reset",),
    ("profiles",),
    ("bench", "sequencer"),
    ("zkos", "build"),
    ("zkos", "run"),
    ("proof", "show"),
    ("proof", "export"),
    ("proof", "verify"),
}


def test_command_tree_is_complete() -> None:
    assert {p for p, _ in leaf_commands()} == EXPECTED


@pytest.mark.parametrize(
    "path",
    sorted(
        {(), ("token",), ("oracle",), ("msg",), ("l1",), ("prividium",), ("bench",), ("zkos",)}
        | {("proof",)}
        | EXPECTED
    ),
)
def test_help_works_for_every_command(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


def test_every_command_documents_itself_and_every_option() -> None:
    for path, command in walk(typer.main.get_command(app)):
        assert command.help, f"{path}: no help text"
        if not hasattr(command, "commands"):
            assert "Example: atlasdev " in command.help, f"{path}: docstring without an example"
            names = {opt for p in command.params for opt in getattr(p, "opts", [])}
            assert "--json" in names, f"{path}: no --json"
        for param in command.params:
            assert getattr(param, "help", None), f"{path}: {param.name} has no help text"


def test_import_is_lazy() -> None:
    code = (
        "import sys, atlasdev.cli; "
        "heavy = [m for m in ('numba', 'numpy', 'eth_account', 'atlasdev.node') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)
    assert main(["send", "1", "nonsense"]) == 1
    assert main(["no-such-command"]) == 2


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("atlasdev ")


# ---- local commands -------------------------------------------------------------------------------


def test_profiles() -> None:
    result = invoke("profiles")
    assert result.exit_code == 0
    assert "default" in result.stdout and "alpha" in result.stdout and "id 271" in result.stdout
    data = json.loads(invoke("profiles", "--json").stdout)
    by_name = {p["name"]: p for p in data}
    assert {"default", "solo", "prividium"} <= set(by_name)
    assert [c["name"] for c in by_name["default"]["chains"]] == ["alpha", "beta", "l1"]
    assert [c["l1"] for c in by_name["default"]["chains"]] == [False, False, True]
    assert any(c["private"] for c in by_name["prividium"]["chains"])
    assert "l1     id 900  port 8544  2000 ms blocks  L1" in result.stdout


def test_doctor_reports_the_machine_and_the_gpu_or_why_there_is_none() -> None:
    from atlasdev.engine.airbender.device import probe

    result = invoke("doctor", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cpuCores"] >= 1
    found = probe()
    auto = "cpu" if found.gpu is None else "gpu"
    assert data["proverBackends"]["auto"] == auto
    if found.gpu is None:
        assert data["gpu"] is None and data["gpuReason"] == found.reason
    else:
        assert data["gpu"]["name"] == found.gpu.name and data["gpuReason"] is None
        assert data["proverBackends"]["gpu"].startswith("available, segments of 2^")
    text = invoke("doctor").stdout
    assert "gpu       " in text and f"--prover auto: {auto}" in text


def test_doctor_names_the_gpu_its_cuda_and_the_kernel_compiler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from atlasdev.engine.airbender import device

    card = device.Gpu("NVIDIA RTX 4070", 8 << 30, "8.9", "12.4", "12.8", "14.2.0", "12.9")
    monkeypatch.setattr(device, "probe", lambda: device.Probe(card, ""))
    text = invoke("doctor").stdout
    assert (
        "gpu       NVIDIA RTX 4070, 8.0 GiB, compute 8.9, CUDA 12.4 (driver 12.8), CuPy 14.2.0, "
        "NVRTC 12.9"
    ) in text
    assert "--prover gpu: available, segments of 2^19 rows; --prover auto: gpu" in text
    assert json.loads(invoke("doctor", "--json").stdout)["gpu"]["nvrtc"] == "12.9"


def make_db(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / n for n in ("atlasdev.db", "atlasdev.db-wal", "atlasdev.db-shm")]
    for f in files:
        f.write_bytes(b"x")
    return files


def test_reset_with_yes(tmp_path: Path) -> None:
    files = make_db(tmp_path)
    (tmp_path / "keep.txt").write_text("not ours")
    result = invoke("reset", "--data-dir", str(tmp_path), "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["deleted"]) == sorted(map(str, files))
    assert not any(f.exists() for f in files)
    assert (tmp_path / "keep.txt").exists()


def test_reset_asks_first(tmp_path: Path) -> None:
    files = make_db(tmp_path)
    result = invoke("reset", "--data-dir", str(tmp_path), input="n\n")
    assert result.exit_code == 1
    assert all(f.exists() for f in files)
    result = invoke("reset", "--data-dir", str(tmp_path), input="y\n")
    assert result.exit_code == 0, result.output
    assert not any(f.exists() for f in files)


def test_reset_nothing_to_do(tmp_path: Path) -> None:
    result = invoke("reset", "--data-dir", str(tmp_path / "missing"), "--yes")
    assert result.exit_code == 0
    assert "nothing to reset" in result.stdout


def test_reset_refuses_while_a_node_runs(tmp_path: Path) -> None:
    files = make_db(tmp_path)
    fd = os.open(tmp_path / "node.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = invoke("reset", "--data-dir", str(tmp_path), "--yes")
    finally:
        os.close(fd)
    assert_one_line_error(result, "a node is running", str(tmp_path))
    assert all(f.exists() for f in files)


def test_reset_bad_profile() -> None:
    assert_one_line_error(invoke("reset", "--profile", "nope", "--yes"), "unknown profile")


def test_up_bad_profile_and_port_base() -> None:
    assert_one_line_error(invoke("up", "--profile", "nope"), "unknown profile")
    assert_one_line_error(invoke("up", "--port-base", "65535"), "port base")


def test_block_log_rate_limits_empty_blocks() -> None:
    now = [100.0]
    lines: list[str] = []
    log = node_cmds.BlockLog(clock=lambda: now[0], echo=lines.append)
    chain = SimpleNamespace(config=SimpleNamespace(name="alpha"))

    def block(number: int, txs: int) -> SimpleNamespace:
        return SimpleNamespace(
            chain_id=271,
            number=number,
            hash=bytes(32),
            tx_count=txs,
            gas_used=21000 * txs,
            state_root=bytes.fromhex("ab12") + bytes(30),
        )

    log(chain, block(1, 0), [])
    log(chain, block(2, 0), [])  # empty, within 5 s: skipped
    log(chain, block(3, 3), [])  # never skipped
    now[0] += 5
    log(chain, block(4, 0), [])
    assert lines == [
        "[alpha] #1  0 txs  gas 0  root 0xab12…",
        "[alpha] #3  3 txs  gas 63000  root 0xab12…",
        "[alpha] #4  0 txs  gas 0  root 0xab12…",
    ]
    json_lines: list[str] = []
    node_cmds.BlockLog(json_out=True, echo=json_lines.append)(chain, block(5, 0), [])
    assert json.loads(json_lines[0])["number"] == 5


def test_block_log_never_raises() -> None:
    def broken(_: str) -> None:
        raise BrokenPipeError

    chain = SimpleNamespace(config=SimpleNamespace(name="alpha"))
    node_cmds.BlockLog(echo=broken)(chain, object(), [])  # bad block and bad output: no raise


# ---- agreement with the engine (the CLI repeats a few constants to stay light) ---------------------


def test_system_addresses_match_the_engine() -> None:
    from atlasdev.engine.zkos import system

    assert bytes.fromhex(STABLECOIN_ADDRESS[2:]) == system.STABLECOIN_ADDRESS
    assert bytes.fromhex(ORACLE_ADDRESS[2:]) == system.ORACLE_ADDRESS
    assert bytes.fromhex(MESSENGER_ADDRESS[2:]) == system.MESSENGER_ADDRESS


def test_storage_names_match_the_node() -> None:
    from atlasdev.engine import store

    assert store.DB_NAME == node_cmds.DB_NAME
    node = pytest.importorskip("atlasdev.node")
    assert node.default_data_dir("solo") == node_cmds.default_data_dir("solo")


# ---- inputs ---------------------------------------------------------------------------------------


def test_inputs() -> None:
    assert feed_id("ETH/USD") == b"ETH/USD".ljust(32, b"\0")
    assert feed_label(feed_id("ETH/USD")) == "ETH/USD"
    assert feed_id("0x" + "ab" * 32) == bytes([0xAB]) * 32
    assert feed_label(bytes([0xAB]) * 32) == "0x" + "ab" * 32
    assert hex_bytes("0xdeadBEEF") == bytes.fromhex("deadbeef")
    assert hex_bytes("") == b""
    assert parse_signer("1").address == ACCOUNTS[1].checksum_address
    assert parse_signer(ACCOUNTS[2].checksum_address.lower()).key == ACCOUNTS[2].private_key
    assert parse_signer(ACCOUNTS[3].private_key_hex).address == ACCOUNTS[3].checksum_address


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("send", "1", "1.2.3eth"), "invalid amount"),
        (("send", "1", "1 furlong"), "invalid amount"),
        (("send", "1", "1wei", "--data", "0xabc"), "invalid --data"),
        (("send", "12", "1eth"), "dev accounts are 0..9"),
        (("send", "bob", "1eth"), "invalid TO"),
        (("send", "1", "1eth", "--from", "0x" + "11" * 20), "not a dev account"),
        (("oracle", "get", "0x1234"), "invalid FEED"),
        (("oracle", "get", "x" * 33), "invalid FEED"),
        (("block", "soon"), "invalid block"),
        (("tx", "0x12"), "invalid transaction hash"),
        (("token", "mint", "0", "1.5"), "fractional"),
        (("prividium", "token", "--account", "bob", "--admin-token", "t" * 8), "invalid --account"),
        (("prividium", "token", "--account", "0"), "needs an admin token"),
    ],
)
def test_bad_input_is_one_line_before_any_rpc(args: tuple[str, ...], needle: str) -> None:
    # --rpc points at a closed port: the input error must come first
    result = invoke(*args, "--rpc", f"http://127.0.0.1:{closed_port()}")
    assert_one_line_error(result, needle)


def test_usage_errors_exit_2() -> None:
    assert invoke("send").exit_code == 2
    assert invoke("balance", "0", "--bogus").exit_code == 2


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("accounts",),
        ("balance", "0"),
        ("balance", "0", "--chain", "beta"),
        ("send", "1", "1eth"),
        ("token", "balance", "0"),
        ("oracle", "get", "ETH/USD"),
        ("msg", "send", "beta", "1"),
        ("msg", "status", "0x" + "00" * 32),
        ("block",),
        ("tx", "0x" + "00" * 32),
    ],
)
def test_unreachable_node(args: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = invoke(*args, "--rpc", url)
    assert_one_line_error(result, f"no atlasdev node answers at {url}", "atlasdev up")


def test_rpc_url_from_environment() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert_one_line_error(invoke("balance", "0", env={"ATLASDEV_RPC": url}), url)


# ---- a fake node ----------------------------------------------------------------------------------


def selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


MESSAGE_SENT = "0x" + keccak(text="MessageSent(uint256,address,address,uint256,bytes32)").hex()


class FakeChain:
    """Just enough of an atlasdev chain's JSON-RPC for the CLI, recording what it was sent."""

    def __init__(self, name: str, chain_id: int) -> None:
        self.name = name
        self.chain_id = chain_id
        self.height = 7
        self.sent: list[Any] = []
        self.receipts: dict[str, dict[str, Any]] = {}
        self.txs: dict[str, dict[str, Any]] = {}
        self.prices: dict[bytes, int] = {}
        self.revert_next = ""
        self.seal = True
        self.network: dict[str, Any] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        chain = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    reply = {"result": chain.answer(request["method"], request["params"])}
                except RpcError as exc:
                    reply = {"error": {"code": exc.code, "message": exc.message}}
                body = json.dumps({"jsonrpc": "2.0", "id": request["id"], **reply}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def answer(self, method: str, params: list[Any]) -> Any:
        if method == "atlasdev_network":
            return self.network
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_blockNumber":
            return hex(self.height)
        if method == "eth_getBalance":
            return hex(10**22 + self.chain_id)
        if method == "eth_getTransactionCount":
            return hex(len(self.sent))
        if method == "eth_estimateGas":
            if self.revert_next == "estimate":
                raise RpcError(3, "execution reverted: ERC20: transfer amount exceeds balance")
            return hex(21000 + 16 * (len(params[0]["data"]) - 2) // 2)
        if method == "eth_gasPrice":
            return hex(10**9)
        if method == "eth_maxPriorityFeePerGas":
            return hex(1)
        if method == "eth_call":
            return "0x" + self.call(bytes.fromhex(params[0]["data"][2:])).hex()
        if method == "eth_sendRawTransaction":
            return self.receive(bytes.fromhex(params[0][2:]))
        if method == "eth_getTransactionReceipt":
            return self.receipts.get(params[0]) if self.seal else None
        if method == "eth_getTransactionByHash":
            return self.txs.get(params[0])
        if method == "eth_getBlockByNumber":
            number = self.height if params[0] == "latest" else int(params[0], 16)
            if number > self.height:
                return None
            return {
                "number": hex(number),
                "hash": "0x" + "11" * 32,
                "parentHash": "0x" + "22" * 32,
                "timestamp": hex(1_700_000_000),
                "stateRoot": "0x" + "33" * 32,
                "gasUsed": hex(21000),
                "baseFeePerGas": hex(10**9),
                "transactions": list(self.txs.values()) if params[1] else list(self.txs),
            }
        raise RpcError(-32601, f"the method {method} does not exist/is not available")

    def call(self, data: bytes) -> bytes:
        sel, args = data[:4], data[4:]
        if sel == selector("balanceOf(address)"):
            return encode(["uint256"], [1_000_000 * 10**18])
        if sel == selector("symbol()"):
            return encode(["string"], ["aUSD"])
        if sel == selector("decimals()"):
            return encode(["uint8"], [18])
        if sel == selector("getPrice(bytes32)"):
            return encode(["uint256"], [self.prices.get(args[:32], 0)])
        raise RpcError(3, "execution reverted: unknown function selector")

    def receive(self, raw: bytes) -> str:
        tx = decode_raw_transaction(raw)
        self.sent.append(tx)
        tx_hash = "0x" + tx.hash.hex()
        self.height += 1
        to = "0x" + tx.to.hex()
        if to == ORACLE_ADDRESS and tx.data[:4] == selector("setPrice(bytes32,uint256)"):
            feed, price = decode(["bytes32", "uint256"], tx.data[4:])
            self.prices[feed] = price
        logs = []
        if to == MESSENGER_ADDRESS:
            dest, _, _ = decode(["uint256", "address", "bytes"], tx.data[4:])
            logs.append(
                {
                    "address": MESSENGER_ADDRESS,
                    "topics": [MESSAGE_SENT, "0x" + dest.to_bytes(32, "big").hex()],
                    "data": "0x" + (5).to_bytes(32, "big").hex() + "ee" * 32,
                }
            )
        reverted = self.revert_next == "receipt"
        self.receipts[tx_hash] = {
            "transactionHash": tx_hash,
            "transactionIndex": "0x0",
            "blockNumber": hex(self.height),
            "status": "0x0" if reverted else "0x1",
            "gasUsed": hex(21000),
            "effectiveGasPrice": hex(10**9 + 1),
            "logs": logs,
            "revertReason": "ERC20: transfer amount exceeds balance" if reverted else None,
        }
        self.txs[tx_hash] = {
            "hash": tx_hash,
            "from": "0x" + tx.sender.hex(),
            "to": to,
            "value": hex(tx.value),
            "nonce": hex(tx.nonce),
            "type": hex(tx.tx_type),
            "gas": hex(tx.gas_limit),
            "input": "0x" + tx.data.hex(),
        }
        return tx_hash


@pytest.fixture(scope="module")
def fake() -> Iterator[dict[str, FakeChain]]:
    chains = {"alpha": FakeChain("alpha", 271), "beta": FakeChain("beta", 272)}
    network = {
        "name": "fake",
        "chains": [
            {
                "name": c.name,
                "chainId": c.chain_id,
                "rpcPort": c.port,
                "private": c.name == "beta",
                "blockTimeMs": 250,
                "height": c.height,
            }
            for c in chains.values()
        ],
    }
    for c in chains.values():
        c.network = network
    yield chains
    for c in chains.values():
        c.server.shutdown()
        c.server.server_close()


@pytest.fixture
def alpha(fake: dict[str, FakeChain]) -> FakeChain:
    chain = fake["alpha"]
    chain.revert_next = ""
    chain.seal = True
    return chain


def run_json(*args: str) -> Any:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_status(alpha: FakeChain, fake: dict[str, FakeChain]) -> None:
    data = run_json("status", "--rpc", alpha.url)
    assert [c["name"] for c in data["chains"]] == ["alpha", "beta"]
    assert data["chains"][1]["rpc"] == fake["beta"].url
    text = invoke("status", "--rpc", alpha.url).stdout
    assert "network fake (2 chains)" in text and "private" in text


def test_accounts_and_balance_on_another_chain(alpha: FakeChain) -> None:
    data = run_json("accounts", "--rpc", alpha.url, "--chain", "272", "--keys")
    assert len(data) == 10
    assert data[0]["address"] == ACCOUNTS[0].checksum_address
    assert data[0]["balanceWei"] == str(10**22 + 272)
    assert data[0]["privateKey"] == ACCOUNTS[0].private_key_hex
    assert run_json("balance", "1", "--rpc", alpha.url)["wei"] == str(10**22 + 271)
    text = invoke("balance", "1", "--rpc", alpha.url, "--chain", "beta").stdout
    assert text.strip() == "10000.000000000000000272 ETH"


def test_unknown_chain(alpha: FakeChain) -> None:
    result = invoke("balance", "1", "--rpc", alpha.url, "--chain", "zeta")
    assert_one_line_error(result, "no chain 'zeta'", "alpha (271)", "beta (272)")


def test_token_balance(alpha: FakeChain) -> None:
    assert invoke("balance", "2", "--token", "--rpc", alpha.url).stdout.strip() == "1000000 aUSD"
    data = run_json("token", "balance", "2", "--rpc", alpha.url)
    assert data["amount"] == str(10**24)
    assert data["symbol"] == "aUSD"


def test_send(alpha: FakeChain) -> None:
    data = run_json("send", "1", "0.5eth", "--from", "2", "--rpc", alpha.url)
    tx = alpha.sent[-1]
    assert (tx.tx_type, tx.chain_id, tx.value) == (2, 271, 5 * 10**17)
    assert tx.sender == ACCOUNTS[2].address and tx.to == ACCOUNTS[1].address
    assert (tx.max_fee_per_gas, tx.max_priority_fee_per_gas, tx.gas_limit) == (2 * 10**9, 1, 21000)
    assert data["status"] == "success"
    assert data["hash"] == "0x" + tx.hash.hex()
    assert data["blockNumber"] == alpha.height
    text = invoke("send", "1", "1gwei", "--rpc", alpha.url).stdout
    assert "status    success" in text and "gas used  21000" in text


def test_send_no_wait(alpha: FakeChain) -> None:
    alpha.seal = False
    data = run_json("send", "1", "1", "--no-wait", "--rpc", alpha.url)
    assert data["status"] == "pending"


def test_send_reverted(alpha: FakeChain) -> None:
    alpha.revert_next = "receipt"
    result = invoke("send", "1", "1", "--rpc", alpha.url, "--json")
    assert_one_line_error(result, "reverted: ERC20: transfer amount exceeds balance")
    assert json.loads(result.stdout)["status"] == "reverted"


def test_send_rejected_by_estimate(alpha: FakeChain) -> None:
    alpha.revert_next = "estimate"
    result = invoke("token", "transfer", "1", "1eth", "--rpc", alpha.url)
    assert_one_line_error(result, "eth_estimateGas", "transfer amount exceeds balance")


def test_token_transfer_and_mint(alpha: FakeChain) -> None:
    data = run_json("token", "transfer", "3", "250eth", "--from", "1", "--rpc", alpha.url)
    tx = alpha.sent[-1]
    assert "0x" + tx.to.hex() == STABLECOIN_ADDRESS and tx.value == 0
    assert tx.data[:4] == selector("transfer(address,uint256)")
    assert decode(["address", "uint256"], tx.data[4:]) == (
        ACCOUNTS[3].checksum_address.lower(),
        250 * 10**18,
    )
    assert data["amount"] == str(250 * 10**18)
    run_json("token", "mint", "4", "7", "--rpc", alpha.url)
    assert alpha.sent[-1].data[:4] == selector("mint(address,uint256)")


def test_oracle_push_and_get(alpha: FakeChain) -> None:
    run_json("oracle", "push", "ETH/USD", "3150eth", "--rpc", alpha.url)
    tx = alpha.sent[-1]
    assert "0x" + tx.to.hex() == ORACLE_ADDRESS
    assert tx.data[4:36] == b"ETH/USD".ljust(32, b"\0")
    data = run_json("oracle", "get", "ETH/USD", "--rpc", alpha.url)
    assert data == {
        "feed": "0x" + b"ETH/USD".ljust(32, b"\0").hex(),
        "feedName": "ETH/USD",
        "price": str(3150 * 10**18),
    }


def test_msg_send(alpha: FakeChain) -> None:
    data = run_json(
        "msg", "send", "beta", "1", "--data", "0x1234", "--value", "0.1eth", "--rpc", alpha.url
    )
    tx = alpha.sent[-1]
    assert "0x" + tx.to.hex() == MESSENGER_ADDRESS and tx.value == 10**17
    assert decode(["uint256", "address", "bytes"], tx.data[4:]) == (
        272,
        ACCOUNTS[1].checksum_address.lower(),
        b"\x12\x34",
    )
    assert (data["destChainId"], data["messageNonce"]) == (272, 5)
    assert data["messageHash"] == "0x" + "ee" * 32
    assert_one_line_error(invoke("msg", "send", "zeta", "1", "--rpc", alpha.url), "no chain")


def test_block_and_tx(alpha: FakeChain) -> None:
    run_json("send", "1", "1", "--rpc", alpha.url)
    tx_hash = "0x" + alpha.sent[-1].hash.hex()
    block = run_json("block", "--txs", "--rpc", alpha.url)
    assert block["number"] == hex(alpha.height)
    text = invoke("block", "1", "--txs", "--rpc", alpha.url).stdout
    assert "state root" in text and tx_hash in text
    assert_one_line_error(invoke("block", "999999", "--rpc", alpha.url), "not found", "latest")
    data = run_json("tx", tx_hash, "--rpc", alpha.url)
    assert data["transaction"]["hash"] == tx_hash
    assert data["receipt"]["status"] == "0x1"
    assert "status     success" in invoke("tx", tx_hash, "--rpc", alpha.url).stdout
    missing = invoke("tx", "0x" + "00" * 32, "--rpc", alpha.url)
    assert_one_line_error(missing, "not found on")


# ---- the JSON-RPC client --------------------------------------------------------------------------


def test_rpc_client(alpha: FakeChain) -> None:
    client = RpcClient(alpha.url)
    assert client.call("eth_chainId") == hex(271)
    with pytest.raises(RpcError) as info:
        client.call("eth_nothing")
    assert info.value.code == -32601
    with pytest.raises(NodeUnreachable, match="atlasdev up"):
        RpcClient(f"http://127.0.0.1:{closed_port()}").call("eth_chainId")
    with pytest.raises(ValueError):
        RpcClient("127.0.0.1:8545")


# ---- error lines ----------------------------------------------------------------------------------


def test_error_lines() -> None:
    from atlasdev.cli._app import describe

    busy = OSError("cannot serve JSON-RPC: port 8545 (alpha): address already in use")
    assert "--port-base" in node_cmds._start_error(busy)
    revert = RpcError(3, "execution reverted: no", "0x08c379a0" + "00" * 64, "eth_call")
    assert describe(revert) == "the node rejected eth_call: execution reverted: no"
    assert describe(FileNotFoundError(2, "No such file or directory", "/x")) == (
        "/x: no such file or directory"
    )
    assert "internal error (KeyError" in describe(KeyError("k"))


# ---- `up` on a real node --------------------------------------------------------------------------


def test_serve_a_real_node(tmp_path: Path) -> None:
    pytest.importorskip("atlasdev.node")
    from atlasdev.cli._app import CliError
    from atlasdev.profiles import load_profile, with_port_base

    profile = with_port_base(load_profile("solo"), free_port_base(1))
    url = f"http://127.0.0.1:{profile.chains[0].rpc_port}"
    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    lines: list[str] = []

    def run() -> None:
        try:
            node_cmds.serve(
                profile,
                tmp_path,
                stop,
                json_out=True,
                on_ready=lambda _: ready.set(),
                echo=lines.append,
            )
        except BaseException as exc:
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert ready.wait(120) and not errors, errors
        assert run_json("send", "1", "1eth", "--rpc", url)["status"] == "success"
        assert run_json("status", "--rpc", url)["chains"][0]["name"] == "alpha"
        assert_one_line_error(invoke("reset", "--data-dir", str(tmp_path), "--yes"), "running")
        with pytest.raises(CliError, match="another atlasdev node"):
            node_cmds.serve(profile, tmp_path, threading.Event())
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and not errors
    events = [json.loads(line)["event"] for line in lines]
    assert events[0] == "ready" and "block" in events and events[-1] == "stopped"
    assert invoke("reset", "--data-dir", str(tmp_path), "--yes").exit_code == 0


def test_bench_prover_on_host_kernels_without_a_compiler_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlasdev.engine.airbender import kernels

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no host build cached there
    monkeypatch.setattr(kernels.shutil, "which", lambda name: None)
    result = invoke(
        "bench", "prover", "--backend", "host", "--transfers", "0", "--out", str(tmp_path)
    )
    assert result.exit_code != 0
    assert "--backend host: no C++ compiler (g++) to build the host kernels" in result.output
    assert "Traceback" not in result.output


def test_bench_prover_with_segments_bigger_than_the_memory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlasdev.engine.airbender.cpu import CPU

    monkeypatch.setattr(type(CPU), "memory_limit", lambda self: 300 << 20)
    result = invoke("bench", "prover", "--transfers", "0", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "error: a segment of 2^16 rows needs about 0.5 GiB and the cpu backend has 0.3 GiB: "
        "prove in smaller segments (--max-log-n)"
    )
    assert "Traceback" not in result.output and not (tmp_path / "prover-cpu.json").exists()


def test_bench_prover_kernel_times_need_a_backend_with_kernels(tmp_path: Path) -> None:
    result = invoke("bench", "prover", "--kernel-times", "--transfers", "0", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: --kernel-times: the cpu backend launches no kernels (gpu or host)"
    )


def test_bench_kernels_writes_its_rates(tmp_path: Path) -> None:
    result = invoke("bench", "kernels", "--log-n", "4", "--repeats", "1", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "kernels-cpu.json").read_text())
    assert written["backend"] == "cpu" and written["log_n"] == 4
    assert "interpolate: " in result.stdout and "G butterflies/s" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "tpu"], "unknown backend 'tpu': choose one of cpu, gpu, numpy, host"),
        (["--backend", "gpu"], "--backend gpu: no usable GPU"),
        (["--log-n", "25"], "Invalid value for '--log-n'"),
    ],
)
def test_bench_kernels_bad_input_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    from atlasdev.engine.airbender import device

    monkeypatch.setattr(device, "probe", lambda: device.Probe(None, "no CUDA device"))
    result = invoke("bench", "kernels", *args, "--out", str(tmp_path))
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
