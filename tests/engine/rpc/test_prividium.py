"""Prividium access control on a real in-process node with the builtin `prividium` profile.

The private chain gamma answers only requests with a token; each token holder sees the blocks'
headers but only its own transactions, receipts, logs and balances, and sends only from its own
accounts; the admin token sees everything and creates tokens (`atlasdev prividium token`), which
survive a restart. The public chain alpha of the same profile needs no token. Clients: web3.py,
eth-account and plain urllib for what web3 hides (HTTP status, headers, batches).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector
from typer.testing import CliRunner
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError

from atlasdev.cli import app
from atlasdev.engine.accounts import dev_accounts
from atlasdev.engine.rpc.methods import EthApi
from atlasdev.engine.rpc.prividium import FORBIDDEN, RULES, UNAUTHORIZED
from atlasdev.engine.zkos.system import STABLECOIN_ADDRESS
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base
from tests.conftest import free_port_base

ADMIN = "gamma-admin-dev-token"
ALICE = "gamma-alice-dev-token"  # dev account 0
BOB = "gamma-bob-dev-token"  # dev account 1
DEV = dev_accounts(4)
STABLECOIN = Web3.to_checksum_address(STABLECOIN_ADDRESS)
NOBODY = Web3.to_checksum_address("0x00000000000000000000000000000000000beef1")


@dataclass
class Seeded:
    node: Node
    alpha: str  # RPC URLs
    gamma: str
    tx_alice: str  # alice -> NOBODY, ETH
    tx_bob: str  # bob -> NOBODY, ETH
    tx_alice_bob: str  # alice -> bob, stablecoin transfer (bob is named in the calldata)
    tx_other: str  # dev account 3 (no token's account) -> NOBODY, ETH


def w3_for(url: str, token: str | None = None) -> Web3:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30, "headers": headers}))


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    """POST raw JSON-RPC; (HTTP status, decoded body, response headers)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def request(method: str, *params: Any, req_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": req_id, "method": method, "params": list(params)}


def send(w3: Web3, index: int, tx: dict) -> str:
    acct = Account.from_key(DEV[index].private_key)
    fields = {
        "chainId": 273,
        "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "gas": 100_000,
        "value": 0,
        **tx,
    }
    return w3.eth.send_raw_transaction(acct.sign_transaction(fields).raw_transaction).to_0x_hex()


def transfer_data(to: str, amount: int) -> str:
    selector = function_signature_to_4byte_selector("transfer(address,uint256)")
    return "0x" + selector.hex() + bytes.fromhex(to[2:]).rjust(32, b"\0").hex() + f"{amount:064x}"


def balance_of_data(who: str) -> str:
    selector = function_signature_to_4byte_selector("balanceOf(address)")
    return "0x" + selector.hex() + bytes.fromhex(who[2:]).rjust(32, b"\0").hex()


def start_node(data_dir: Path, base: int) -> Node:
    node = Node(with_port_base(load_profile("prividium"), base), data_dir)
    node.start()
    return node


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    base = free_port_base(2)
    node = start_node(tmp_path_factory.mktemp("prividium"), base)
    try:
        gamma = f"http://127.0.0.1:{base + 1}"
        alice, bob, admin = w3_for(gamma, ALICE), w3_for(gamma, BOB), w3_for(gamma, ADMIN)
        hashes = [
            send(alice, 0, {"to": NOBODY, "value": 10**18, "gas": 21_000}),
            send(bob, 1, {"to": NOBODY, "value": 2 * 10**18, "gas": 21_000}),
            send(alice, 0, {"to": STABLECOIN, "data": transfer_data(DEV[1].checksum_address, 5)}),
            send(admin, 3, {"to": NOBODY, "value": 3 * 10**18, "gas": 21_000}),
        ]
        for h in hashes:
            receipt = admin.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.05)
            assert receipt["status"] == 1
        yield Seeded(node, f"http://127.0.0.1:{base}", gamma, *hashes)
    finally:
        node.stop()


