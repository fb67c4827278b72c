"""Host-side state keys: which leaves a transaction may touch, so the witness can cover them.

The STF derives the same keys itself (state.derive_key) and faults if the witness lacks one; a
test checks these hashlib-based twins against it. Hints may over-approximate: an extra witnessed
key costs a few hashes, a missing one rejects the block.
"""

import functools
import hashlib
import struct

from .relay import decode_relay
from .system import (
    MESSENGER_ADDRESS,
    ORACLE_ADDRESS,
    SEL_BALANCE_OF,
    SEL_GET_PRICE,
    SEL_IS_FEEDER,
    SEL_IS_MINTER,
    SEL_MESSAGE_COUNT,
    SEL_MINT,
    SEL_RELAY_MESSAGE,
    SEL_SEND_MESSAGE,
    SEL_SEND_TOKEN,
    SEL_SET_PRICE,
    SEL_TOTAL_SUPPLY,
    SEL_TRANSFER,
    SLOT_BALANCE,
    SLOT_FEEDER,
    SLOT_MESSAGE_COUNT,
    SLOT_MINTER,
    SLOT_TOTAL_SUPPLY,
    STABLECOIN_ADDRESS,
)

DOMAIN_ACCOUNT = 1
DOMAIN_STORAGE = 2
DOMAIN_FEED = 3
DOMAIN_INTEROP = 4
DOMAIN_EXECUTED = 5


def _key(domain: int, address: bytes, slot: bytes) -> bytes:
    preimage = struct.pack("<I", domain) + address + slot + bytes(8)
    return hashlib.blake2s(preimage).digest()


@functools.lru_cache(maxsize=1 << 20)
def account_key(address: bytes) -> bytes:
    return _key(DOMAIN_ACCOUNT, address, bytes(32))


def storage_key(contract: bytes, tag: int, holder: bytes | None = None) -> bytes:
    """Key of slot [tag, holder] of a system contract."""
    slot = struct.pack("<I", tag) + (holder or bytes(20)) + bytes(8)
    return _key(DOMAIN_STORAGE, contract, slot)


def feed_key(feed: bytes) -> bytes:
    return _key(DOMAIN_FEED, ORACLE_ADDRESS, feed)


def interop_root_key(root: bytes) -> bytes:
    """The messenger's slot recording that this chain imported interop root ``root``."""
    return _key(DOMAIN_INTEROP, MESSENGER_ADDRESS, root)


def executed_key(message: bytes) -> bytes:
    """The messenger's slot recording that the message with this hash was executed here."""
    return _key(DOMAIN_EXECUTED, MESSENGER_ADDRESS, message)


@functools.lru_cache(maxsize=1 << 20)
def token_balance_key(holder: bytes) -> bytes:
    return storage_key(STABLECOIN_ADDRESS, SLOT_BALANCE, holder)


def token_minter_key(account: bytes) -> bytes:
    return storage_key(STABLECOIN_ADDRESS, SLOT_MINTER, account)


TOKEN_SUPPLY_KEY = storage_key(STABLECOIN_ADDRESS, SLOT_TOTAL_SUPPLY)
MESSAGE_COUNT_KEY = storage_key(MESSENGER_ADDRESS, SLOT_MESSAGE_COUNT)


def oracle_feeder_key(account: bytes) -> bytes:
    return storage_key(ORACLE_ADDRESS, SLOT_FEEDER, account)


def _arg_address(data: bytes, index: int) -> bytes | None:
    word = data[4 + 32 * index : 4 + 32 * (index + 1)]
    return word[12:] if len(word) == 32 else None


def touched_keys(sender: bytes, to: bytes | None, data: bytes, chain_id: int = 0) -> set[bytes]:
    """Every key a transaction from `sender` to `to` with calldata `data` may read or write on
    chain `chain_id` (a relayed message's hash names its destination)."""
    keys = {account_key(sender)}
    if to is None:
        return keys
    selector = int.from_bytes(data[:4], "big") if len(data) >= 4 else -1
    if to == STABLECOIN_ADDRESS:
        keys.add(token_balance_key(sender))
        arg = _arg_address(data, 0)
        if selector in (SEL_TRANSFER, SEL_MINT, SEL_BALANCE_OF) and arg is not None:
            keys.add(token_balance_key(arg))
        if selector in (SEL_MINT, SEL_TOTAL_SUPPLY):
            keys.add(TOKEN_SUPPLY_KEY)
            keys.add(token_minter_key(sender))
        if selector == SEL_IS_MINTER and arg is not None:
            keys.add(token_minter_key(arg))
    elif to == ORACLE_ADDRESS:
        keys.add(oracle_feeder_key(sender))
        if selector in (SEL_SET_PRICE, SEL_GET_PRICE) and len(data) >= 36:
            keys.add(feed_key(data[4:36]))
        arg = _arg_address(data, 0)
        if selector == SEL_IS_FEEDER and arg is not None:
            keys.add(oracle_feeder_key(arg))
    elif to == MESSENGER_ADDRESS:
        if selector in (SEL_SEND_MESSAGE, SEL_MESSAGE_COUNT, SEL_SEND_TOKEN):
            keys.add(MESSAGE_COUNT_KEY)
        if selector == SEL_SEND_TOKEN:
            keys |= {token_balance_key(sender), TOKEN_SUPPLY_KEY}
        if selector == SEL_RELAY_MESSAGE:
            relay = decode_relay(data)
            root = None if relay is None else relay.root(chain_id)
            if relay is not None and root is not None:
                keys |= {
                    interop_root_key(root),
                    executed_key(relay.message_hash(chain_id)),
                    account_key(relay.to),
                }
                if relay.sender == STABLECOIN_ADDRESS:  # a token message mints aUSD
                    keys |= {token_balance_key(relay.to), TOKEN_SUPPLY_KEY}
    else:
        keys.add(account_key(to))
    return keys
