"""Prividium: after a run with private transactions, proven, verified by the gateway, settled
to the L1 and with a message sent out, no table of the gateway and no other chain's rows (the
L1's included) hold any private transaction's data (sender, recipient, value, calldata). The STARKs are stand-ins
(tests/integration/standin.py); everything else is the real node, gateway and relayer."""

import dataclasses
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from atlasdev.engine.accounts import dev_accounts
from atlasdev.engine.store import Store
from atlasdev.profiles import load_profile, with_port_base
from atlasdev.rpc_client import RpcClient
from tests.conftest import free_port_base
from tests.integration.standin import standin_network

PRIVATE = 273
ADMIN = {"Authorization": "Bearer gamma-admin-dev-token"}
SENDER = Account.from_key(b"\x42" * 32)  # exists only on the private chain
RECIPIENT = bytes.fromhex("5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7")
VALUE = 123_456_789_123_456_789
CALLDATA = bytes.fromhex("dec1a55ec7e7dec1a55ec7e7")
# tables of one chain, keyed by chain id; every other table belongs to the whole network
CHAIN_TABLES = ("blocks", "transactions", "logs", "messages", "leaves", "proofs", "access_tokens")


def _send(client: RpcClient, key: bytes, to: bytes, value: int, data: bytes, nonce: int) -> str:
    tx = {
        "type": 2, "chainId": PRIVATE, "nonce": nonce, "to": to_checksum_address(to),
        "value": value, "data": data, "gas": 100_000, "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    raw = Account.sign_transaction(tx, key).raw_transaction
    return client.call("eth_sendRawTransaction", "0x" + bytes(raw).hex())


def _receipt(client: RpcClient, tx_hash: str) -> dict:
    for _ in range(400):  # a few blocks; bounded, not timed
        receipt = client.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return receipt
        time.sleep(0.05)
    raise AssertionError(f"{tx_hash} was not sealed")


def _needles() -> dict[str, bytes]:
    sender = bytes.fromhex(SENDER.address[2:])
    return {
        "sender": sender,
        "sender (hex)": sender.hex().encode(),
        "recipient": RECIPIENT,
        "recipient (hex)": RECIPIENT.hex().encode(),
        "value": VALUE.to_bytes(32, "big"),
        "value (hex)": f"{VALUE:064x}".encode(),
        "calldata": CALLDATA,
        "calldata (hex)": CALLDATA.hex().encode(),
    }


def _settled(store: Store) -> int:
    """The private chain's block in the last batch that landed on the L1 (-1 if none)."""
    landed = [s for s in store.settlements(2) if s.l1_block is not None]
    return next((h.number for h in landed[0].heads if h.chain_id == PRIVATE), -1) if landed else -1


def test_no_private_transaction_data_leaves_the_private_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = with_port_base(load_profile("prividium"), free_port_base(3))
    profile = dataclasses.replace(profile, settle_interval_ms=200)
    with standin_network(profile, tmp_path, monkeypatch) as node:
        port = next(c.rpc_port for c in profile.chains if c.chain_id == PRIVATE)
        gamma = RpcClient(f"http://127.0.0.1:{port}", headers=ADMIN)
        funder = dev_accounts()[3]
        nonce = int(gamma.call("eth_getTransactionCount", to_checksum_address(funder.address)), 16)
        funded = _send(gamma, funder.private_key, bytes.fromhex(SENDER.address[2:]), 10**18, b"",
                       nonce)  # fmt: skip
        assert _receipt(gamma, funded)["status"] == "0x1"
        private = _send(gamma, SENDER.key, RECIPIENT, VALUE, CALLDATA, 0)
        sealed = _receipt(gamma, private)
        assert sealed["status"] == "0x1"
        assert node.store is not None
        for _ in range(400):  # the gateway verifies the private chain's blocks too
            if node.store.verified_head(PRIVATE) >= int(sealed["blockNumber"], 16):
                break
            time.sleep(0.05)
        assert node.store.verified_head(PRIVATE) >= int(sealed["blockNumber"], 16)
        for _ in range(400):  # and settles the private chain's state root to the L1
            if _settled(node.store) >= int(sealed["blockNumber"], 16):
                break
            time.sleep(0.05)
        assert _settled(node.store) >= int(sealed["blockNumber"], 16)

    leaks = []
    with closing(sqlite3.connect(tmp_path / "atlasdev.db")) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
            own = table in CHAIN_TABLES and "chain_id" in columns
            for row in db.execute(f"SELECT * FROM {table}"):
                values = dict(zip(columns, row, strict=True))
                if own and values["chain_id"] == PRIVATE:
                    continue  # the private chain's own rows
                for column, value in values.items():
                    data = value.encode() if isinstance(value, str) else value
                    if not isinstance(data, bytes):
                        continue
                    leaks += [
                        f"{table}.{column}: {what}" for what, needle in _needles().items()
                        if needle in data
                    ]  # fmt: skip
        private_rows = db.execute(
            "SELECT COUNT(*) FROM transactions WHERE chain_id=? AND value=?",
            (PRIVATE, f"{VALUE:064x}"),
        ).fetchone()[0]
    assert private_rows == 1  # the needles are where they belong, so the search can find them
    assert leaks == []