def rpc_error(exc: pytest.ExceptionInfo[Web3RPCError]) -> dict:
    error = exc.value.rpc_response["error"]
    assert "\n" not in error["message"]
    return error


# ---- who may talk to the chain ------------------------------------------------------------------


def test_the_public_chain_needs_no_token(net: Seeded) -> None:
    w3 = w3_for(net.alpha)
    assert w3.eth.chain_id == 271
    assert w3.eth.get_balance(DEV[2].checksum_address) > 0
    assert w3.eth.get_block("latest")["number"] >= 0
    status, body, _ = post(net.alpha, request("prividium_createToken", [DEV[2].checksum_address]))
    assert status == 200 and body["error"]["code"] == -32601  # no such thing on a public chain


@pytest.mark.parametrize(
    "body",
    [
        request("eth_chainId"),
        request("eth_blockNumber", req_id=7),
        request("eth_getBalance", DEV[0].checksum_address, "latest"),
        request("atlasdev_network"),
        b"{not json",
    ],
)
def test_without_a_token_every_request_is_refused(net: Seeded, body: Any) -> None:
    status, answer, headers = post(net.gamma, body)
    assert status == 401
    assert answer["error"]["code"] == UNAUTHORIZED
    assert "chain gamma is private" in answer["error"]["message"]
    assert "Authorization: Bearer" in answer["error"]["message"]
    assert "result" not in answer
    assert answer["id"] == (body.get("id") if isinstance(body, dict) else None)
    assert headers["WWW-Authenticate"] == 'Bearer realm="atlasdev gamma"'


def test_without_a_token_a_batch_gets_one_error_per_request(net: Seeded) -> None:
    status, answer, _ = post(net.gamma, [request("eth_chainId", req_id=i) for i in (1, 2, 3)])
    assert status == 401
    assert [a["id"] for a in answer] == [1, 2, 3]
    assert {a["error"]["code"] for a in answer} == {UNAUTHORIZED}


def test_web3_without_a_token_fails_cleanly(net: Seeded) -> None:
    with pytest.raises(Exception, match="401"):
        w3_for(net.gamma).eth.chain_id  # noqa: B018


@pytest.mark.parametrize(
    ("headers", "query", "needle"),
    [
        ({"Authorization": "Bearer not-a-known-token"}, "", "invalid token for chain gamma"),
        ({"Authorization": "Bearer " + ALICE + "x"}, "", "invalid token"),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "", "malformed Authorization header"),
        ({"Authorization": "Bearer"}, "", "malformed Authorization header"),
        ({"Authorization": "Bearer "}, "", "malformed Authorization header"),
        ({"Authorization": f"Bearer {ALICE} {BOB}"}, "", "malformed Authorization header"),
        ({"Authorization": ALICE}, "", "malformed Authorization header"),
        ({}, "?token=", "empty ?token="),
        ({}, "?token=nope-nope-nope", "invalid token"),
        ({"Authorization": f"Bearer {ALICE}"}, f"?token={BOB}", "different tokens"),
    ],
)
def test_bad_tokens_get_one_line_errors(
    net: Seeded, headers: dict[str, str], query: str, needle: str
) -> None:
    status, answer, response_headers = post(
        net.gamma + "/" + query, request("eth_chainId"), headers
    )
    assert status == 401
    error = answer["error"]
    assert error["code"] == UNAUTHORIZED
    assert needle in error["message"]
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    assert ALICE not in error["message"] and "not-a-known-token" not in error["message"]
    assert 'error="invalid_token"' in response_headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"Authorization": f"Bearer {ALICE}"}, ""),
        ({"Authorization": f"bearer   {ALICE}  "}, ""),
        ({}, f"?token={ALICE}"),
        ({"Authorization": f"Bearer {ALICE}"}, f"?token={ALICE}"),
    ],
)
def test_a_valid_token_in_the_header_or_the_url(
    net: Seeded, headers: dict[str, str], query: str
) -> None:
    status, answer, _ = post(net.gamma + "/" + query, request("eth_chainId"), headers)
    assert (status, answer["result"]) == (200, "0x111")


# ---- what a holder sees ----------------------------------------------------------------------------


