"""`atlasdev up` as a user runs it: restart resumes, kill -9 loses nothing a client was told."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from atlasdev.engine.accounts import dev_accounts
from tests.conftest import free_port_base, start_up

DEV = dev_accounts()


def start_node(data_dir: Path, port: int) -> subprocess.Popen:
    return start_up("solo", data_dir, port)


def w3_at(port: int) -> Web3:
    return Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 10}))


def transfer(w3: Web3, nonce: int, to: str) -> bytes:
    acct = Account.from_key(DEV[0].private_key)
    signed = acct.sign_transaction(
        {
            "to": to,
            "value": 1,
            "gas": 21_000,
            "nonce": nonce,
            "maxFeePerGas": 3 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "chainId": 271,
        }
    )
    return w3.eth.send_raw_transaction(signed.raw_transaction)


def test_restart_resumes_at_same_height_and_root(tmp_path: Path) -> None:
    port = free_port_base(1)
    proc = start_node(tmp_path, port)
    w3 = w3_at(port)
    to = Account.create().address
    receipts = [
        w3.eth.wait_for_transaction_receipt(transfer(w3, n, to), timeout=30, poll_latency=0.05)
        for n in range(3)
    ]
    l1 = w3_at(port + 1)  # the L1, after solo's one L2
    settle = lambda: l1.provider.make_request("atlasdev_getSettlement", ["latest"])["result"]  # noqa: E731
    while (settled := settle()) is None or settled["l1Block"] is None:  # pytest-timeout ends a hang
        time.sleep(0.05)  # until the first settlement has landed in an L1 block
    l1_head = l1.eth.get_block("latest")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    # the head as the store left it
    proc = start_node(tmp_path, port)
    try:
        w3 = w3_at(port)
        l1 = w3_at(port + 1)
        assert l1.eth.get_block(l1_head.number).hash == l1_head.hash
        again = l1.provider.make_request("atlasdev_getSettlement", [hex(settled["batch"])])
        assert again["result"] == settled  # the settlement record survives too
        last = receipts[-1].blockNumber
        block = w3.eth.get_block(last)
        assert block.hash == receipts[-1].blockHash
        assert w3.eth.get_balance(to) == 3
        assert w3.eth.get_transaction_count(DEV[0].checksum_address) == 3
        for _ in range(100):  # the first block sealed after the restart
            if w3.eth.block_number > last:
                break
            time.sleep(0.05)
        nxt = w3.eth.get_block(last + 1)
        assert nxt.parentHash == block.hash
        r = w3.eth.wait_for_transaction_receipt(transfer(w3, 3, to), timeout=30, poll_latency=0.05)
        assert r.status == 1 and w3.eth.get_balance(to) == 4
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize("delay", [0.3, 1.1])
def test_kill_9_loses_no_receipted_transaction(tmp_path: Path, delay: float) -> None:
    port = free_port_base(1)
    proc = start_node(tmp_path, port)
    w3 = w3_at(port)
    to = Account.create().address
    confirmed: dict[bytes, int] = {}
    deadline = time.monotonic() + delay
    nonce = 0
    try:
        while time.monotonic() < deadline:
            h = transfer(w3, nonce, to)
            nonce += 1
            r = w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.02)
            confirmed[bytes(h)] = r.blockNumber
        for _ in range(5):  # some in flight at the moment of the kill
            transfer(w3, nonce, to)
            nonce += 1
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert confirmed
    proc = start_node(tmp_path, port)
    try:
        w3 = w3_at(port)
        for h, number in confirmed.items():
            r = w3.eth.get_transaction_receipt(h)
            assert r is not None and r.blockNumber == number and r.status == 1
        assert w3.eth.get_balance(to) >= len(confirmed)
        head = w3.eth.block_number
        assert head >= max(confirmed.values())
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
