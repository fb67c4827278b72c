"""What users type on the command line, turned into values: accounts, keys, hex data, feeds, blocks.

Each parser raises `CliError` with one line that says what is expected. eth-account is imported
only when a dev account or a key is actually needed (it takes about a second to import).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._app import CliError

__all__ = [
    "DEV_ACCOUNT_COUNT",
    "Signer",
    "block_tag",
    "feed_id",
    "feed_label",
    "hex_bytes",
    "parse_address",
    "parse_signer",
    "tx_hash",
]

DEV_ACCOUNT_COUNT = 10
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
_KEY_RE = re.compile(r"0x[0-9a-fA-F]{64}")
_INDEX_RE = re.compile(r"[0-9]+")
_HEX_RE = re.compile(r"(?:0x)?((?:[0-9a-fA-F]{2})*)")
_BLOCK_TAGS = ("latest", "earliest", "pending", "safe", "finalized")


@dataclass(frozen=True)
class Signer:
    """An account that can sign: its checksummed address and private key."""

    address: str
    key: bytes


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def _dev_index(text: str) -> int:
    index = int(text)
    if index >= DEV_ACCOUNT_COUNT:
        raise CliError(
            f"account index {index} is out of range: the dev accounts are 0..{DEV_ACCOUNT_COUNT - 1}"
        )
    return index


def _dev_accounts():  # -> tuple[DevAccount, ...]; untyped to keep eth-account out of import time
    from ..engine.accounts import dev_accounts

    return dev_accounts(DEV_ACCOUNT_COUNT)


def parse_address(text: str, what: str = "ADDRESS") -> str:
    """A dev account index (0..9) or a 0x address, as a checksummed address."""
    text = text.strip()
    if _INDEX_RE.fullmatch(text):
        return _dev_accounts()[_dev_index(text)].checksum_address
    if _ADDRESS_RE.fullmatch(text):
        return _checksum(text)
    if _KEY_RE.fullmatch(text):
        raise CliError(f"{what} {text[:10]}… is a private key: pass an address or a dev index")
    raise CliError(
        f"invalid {what} {text!r}: expected a dev account index (0..9) or a 0x address "
        "(40 hex digits)"
    )


def parse_signer(text: str) -> Signer:
    """``--from``: a dev account index, a dev account's address, or a 0x private key."""
    text = text.strip()
    if _INDEX_RE.fullmatch(text):
        account = _dev_accounts()[_dev_index(text)]
        return Signer(account.checksum_address, account.private_key)
    if _KEY_RE.fullmatch(text):
        from eth_account import Account

        key = bytes.fromhex(text[2:])
        try:
            address = Account.from_key(key).address
        except (ValueError, TypeError) as exc:
            raise CliError(f"invalid --from private key: {exc}") from None
        return Signer(address, key)
    if _ADDRESS_RE.fullmatch(text):
        for account in _dev_accounts():
            if account.address.hex() == text[2:].lower():
                return Signer(account.checksum_address, account.private_key)
        raise CliError(
            f"--from {text} is not a dev account, so atlasdev has no key for it: "
            "pass its 0x private key (64 hex digits) instead"
        )
    raise CliError(
        f"invalid --from {text!r}: expected a dev account index (0..9), a dev account address "
        "or a 0x private key (64 hex digits)"
    )


def hex_bytes(text: str, what: str = "--data") -> bytes:
    """Hex bytes such as ``0xdeadbeef`` (the 0x is optional; an empty string is no bytes)."""
    match = _HEX_RE.fullmatch(text.strip())
    if match is None:
        raise CliError(
            f"invalid {what} {text!r}: expected hex bytes such as 0xdeadbeef (an even number of "
            "hex digits)"
        )
    return bytes.fromhex(match.group(1))


def feed_id(text: str) -> bytes:
    """An oracle feed id: 0x and 64 hex digits, or a short text such as ``ETH/USD``.

    Text is encoded as UTF-8 and right-padded with zero bytes to 32 bytes.
    """
    if text.lower().startswith("0x"):
        if _KEY_RE.fullmatch(text):
            return bytes.fromhex(text[2:])
        raise CliError(
            f"invalid FEED {text!r}: a hex feed id is 0x and 64 hex digits; "
            "or pass a short name such as ETH/USD"
        )
    raw = text.encode("utf-8")
    if not raw or len(raw) > 32:
        raise CliError(
            f"invalid FEED {text!r}: a feed name is 1..32 bytes of UTF-8 (such as ETH/USD); "
            "or pass 0x and 64 hex digits"
        )
    return raw.ljust(32, b"\0")


def feed_label(feed: bytes) -> str:
    """How a feed id is shown: its text if it is padded printable UTF-8, else its hex."""
    stripped = feed.rstrip(b"\0")
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and text.isprintable() and b"\0" not in stripped:
        return text
    return "0x" + feed.hex()


def block_tag(text: str) -> str:
    """A block number (decimal or 0x hex) or tag, as the JSON-RPC block parameter."""
    text = text.strip().lower()
    if text in _BLOCK_TAGS:
        return text
    try:
        number = int(text, 16) if text.startswith("0x") else int(text, 10)
    except ValueError:
        number = -1
    if number < 0:
        raise CliError(
            f"invalid block {text!r}: expected a block number or one of {', '.join(_BLOCK_TAGS)}"
        )
    return hex(number)


def tx_hash(text: str) -> str:
    """A transaction hash: 0x and 64 hex digits, lowercased."""
    text = text.strip()
    if not _KEY_RE.fullmatch(text):
        raise CliError(f"invalid transaction hash {text!r}: expected 0x and 64 hex digits")
    return text.lower()