def test_balances_and_nonces_of_own_accounts_only(net: Seeded) -> None:
    alice = w3_for(net.gamma, ALICE)
    assert alice.eth.get_balance(DEV[0].checksum_address) > 0
    assert alice.eth.get_transaction_count(DEV[0].checksum_address) >= 2
    for call in (alice.eth.get_balance, alice.eth.get_transaction_count):
        with pytest.raises(Web3RPCError) as info:
            call(DEV[1].checksum_address)
        error = rpc_error(info)
        assert error["code"] == FORBIDDEN
        assert error["message"] == (
            f"forbidden: address 0x{DEV[1].address.hex()} is not one of this token's accounts"
        )
    admin = w3_for(net.gamma, ADMIN)
    assert admin.eth.get_transaction_count(DEV[1].checksum_address) == 1
    assert admin.eth.get_transaction_count(DEV[3].checksum_address) == 1


def test_stablecoin_balance_of_own_accounts_only(net: Seeded) -> None:
    alice, bob = w3_for(net.gamma, ALICE), w3_for(net.gamma, BOB)
    call = {"to": STABLECOIN, "data": balance_of_data(DEV[0].checksum_address)}
    assert int(alice.eth.call(call).hex(), 16) == 1_000_000 * 10**18 - 5
    with pytest.raises(Web3RPCError) as info:
        bob.eth.call(call)
    assert rpc_error(info)["code"] == FORBIDDEN
    with pytest.raises(Web3RPCError) as info:  # simulating as someone else is not allowed either
        alice.eth.estimate_gas({"from": DEV[1].checksum_address, "to": NOBODY, "value": 1})
    assert "from 0x" in rpc_error(info)["message"]
    total = function_signature_to_4byte_selector("totalSupply()").hex()
    assert int(alice.eth.call({"to": STABLECOIN, "data": "0x" + total}).hex(), 16) > 0


def test_eth_accounts_lists_own_accounts(net: Seeded) -> None:
    assert w3_for(net.gamma, ALICE).eth.accounts == [DEV[0].checksum_address]
    assert len(w3_for(net.gamma, ADMIN).eth.accounts) == 10


VISIBLE = {
    ALICE: {"tx_alice", "tx_alice_bob"},
    BOB: {"tx_bob", "tx_alice_bob"},
    ADMIN: {"tx_alice", "tx_bob", "tx_alice_bob", "tx_other"},
}


@pytest.mark.parametrize("token", [ALICE, BOB, ADMIN])
def test_transactions_and_receipts_of_own_accounts_only(net: Seeded, token: str) -> None:
    w3 = w3_for(net.gamma, token)
    for name in ("tx_alice", "tx_bob", "tx_alice_bob", "tx_other"):
        tx_hash = getattr(net, name)
        if name in VISIBLE[token]:
            assert w3.eth.get_transaction(tx_hash)["hash"].to_0x_hex() == tx_hash
            assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 1
        else:  # as if it did not exist
            with pytest.raises(TransactionNotFound):
                w3.eth.get_transaction(tx_hash)
            with pytest.raises(TransactionNotFound):
                w3.eth.get_transaction_receipt(tx_hash)


def seeded_blocks(net: Seeded) -> list[int]:
    admin = w3_for(net.gamma, ADMIN)
    names = ("tx_alice", "tx_bob", "tx_alice_bob", "tx_other")
    return sorted({admin.eth.get_transaction(getattr(net, n))["blockNumber"] for n in names})


