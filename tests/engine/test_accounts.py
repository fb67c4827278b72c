"""Tests for atlasdev.engine.accounts: the anvil/hardhat dev accounts."""

from __future__ import annotations

import pytest
from eth_account import Account

from atlasdev.engine.accounts import (
    DEV_BALANCE_WEI,
    DEV_MNEMONIC,
    DevAccount,
    dev_account,
    dev_accounts,
)

# The addresses anvil and hardhat print at startup.
ANVIL_ADDRESSES = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
]


def test_constants() -> None:
    assert DEV_MNEMONIC == "test test test test test test test test test test test junk"
    assert DEV_BALANCE_WEI == 10_000 * 10**18


def test_account_zero() -> None:
    account = dev_accounts()[0]
    assert account.index == 0
    assert account.checksum_address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert account.private_key_hex == (
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    )
    assert account.address == bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")


def test_account_one() -> None:
    assert dev_accounts()[1].checksum_address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_default_ten_accounts_match_anvil() -> None:
    accounts = dev_accounts()
    assert [a.checksum_address for a in accounts] == ANVIL_ADDRESSES
    assert [a.index for a in accounts] == list(range(10))
    assert all(len(a.address) == 20 and len(a.private_key) == 32 for a in accounts)
    assert len({a.private_key for a in accounts}) == 10


def test_keys_control_addresses() -> None:
    for account in dev_accounts(3):
        assert Account.from_key(account.private_key).address == account.checksum_address


def test_cached_and_prefix_consistent() -> None:
    assert dev_accounts() is dev_accounts(10)
    assert dev_accounts(3) == dev_accounts()[:3]
    assert dev_account(2) is dev_accounts()[2]
    assert dev_accounts(0) == ()


def test_more_than_ten() -> None:
    accounts = dev_accounts(12)
    assert accounts[:10] == dev_accounts()
    assert accounts[11].index == 11


@pytest.mark.parametrize("count", [-1, True, 1.5])
def test_bad_count(count: object) -> None:
    with pytest.raises(ValueError):
        dev_accounts(count)  # type: ignore[arg-type]


def test_repr_hides_private_key() -> None:
    account = dev_accounts()[0]
    assert account.checksum_address in repr(account)
    assert account.private_key.hex() not in repr(account)


def test_devaccount_checks_lengths() -> None:
    with pytest.raises(ValueError, match="20 bytes"):
        DevAccount(0, b"\x00" * 19, b"\x01" * 32)
    with pytest.raises(ValueError, match="32 bytes"):
        DevAccount(0, b"\x00" * 20, b"\x01" * 31)


def test_frozen() -> None:
    account = dev_accounts()[0]
    with pytest.raises(AttributeError):
        account.index = 5  # type: ignore[misc]


@pytest.mark.parametrize("index", [-1, 2**31, True, "0"])
def test_bad_index(index: object) -> None:
    dev_accounts(2)  # a cached account 1 must not be returned for True
    with pytest.raises(ValueError):
        dev_account(index)  # type: ignore[arg-type]
