"""The execution environment's fixed points: system contract addresses, selectors, gas, reasons.

Host and STF both read these; the STF sees them as compile-time constants.
"""

import numpy as np
from eth_hash.auto import keccak

from .blake2s import pack_bytes


def _address(value: int) -> bytes:
    return value.to_bytes(20, "big")


STABLECOIN_ADDRESS = _address(0xA7001)
ORACLE_ADDRESS = _address(0xA7002)
MESSENGER_ADDRESS = _address(0xA7003)
SYSTEM_ADDRESSES = (STABLECOIN_ADDRESS, ORACLE_ADDRESS, MESSENGER_ADDRESS)


def address_words(address: bytes) -> tuple[int, ...]:
    """The 5 packed words of an address, as the STF compares them."""
    return tuple(int(w) for w in pack_bytes(address))


STABLECOIN_WORDS = address_words(STABLECOIN_ADDRESS)
ORACLE_WORDS = address_words(ORACLE_ADDRESS)
MESSENGER_WORDS = address_words(MESSENGER_ADDRESS)

EMITTER_STABLECOIN = 0
EMITTER_ORACLE = 1
EMITTER_MESSENGER = 2
EMITTER_ADDRESSES = (STABLECOIN_ADDRESS, ORACLE_ADDRESS, MESSENGER_ADDRESS)


def selector(signature: str) -> int:
    return int.from_bytes(keccak(signature.encode())[:4], "big")


SEL_TRANSFER = selector("transfer(address,uint256)")
SEL_BALANCE_OF = selector("balanceOf(address)")
SEL_TOTAL_SUPPLY = selector("totalSupply()")
SEL_DECIMALS = selector("decimals()")
SEL_SYMBOL = selector("symbol()")
SEL_NAME = selector("name()")
SEL_MINT = selector("mint(address,uint256)")
SEL_IS_MINTER = selector("isMinter(address)")
SEL_SET_PRICE = selector("setPrice(bytes32,uint256)")
SEL_GET_PRICE = selector("getPrice(bytes32)")
SEL_IS_FEEDER = selector("isFeeder(address)")
SEL_SEND_MESSAGE = selector("sendMessage(uint256,address,bytes)")
SEL_MESSAGE_COUNT = selector("messageCount()")
SEL_SEND_TOKEN = selector("sendToken(uint256,address,uint256)")
SEL_RELAY_MESSAGE = selector(
    "relayMessage(uint256,uint256,uint256,address,address,uint256,bytes,bytes32,uint256,"
    "bytes32[],uint256,uint256,bytes32[])"
)

EVENT_TRANSFER = 0
EVENT_PRICE_UPDATED = 1
EVENT_MESSAGE_SENT = 2
EVENT_MESSAGE_EXECUTED = 3
EVENT_SIGNATURES = (
    "Transfer(address,address,uint256)",
    "PriceUpdated(bytes32,uint256)",
    "MessageSent(uint256,address,address,uint256,bytes32)",
    "MessageExecuted(uint256,address,bytes32,uint256,uint256)",
)
EVENT_TOPICS = tuple(keccak(s.encode()) for s in EVENT_SIGNATURES)

STABLECOIN_NAME = "Atlas USD"
STABLECOIN_SYMBOL = "aUSD"
STABLECOIN_DECIMALS = 18


def _abi_string(text: str) -> np.ndarray:
    """ABI return encoding of a string (offset, length, padded bytes), packed for the STF."""
    raw = text.encode()
    enc = (32).to_bytes(32, "big") + len(raw).to_bytes(32, "big") + raw.ljust(32, b"\0")
    return pack_bytes(enc)


NAME_ABI = _abi_string(STABLECOIN_NAME)
SYMBOL_ABI = _abi_string(STABLECOIN_SYMBOL)

# storage slot tags (word 0 of a slot); a mapping slot carries the address in words 1..5
SLOT_BALANCE = 1
SLOT_TOTAL_SUPPLY = 2
SLOT_MINTER = 3
SLOT_FEEDER = 1
SLOT_MESSAGE_COUNT = 1