@pytest.mark.parametrize("token", [ALICE, BOB])
def test_blocks_show_headers_and_only_own_transactions(net: Seeded, token: str) -> None:
    w3, admin = w3_for(net.gamma, token), w3_for(net.gamma, ADMIN)
    mine = {getattr(net, name) for name in VISIBLE[token]}
    seen = set()
    for number in seeded_blocks(net):
        everything = admin.eth.get_block(number, full_transactions=True)
        expected = [t for t in everything["transactions"] if t["hash"].to_0x_hex() in mine]
        for block in (w3.eth.get_block(number, True), w3.eth.get_block(everything["hash"], True)):
            assert block["transactions"] == expected
            for key in ("number", "hash", "parentHash", "stateRoot", "timestamp", "gasUsed"):
                assert block[key] == everything[key]
        hashes = w3.eth.get_block(number)["transactions"]
        assert [h.to_0x_hex() for h in hashes] == [t["hash"].to_0x_hex() for t in expected]
        assert w3.eth.get_block_transaction_count(number) == len(expected)
        for tx in everything["transactions"]:  # by position: null unless it is the holder's
            status, answer, _ = post(
                net.gamma,
                request(
                    "eth_getTransactionByBlockNumberAndIndex",
                    hex(number),
                    hex(tx["transactionIndex"]),
                ),
                {"Authorization": f"Bearer {token}"},
            )
            assert status == 200
            visible = tx["hash"].to_0x_hex() in mine
            assert (answer["result"] is not None) == visible
        seen |= {t["hash"].to_0x_hex() for t in expected}
    assert seen == mine


def test_logs_of_own_transactions_only(net: Seeded) -> None:
    head = w3_for(net.gamma, ADMIN).eth.block_number
    flt = {"fromBlock": 0, "toBlock": head}
    everything = w3_for(net.gamma, ADMIN).eth.get_logs(flt)
    assert {lg["transactionHash"].to_0x_hex() for lg in everything} >= {net.tx_alice_bob}
    for token in (ALICE, BOB):
        logs = w3_for(net.gamma, token).eth.get_logs({**flt, "address": STABLECOIN})
        assert [lg["transactionHash"].to_0x_hex() for lg in logs] == [net.tx_alice_bob]
    nobody = {net.tx_alice, net.tx_bob, net.tx_other}  # ETH transfers: no logs at all
    assert not nobody & {lg["transactionHash"].to_0x_hex() for lg in everything}


def test_fee_history_rewards_count_own_transactions_only(net: Seeded) -> None:
    blocks = seeded_blocks(net)
    alice = w3_for(net.gamma, ALICE)
    history = alice.eth.fee_history(len(blocks) + 1, blocks[-1], [50])
    admin = w3_for(net.gamma, ADMIN).eth.fee_history(len(blocks) + 1, blocks[-1], [50])
    assert history["baseFeePerGas"] == admin["baseFeePerGas"]
    assert history["gasUsedRatio"] == admin["gasUsedRatio"]
    assert all(r == [0] or r == [10**9] for r in history["reward"])


# ---- what a holder may do ----------------------------------------------------------------------------


def test_sending_only_from_own_accounts(net: Seeded) -> None:
    alice = w3_for(net.gamma, ALICE)
    with pytest.raises(Web3RPCError) as info:  # signed by bob, sent with alice's token
        fields = {"chainId": 273, "nonce": 1, "to": NOBODY, "value": 1, "gas": 21_000}
        signed = Account.from_key(DEV[1].private_key).sign_transaction(
            {**fields, "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9}
        )
        alice.eth.send_raw_transaction(signed.raw_transaction)
    assert rpc_error(info) == {
        "code": FORBIDDEN,
        "message": f"forbidden: sender 0x{DEV[1].address.hex()} is not one of this token's accounts",
    }
    with pytest.raises(Web3RPCError) as info:
        alice.eth.send_transaction({"from": DEV[1].checksum_address, "to": NOBODY, "value": 1})
    assert rpc_error(info)["code"] == FORBIDDEN
    answer = alice.provider.make_request("anvil_setBalance", [DEV[1].checksum_address, "0x1"])
    assert answer["error"]["code"] == FORBIDDEN
    # the usual errors stay the usual errors
    with pytest.raises(Web3RPCError) as info:
        alice.eth.send_raw_transaction("0x1234")
    assert rpc_error(info)["code"] == -32602
    tx_hash = alice.eth.send_transaction(
        {"from": DEV[0].checksum_address, "to": NOBODY, "value": 1}
    )
    assert alice.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)["status"]


