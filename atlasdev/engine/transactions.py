"""Decode raw signed Ethereum transactions and recover their sender, fast.

This sits on the sequencer's admission path (``eth_sendRawTransaction``), so it avoids
eth-account and the ``rlp`` package, which cost several hundred microseconds per
transaction. Instead it uses a small strict RLP reader that works on byte offsets into the
raw input, so the signing payload can be hashed from slices of the original bytes instead
of being re-encoded. The only expensive step left is the secp256k1 public key recovery.

Every rejection is an :class:`InvalidTransaction` with a one-line message, because the
RPC layer returns that message to the client verbatim.

Supported: legacy (pre-EIP-155 and EIP-155), EIP-2930 (type 1) and EIP-1559 (type 2).
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import coincurve
from Crypto.Hash import keccak as _pycryptodome_keccak

__all__ = [
    "SECP256K1_HALF_N",
    "SECP256K1_N",
    "InvalidTransaction",
    "SignedTransaction",
    "decode_raw_transaction",
    "keccak256",
]

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2

LEGACY_TX_TYPE = 0
ACCESS_LIST_TX_TYPE = 1
DYNAMIC_FEE_TX_TYPE = 2

_MAX_UINT64_BYTES = 8
_MAX_UINT256_BYTES = 32


class InvalidTransaction(ValueError):
    """A raw transaction that must be rejected; the message is one line meant for the client."""


# --------------------------------------------------------------------------------------------
# Keccak-256
#
# ``Crypto.Hash.keccak.new(...).digest()`` spends ~15 µs per call in pure-Python wrapper code
# (the C work for a short input is well under 1 µs), and a transaction needs three hashes. We
# therefore call pycryptodome's own compiled ``_keccak`` module directly through a
# ``ctypes.PyDLL`` handle (no GIL release for these tiny calls) with one reusable hash state
# per thread. If that library cannot be found or fails a self-test against the public API,
# we fall back to the public API.
# --------------------------------------------------------------------------------------------


def _keccak256_public(data: bytes) -> bytes:
    """Keccak-256 via pycryptodome's public (slower) API."""
    return _pycryptodome_keccak.new(data=data, digest_bits=256).digest()


def _build_fast_keccak() -> Callable[[bytes], bytes] | None:
    """Return a Keccak-256 using pycryptodome's C library directly, or None if unavailable."""
    package_dir = Path(_pycryptodome_keccak.__file__).parent
    candidates = [
        package_dir / f"_keccak{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES
    ]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return None
    lib = ctypes.PyDLL(str(path))
    k_init, k_destroy = lib.keccak_init, lib.keccak_destroy
    k_reset, k_absorb, k_digest = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest
    c_size_t = ctypes.c_size_t
    capacity = c_size_t(64)  # 2 * 32 bytes -> Keccak-256
    rounds = ctypes.c_uint8(24)
    digest_len = c_size_t(32)
    padding = ctypes.c_uint8(0x01)  # original Keccak padding, not SHA-3's 0x06

    class _State:
        """One thread's Keccak state and output buffer (the C calls mutate both)."""

        __slots__ = ("out", "ptr")

        def __init__(self) -> None:
            self.ptr = ctypes.c_void_p()
            if k_init(ctypes.byref(self.ptr), capacity, rounds):
                raise RuntimeError("keccak_init failed")
            self.out = ctypes.create_string_buffer(32)

        def __del__(self) -> None:
            if self.ptr:
                k_destroy(self.ptr)
                self.ptr = None

    local = threading.local()

    def keccak256_fast(data: bytes) -> bytes:
        if type(data) is not bytes:  # ctypes only passes bytes as a pointer without copying
            data = bytes(data)
        try:
            state = local.state
        except AttributeError:
            state = local.state = _State()
        ptr, out = state.ptr, state.out
        if (
            k_reset(ptr)
            or k_absorb(ptr, data, c_size_t(len(data)))
            or k_digest(ptr, out, digest_len, padding)
        ):
            raise RuntimeError("keccak C call failed")
        return out.raw

    # Self-test across the rate boundary (136 bytes) before trusting it.
    for n in (0, 1, 55, 135, 136, 137, 300):
        sample = bytes(i & 0xFF for i in range(n))
        if keccak256_fast(sample) != _keccak256_public(sample):
            return None
    return keccak256_fast