GAS_TX = 21_000
GAS_TOKEN_TRANSFER = 30_000
GAS_TOKEN_MINT = 32_000
GAS_VIEW = 2_600
GAS_SET_PRICE = 25_000
GAS_SEND_MESSAGE = 40_000
GAS_MESSAGE_BYTE = 8
MAX_MESSAGE_BYTES = 4096
GAS_SEND_TOKEN = 60_000
TOKEN_MESSAGE_BYTES = 52  # a token message's payload: the burner (20 bytes), the amount (32, BE)
GAS_RELAY_MESSAGE = 50_000
GAS_PROOF_STEP = 1_000  # per sibling hashed on the two paths
MAX_PROOF_DEPTH = 32

# Receipt reasons. Below REASON_FIRST_FAILURE the transaction is invalid and is not included.
REASON_NONE = 0
REASON_NONCE_TOO_LOW = 1
REASON_NONCE_TOO_HIGH = 2
REASON_INSUFFICIENT_FUNDS = 3
REASON_FEE_CAP_TOO_LOW = 4
REASON_INTRINSIC_GAS = 5
REASON_TIP_ABOVE_FEE_CAP = 6
REASON_FIRST_FAILURE = 16
REASON_OUT_OF_GAS = 16
REASON_CREATE_UNSUPPORTED = 17
REASON_NON_PAYABLE = 18
REASON_UNKNOWN_SELECTOR = 19
REASON_BAD_CALLDATA = 20
REASON_TOKEN_BALANCE = 21
REASON_NOT_MINTER = 22
REASON_SUPPLY_OVERFLOW = 23
REASON_NOT_FEEDER = 24
REASON_MESSAGE_TO_SELF = 25
REASON_MESSAGE_TOO_LONG = 26
REASON_BALANCE_OVERFLOW = 27
REASON_BAD_MESSAGE_PROOF = 28  # also a message for another chain: its hash names this one
REASON_ALREADY_EXECUTED = 29
REASON_FAULT = 0xFFFF  # the witness lacked a key: the whole block is rejected

REASON_TEXT = {
    REASON_NONE: "",
    REASON_NONCE_TOO_LOW: "nonce too low",
    REASON_NONCE_TOO_HIGH: "nonce too high",
    REASON_INSUFFICIENT_FUNDS: "insufficient funds for gas * price + value",
    REASON_FEE_CAP_TOO_LOW: "max fee per gas less than block base fee",
    REASON_INTRINSIC_GAS: "intrinsic gas too low",
    REASON_TIP_ABOVE_FEE_CAP: "max priority fee per gas higher than max fee per gas",
    REASON_OUT_OF_GAS: "out of gas",
    REASON_CREATE_UNSUPPORTED: "contract creation is not supported by this execution environment",
    REASON_NON_PAYABLE: "non-payable function was sent value",
    REASON_UNKNOWN_SELECTOR: "unknown function selector",
    REASON_BAD_CALLDATA: "malformed calldata",
    REASON_TOKEN_BALANCE: "ERC20: transfer amount exceeds balance",
    REASON_NOT_MINTER: "mint: caller is not a minter",
    REASON_SUPPLY_OVERFLOW: "mint: total supply overflow",
    REASON_NOT_FEEDER: "oracle: caller is not an authorised feeder",
    REASON_MESSAGE_TO_SELF: "messenger: destination is this chain",
    REASON_MESSAGE_TOO_LONG: "messenger: data longer than 4096 bytes",
    REASON_BALANCE_OVERFLOW: "balance overflow",
    REASON_BAD_MESSAGE_PROOF: "messenger: the message is not under an imported interop root",
    REASON_ALREADY_EXECUTED: "messenger: the message was already executed",
}
EVENT_DATA_BYTES = (32, 32, 64, 64)