def test_creating_a_token_needs_the_admin_token(net: Seeded) -> None:
    status, answer, _ = post(
        net.gamma,
        request("prividium_createToken", [DEV[2].checksum_address]),
        {"Authorization": f"Bearer {ALICE}"},
    )
    assert status == 200 and answer["error"] == {
        "code": FORBIDDEN,
        "message": "forbidden: prividium_createToken needs an admin token of this chain",
    }
    for bad in ([], "0x12", ["0x12"], [[]]):
        status, answer, _ = post(
            net.gamma, request("prividium_createToken", bad), {"Authorization": f"Bearer {ADMIN}"}
        )
        assert answer["error"]["code"] == -32602, bad


def test_every_method_has_a_rule(net: Seeded) -> None:
    """Fail closed: a method added to EthApi must be given a rule here before holders see it."""
    chain = next(c for c in net.node.chains.values() if c.config.private)
    assert set(EthApi(chain, net.node).methods) <= set(RULES)
    status, answer, _ = post(net.gamma, request("eth_bogus"), {"Authorization": f"Bearer {ALICE}"})
    assert (status, answer["error"]["code"]) == (200, -32601)


# ---- `atlasdev prividium token`, and a restart ---------------------------------------------------------


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_the_cli_creates_a_token_that_survives_a_restart(tmp_path: Path) -> None:
    base = free_port_base(2)
    alpha, gamma = f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 1}"
    node = start_node(tmp_path, base)
    try:
        result = cli(
            "prividium", "token", "--rpc", alpha, "--chain", "gamma", "--account", "2",
            "--account", DEV[3].checksum_address.lower(), "--admin-token", ADMIN, "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        created = json.loads(result.stdout)
        assert created["chain"] == "gamma" and created["chainId"] == 273
        assert created["accounts"] == [DEV[2].checksum_address, DEV[3].checksum_address]
        text = cli("prividium", "token", "--rpc", gamma, "--account", "2", "--admin-token", ADMIN)
        assert text.exit_code == 0, text.output
        assert text.stdout.strip() != created["token"] and "\n" not in text.stdout.strip()

        for args, needle in (
            (("--chain", "gamma", "--admin-token", ALICE), "forbidden: prividium_createToken"),
            (("--chain", "gamma", "--admin-token", "wrong-token"), "invalid token for chain"),
            (("--chain", "alpha", "--admin-token", ADMIN), "chain alpha is public"),
        ):
            bad = cli("prividium", "token", "--rpc", alpha, "--account", "2", *args)
            assert bad.exit_code == 1, bad.output
            assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")
            assert needle in bad.stderr
    finally:
        node.stop()

    node = start_node(tmp_path, base)  # the same data dir
    try:
        carol = w3_for(gamma, created["token"])
        assert carol.eth.get_balance(DEV[2].checksum_address) > 0
        assert carol.eth.get_balance(DEV[3].checksum_address) > 0
        with pytest.raises(Web3RPCError) as info:
            carol.eth.get_balance(DEV[0].checksum_address)
        assert rpc_error(info)["code"] == FORBIDDEN
        assert w3_for(gamma, text.stdout.strip()).eth.chain_id == 273
        # the CLI's other commands reach a private chain with ATLASDEV_TOKEN
        result = CliRunner().invoke(
            app,
            ["balance", "2", "--rpc", alpha, "--chain", "gamma", "--json"],
            env={"ATLASDEV_TOKEN": created["token"]},
        )
        assert result.exit_code == 0, result.output
        denied = CliRunner().invoke(app, ["balance", "2", "--rpc", gamma])
        assert denied.exit_code == 1 and "unauthorized" in denied.stderr
    finally:
        node.stop()
    with closing(sqlite3.connect(tmp_path / "atlasdev.db")) as db:  # only hashes are kept
        rows = db.execute("SELECT chain_id, token_hash, accounts FROM access_tokens").fetchall()
    assert len(rows) == 2 and {r[0] for r in rows} == {273}
    assert hashlib.sha256(created["token"].encode()).digest() in {r[1] for r in rows}
    assert not any(created["token"] in repr(r) for r in rows)
