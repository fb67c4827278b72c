"""A real node for the dashboard's pilot tests, with a few transactions sealed on alpha."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import to_checksum_address

from atlasdev.engine.accounts import dev_accounts
from atlasdev.engine.monitor import Monitor
from atlasdev.engine.zkos.system import (
    MESSENGER_ADDRESS,
    SEL_SEND_MESSAGE,
    SEL_TRANSFER,
    STABLECOIN_ADDRESS,
)
from atlasdev.profiles import load_profile, with_port_base
from tests.conftest import free_port_base
from tests.tui.helpers import ALPHA, BETA, Live


def _sign(nonce: int, to: bytes, value: int = 0, data: bytes = b"", gas: int = 21_000) -> bytes:
    tx = {
        "chainId": ALPHA,
        "nonce": nonce,
        "to": to_checksum_address(to),
        "value": value,
        "data": data,
        "gas": gas,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    key = dev_accounts()[0].private_key
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from atlasdev.node import Node

    profile = with_port_base(load_profile("default"), free_port_base(2))
    node = Node(profile, Path(tmp_path_factory.mktemp("tui-node")))
    node.start()
    monitor = Monitor(node)
    try:
        alpha = node.chains[ALPHA]
        to = dev_accounts()[1].address
        too_much = (SEL_TRANSFER).to_bytes(4, "big") + encode(["address", "uint256"], [to, 10**40])
        send = (SEL_SEND_MESSAGE).to_bytes(4, "big") + encode(
            ["uint256", "address", "bytes"], [BETA, to, b"\x12\x34"]
        )
        hashes = [
            alpha.submit(_sign(0, to, value=10**18)),
            alpha.submit(_sign(1, STABLECOIN_ADDRESS, data=too_much, gas=100_000)),
            alpha.submit(_sign(2, MESSENGER_ADDRESS, data=send, gas=200_000)),
        ]
        for _ in range(600):  # sealed within a few blocks; bounded, not timed
            if all(monitor.tx(ALPHA, h) is not None for h in hashes):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the fixture transactions were not sealed")
        yield Live(node, monitor, *hashes)
    finally:
        monitor.close()
        node.stop()
