"""The well-known anvil/hardhat development accounts.

They come from the public test mnemonic, so every tool (anvil, hardhat, foundry, wallets) agrees
on their addresses and keys. Never use them outside a devnet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from eth_account import Account
from eth_utils import to_checksum_address

__all__ = [
    "DEV_BALANCE_WEI",
    "DEV_DERIVATION_PATH",
    "DEV_MNEMONIC",
    "DevAccount",
    "dev_account",
    "dev_accounts",
]

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_BALANCE_WEI = 10_000 * 10**18
DEV_DERIVATION_PATH = "m/44'/60'/0'/0/{index}"

Account.enable_unaudited_hdwallet_features()


@dataclass(frozen=True)
class DevAccount:
    """A development account: its index on the derivation path, address and private key."""

    index: int
    address: bytes
    private_key: bytes

    def __post_init__(self) -> None:
        if len(self.address) != 20:
            raise ValueError(f"address must be 20 bytes, got {len(self.address)}")
        if len(self.private_key) != 32:
            raise ValueError(f"private key must be 32 bytes, got {len(self.private_key)}")

    @property
    def checksum_address(self) -> str:
        """The EIP-55 checksummed address, ``0x``-prefixed."""
        return to_checksum_address(self.address)

    @property
    def private_key_hex(self) -> str:
        """The private key as ``0x`` followed by 64 lowercase hex digits."""
        return "0x" + self.private_key.hex()

    def __repr__(self) -> str:
        return f"DevAccount(index={self.index}, address={self.checksum_address})"


def dev_account(index: int) -> DevAccount:
    """Dev account ``index`` derived from ``DEV_MNEMONIC`` (slow the first time, then cached)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**31:
        raise ValueError(f"account index must be an integer in 0..2**31-1, got {index!r}")
    return _derive(index)


def dev_accounts(count: int = 10) -> tuple[DevAccount, ...]:
    """The first ``count`` dev accounts (anvil's default is 10), cached."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"account count must be a non-negative integer, got {count!r}")
    return _first(count)


# Validation stays in the wrappers above: functools.cache treats True as 1 and keys
# dev_accounts() apart from dev_accounts(10).
@functools.cache
def _derive(index: int) -> DevAccount:
    account = Account.from_mnemonic(
        DEV_MNEMONIC, account_path=DEV_DERIVATION_PATH.format(index=index)
    )
    return DevAccount(
        index=index,
        address=bytes.fromhex(account.address[2:]),
        private_key=bytes(account.key),
    )


@functools.cache
def _first(count: int) -> tuple[DevAccount, ...]:
    return tuple(_derive(i) for i in range(count))