def _select_keccak() -> Callable[[bytes], bytes]:
    try:
        fast = _build_fast_keccak()
    except Exception:  # any loader/ABI surprise: use the public API instead
        fast = None
    return fast or _keccak256_public


keccak256: Callable[[bytes], bytes] = _select_keccak()
"""Keccak-256 of ``data`` (Ethereum's hash, not SHA3-256)."""


# --------------------------------------------------------------------------------------------
# Transaction value object
# --------------------------------------------------------------------------------------------

AccessList = tuple[tuple[bytes, tuple[bytes, ...]], ...]


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A decoded, signature-checked transaction; immutable so it can be shared by the pool."""

    tx_type: int  # 0 legacy, 1 EIP-2930, 2 EIP-1559
    chain_id: int | None  # None only for pre-EIP-155 legacy
    nonce: int
    max_priority_fee_per_gas: int  # legacy / type 1: equals gas_price
    max_fee_per_gas: int  # legacy / type 1: equals gas_price
    gas_limit: int
    to: bytes | None  # 20 bytes, or None for contract creation
    value: int
    data: bytes
    access_list: AccessList  # ((address20, (slot32, ...)), ...)
    v: int  # as encoded: 27/28 or chain_id*2+35/36 (legacy); y parity 0/1 (typed)
    r: int
    s: int
    hash: bytes  # keccak256 of raw (for typed txs raw already is type byte || payload)
    sender: bytes  # 20 bytes, recovered from the signature
    raw: bytes

    @property
    def gas_price(self) -> int:
        """Legacy/type-1 gas price, or the fee cap of a type-2 transaction."""
        return self.max_fee_per_gas

    def effective_gas_price(self, base_fee: int) -> int:
        """Price per gas actually paid in a block with ``base_fee`` (EIP-1559 rule).

        Does not check ``max_fee_per_gas >= base_fee``; inclusion rules belong to the caller.
        """
        if self.tx_type == DYNAMIC_FEE_TX_TYPE:
            return min(self.max_fee_per_gas, base_fee + self.max_priority_fee_per_gas)
        return self.max_fee_per_gas


# --------------------------------------------------------------------------------------------
# Strict RLP reading (on offsets into the input)
# --------------------------------------------------------------------------------------------

_Item = tuple[int, int, bool]  # (payload start, payload end == item end, is_list)


def _header(buf: bytes, pos: int, end: int) -> _Item:
    """Parse the item at ``pos`` (which must lie within ``end``), enforcing canonical form."""
    if pos >= end:
        raise InvalidTransaction("rlp: unexpected end of input")
    b = buf[pos]
    if b < 0x80:  # single byte, its own payload
        return pos, pos + 1, False
    if b < 0xB8:  # short string
        start = pos + 1
        stop = start + b - 0x80
        if stop > end:
            raise InvalidTransaction("rlp: string length exceeds available input")
        if b == 0x81 and buf[start] < 0x80:
            raise InvalidTransaction("rlp: non-canonical single byte (must not be prefixed)")
        return start, stop, False
    if b < 0xC0:  # long string
        start, stop = _long_payload(buf, pos, end, b - 0xB7)
        return start, stop, False
    if b < 0xF8:  # short list
        start = pos + 1
        stop = start + b - 0xC0
        if stop > end:
            raise InvalidTransaction("rlp: list length exceeds available input")
        return start, stop, True
    start, stop = _long_payload(buf, pos, end, b - 0xF7)
    return start, stop, True


def _long_payload(buf: bytes, pos: int, end: int, len_of_len: int) -> tuple[int, int]:
    """Payload span of a long-form item whose length takes ``len_of_len`` bytes."""
    start = pos + 1 + len_of_len
    if start > end:
        raise InvalidTransaction("rlp: length prefix exceeds available input")
    if buf[pos + 1] == 0:
        raise InvalidTransaction("rlp: non-canonical length (leading zero byte)")
    size = int.from_bytes(buf[pos + 1 : start], "big")
    if size < 56:
        raise InvalidTransaction("rlp: non-canonical length (long form for short item)")
    stop = start + size
    if stop > end:
        raise InvalidTransaction("rlp: length exceeds available input")
    return start, stop


def _split(buf: bytes, start: int, end: int) -> list[_Item]:
    """Items of the list payload ``buf[start:end]``; each must end within it, none left over."""
    items = []
    append = items.append
    pos = start
    while pos < end:
        b = buf[pos]
        # Inline the two common forms; everything else (and 0x81) goes through _header.
        if b < 0x80:
            item = (pos, pos + 1, False)
        elif b < 0xB8 and b != 0x81:
            item = (pos + 1, pos + b - 0x7F, False)
            if item[1] > end:
                raise InvalidTransaction("rlp: string length exceeds available input")
        else:
            item = _header(buf, pos, end)
        append(item)
        pos = item[1]
    return items


# Integer fields per transaction kind: (item index, name, max bytes).
_IntSpec = tuple[tuple[int, str, int], ...]
_LEGACY_INTS: _IntSpec = (
    (0, "nonce", _MAX_UINT64_BYTES),
    (1, "gas price", _MAX_UINT256_BYTES),
    (2, "gas limit", _MAX_UINT64_BYTES),
    (4, "value", _MAX_UINT256_BYTES),
    (6, "v", _MAX_UINT256_BYTES),
    (7, "r", _MAX_UINT256_BYTES),
    (8, "s", _MAX_UINT256_BYTES),
)
_ACCESS_LIST_INTS: _IntSpec = (
    (0, "chain id", _MAX_UINT256_BYTES),
    (1, "nonce", _MAX_UINT64_BYTES),
    (2, "gas price", _MAX_UINT256_BYTES),
    (3, "gas limit", _MAX_UINT64_BYTES),
    (5, "value", _MAX_UINT256_BYTES),
    (8, "y parity", _MAX_UINT256_BYTES),
    (9, "r", _MAX_UINT256_BYTES),
    (10, "s", _MAX_UINT256_BYTES),
)
_DYNAMIC_FEE_INTS: _IntSpec = (
    (0, "chain id", _MAX_UINT256_BYTES),
    (1, "nonce", _MAX_UINT64_BYTES),
    (2, "max priority fee per gas", _MAX_UINT256_BYTES),
    (3, "max fee per gas", _MAX_UINT256_BYTES),
    (4, "gas limit", _MAX_UINT64_BYTES),
    (6, "value", _MAX_UINT256_BYTES),
    (9, "y parity", _MAX_UINT256_BYTES),
    (10, "r", _MAX_UINT256_BYTES),
    (11, "s", _MAX_UINT256_BYTES),
)


def _uints(buf: bytes, items: list[_Item], spec: _IntSpec) -> list[int]:
    """Canonical big-endian unsigned integers for the fields in ``spec`` (one call, not nine)."""
    values = []
    for index, name, max_bytes in spec:
        start, stop, is_list = items[index]
        if is_list:
            raise InvalidTransaction(f"rlp: {name} must be a string, not a list")
        if stop > start and buf[start] == 0:
            raise InvalidTransaction(f"rlp: non-canonical integer (leading zero byte) in {name}")
        if stop - start > max_bytes:
            raise InvalidTransaction(f"{name} exceeds {max_bytes * 8} bits")
        values.append(int.from_bytes(buf[start:stop], "big"))
    return values


def _to_address(buf: bytes, item: _Item) -> bytes | None:
    start, stop, is_list = item
    if is_list:
        raise InvalidTransaction("rlp: to must be a string, not a list")
    if start == stop:
        return None
    if stop - start != 20:
        raise InvalidTransaction(f"invalid to address: expected 20 bytes, got {stop - start}")
    return buf[start:stop]


def _bytes(buf: bytes, item: _Item, name: str) -> bytes:
    start, stop, is_list = item
    if is_list:
        raise InvalidTransaction(f"rlp: {name} must be a string, not a list")
    return buf[start:stop]


def _access_list(buf: bytes, item: _Item) -> AccessList:
    """Decode ``[[address20, [slot32, ...]], ...]``, checking every shape."""
    start, stop, is_list = item
    if not is_list:
        raise InvalidTransaction("rlp: access list must be a list")
    if start == stop:
        return ()
    entries = []
    for e_start, e_stop, e_is_list in _split(buf, start, stop):
        if not e_is_list:
            raise InvalidTransaction("access list entry must be a list [address, storage keys]")
        parts = _split(buf, e_start, e_stop)
        if len(parts) != 2:
            raise InvalidTransaction(
                f"access list entry must have 2 items [address, storage keys], got {len(parts)}"
            )
        (a_start, a_stop, a_is_list), (k_start, k_stop, k_is_list) = parts
        if a_is_list or a_stop - a_start != 20:
            raise InvalidTransaction("access list address must be 20 bytes")
        if not k_is_list:
            raise InvalidTransaction("access list storage keys must be a list")
        keys = []
        for s_start, s_stop, s_is_list in _split(buf, k_start, k_stop):
            if s_is_list or s_stop - s_start != 32:
                raise InvalidTransaction("access list storage key must be 32 bytes")
            keys.append(buf[s_start:s_stop])
        entries.append((buf[a_start:a_stop], tuple(keys)))
    return tuple(entries)


def _list_prefix(length: int) -> bytes:
    """RLP list header for a payload of ``length`` bytes."""
    if length < 56:
        return bytes((0xC0 + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(size),)) + size


def _encode_uint(value: int) -> bytes:
    """RLP encoding of an unsigned integer below 2**256."""
    if value == 0:
        return b"\x80"
    if value < 0x80:
        return bytes((value,))
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(data),)) + data


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def decode_raw_transaction(raw: bytes) -> SignedTransaction:
    """Decode ``raw`` (eth_sendRawTransaction bytes), check it and recover the sender.

    Raises :class:`InvalidTransaction` (and nothing else) for any malformed or badly signed
    input, so the RPC layer needs a single ``except``.
    """
    try:
        return _decode(raw)
    except InvalidTransaction:
        raise
    except Exception as exc:  # safety net: a decoder bug must still reject, not crash the RPC
        raise InvalidTransaction(f"malformed transaction ({type(exc).__name__})") from exc


def _decode(raw: bytes) -> SignedTransaction:
    if type(raw) is not bytes:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise InvalidTransaction(f"raw transaction must be bytes, not {type(raw).__name__}")
        raw = bytes(raw)
    size = len(raw)
    if size == 0:
        raise InvalidTransaction("empty transaction")
    first = raw[0]
    if first >= 0xC0:
        return _decode_legacy(raw, size)
    if first in (ACCESS_LIST_TX_TYPE, DYNAMIC_FEE_TX_TYPE):
        return _decode_typed(raw, size, first)
    if first < 0x80:
        raise InvalidTransaction(f"transaction type 0x{first:02x} not supported")
    raise InvalidTransaction("rlp: legacy transaction must be an RLP list, got a string")


def _outer_list(raw: bytes, pos: int, size: int) -> tuple[int, list[_Item]]:
    """Payload start and items of the list at ``pos``, which must end exactly at ``size``."""
    start, stop, is_list = _header(raw, pos, size)
    if not is_list:
        raise InvalidTransaction("rlp: transaction payload must be an RLP list")
    if stop != size:
        raise InvalidTransaction(f"rlp: {size - stop} trailing bytes after transaction")
    return start, _split(raw, start, stop)


def _decode_legacy(raw: bytes, size: int) -> SignedTransaction:
    payload_start, items = _outer_list(raw, 0, size)
    if len(items) != 9:
        raise InvalidTransaction(f"legacy transaction must have 9 fields, got {len(items)}")
    nonce, gas_price, gas_limit, value, v, r, s = _uints(raw, items, _LEGACY_INTS)
    to = _to_address(raw, items[3])
    data = _bytes(raw, items[5], "data")

    unsigned = raw[payload_start : items[5][1]]
    if v >= 35:  # EIP-155: v = chain_id * 2 + 35 + y_parity
        chain_id: int | None = (v - 35) >> 1
        recovery_id = (v - 35) & 1
        unsigned += _encode_uint(chain_id) + b"\x80\x80"
    elif v in (27, 28):
        chain_id = None
        recovery_id = v - 27
    else:
        raise InvalidTransaction(f"invalid signature: legacy v must be 27, 28 or >= 35, got {v}")
    signing_hash = keccak256(_list_prefix(len(unsigned)) + unsigned)
    sender = _recover_sender(signing_hash, r, s, recovery_id)
    return SignedTransaction(
        LEGACY_TX_TYPE,
        chain_id,
        nonce,
        gas_price,
        gas_price,
        gas_limit,
        to,
        value,
        data,
        (),
        v,
        r,
        s,
        keccak256(raw),
        sender,
        raw,
    )


def _decode_typed(raw: bytes, size: int, tx_type: int) -> SignedTransaction:
    payload_start, items = _outer_list(raw, 1, size)
    expected = 11 if tx_type == ACCESS_LIST_TX_TYPE else 12
    if len(items) != expected:
        raise InvalidTransaction(
            f"type 0x{tx_type:02x} transaction must have {expected} fields, got {len(items)}"
        )
    if tx_type == ACCESS_LIST_TX_TYPE:
        chain_id, nonce, max_fee, gas_limit, value, y_parity, r, s = _uints(
            raw, items, _ACCESS_LIST_INTS
        )
        max_priority_fee = max_fee
        i = 3  # index of gas limit; the remaining fields follow it in the same order
    else:
        chain_id, nonce, max_priority_fee, max_fee, gas_limit, value, y_parity, r, s = _uints(
            raw, items, _DYNAMIC_FEE_INTS
        )
        i = 4
    to = _to_address(raw, items[i + 1])
    data = _bytes(raw, items[i + 3], "data")
    access_list = _access_list(raw, items[i + 4])
    if y_parity > 1:
        raise InvalidTransaction(f"invalid signature: y parity must be 0 or 1, got {y_parity}")

    unsigned = raw[payload_start : items[i + 4][1]]
    signing_hash = keccak256(raw[:1] + _list_prefix(len(unsigned)) + unsigned)
    sender = _recover_sender(signing_hash, r, s, y_parity)
    return SignedTransaction(
        tx_type,
        chain_id,
        nonce,
        max_priority_fee,
        max_fee,
        gas_limit,
        to,
        value,
        data,
        access_list,
        y_parity,
        r,
        s,
        keccak256(raw),
        sender,
        raw,
    )


_recover_public_key = coincurve.PublicKey.from_signature_and_message


def _recover_sender(signing_hash: bytes, r: int, s: int, recovery_id: int) -> bytes:
    """Check r/s ranges (incl. EIP-2 low-s) and recover the 20-byte sender address."""
    if not 0 < r < SECP256K1_N:
        raise InvalidTransaction("invalid signature: r out of range [1, secp256k1n-1]")
    if not 0 < s < SECP256K1_N:
        raise InvalidTransaction("invalid signature: s out of range [1, secp256k1n-1]")
    if s > SECP256K1_HALF_N:
        raise InvalidTransaction("invalid signature: s above secp256k1n/2")
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((recovery_id,))
    try:
        public_key = _recover_public_key(signature, signing_hash, hasher=None)
        uncompressed = public_key.format(compressed=False)
    except Exception as exc:  # coincurve raises ValueError (and could raise others)
        raise InvalidTransaction("invalid sender: public key recovery failed") from exc
    return keccak256(uncompressed[1:])[12:]
