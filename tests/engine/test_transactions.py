"""Tests for atlasdev.engine.transactions, with eth-account as the independent reference."""

from __future__ import annotations

import dataclasses
import functools
import random
import threading
import timeit

import coincurve
import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlasdev.engine import transactions as T
from atlasdev.engine.transactions import (
    SECP256K1_N,
    InvalidTransaction,
    SignedTransaction,
    decode_raw_transaction,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UINT256_MAX = 2**256 - 1
UINT64_MAX = 2**64 - 1
SECP256K1_P = 2**256 - 2**32 - 977


# ------------------------------------------------------------------------------------------
# Test-side helpers: a permissive RLP encoder (so we can also write non-canonical bytes)
# ------------------------------------------------------------------------------------------


class Enc(bytes):
    """Already-encoded RLP bytes, inserted verbatim by ``rlp``."""


def _prefix(offset: int, length: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(size),)) + size


def rlp(item: object) -> bytes:
    if isinstance(item, Enc):
        return bytes(item)
    if isinstance(item, int):
        item = item.to_bytes((item.bit_length() + 7) // 8, "big")
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _prefix(0x80, len(item)) + item
    assert isinstance(item, list | tuple)
    payload = b"".join(rlp(x) for x in item)
    return _prefix(0xC0, len(payload)) + payload


def keccak(data: bytes) -> bytes:
    return pycryptodome_keccak.new(data=data, digest_bits=256).digest()


def envelope(tx_type: int, fields: list) -> bytes:
    body = rlp(fields)
    return body if tx_type == 0 else bytes((tx_type,)) + body


def fields_of(tx: SignedTransaction) -> list:
    """The transaction's RLP field list, rebuilt from the decoded values."""
    to = tx.to if tx.to is not None else b""
    al = [[address, list(keys)] for address, keys in tx.access_list]
    sig = [tx.v, tx.r, tx.s]
    if tx.tx_type == 0:
        return [tx.nonce, tx.gas_price, tx.gas_limit, to, tx.value, tx.data, *sig]
    if tx.tx_type == 1:
        return [tx.chain_id, tx.nonce, tx.gas_price, tx.gas_limit, to, tx.value, tx.data, al, *sig]
    return [
        tx.chain_id,
        tx.nonce,
        tx.max_priority_fee_per_gas,
        tx.max_fee_per_gas,
        tx.gas_limit,
        to,
        tx.value,
        tx.data,
        al,
        *sig,
    ]


def sign_fields(tx_type: int, unsigned: list, key: bytes, chain_id: int | None = None) -> bytes:
    """Sign an arbitrary field list ourselves (coincurve), for inputs eth-account won't build."""
    if tx_type == 0:
        payload = unsigned + ([chain_id, 0, 0] if chain_id is not None else [])
        digest = keccak(rlp(payload))
    else:
        digest = keccak(bytes((tx_type,)) + rlp(unsigned))
    sig = coincurve.PrivateKey(key).sign_recoverable(digest, hasher=None)
    r, s, recid = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    v = recid  # typed: y parity
    if tx_type == 0:
        v = 27 + recid if chain_id is None else chain_id * 2 + 35 + recid
    return envelope(tx_type, [*unsigned, v, r, s])


def address_of(key: bytes) -> bytes:
    return bytes.fromhex(Account.from_key(key).address[2:])


KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


@functools.cache
def sample_raws() -> tuple[bytes, ...]:
    """One eth-account-signed transaction of each kind (cached: signing is slow)."""
    acct = Account.from_key(KEY)
    to = b"\x35" * 20
    txs = [
        dict(nonce=7, gasPrice=10**9, gas=21000, to=to, value=10**18, data=b"\x01\x02", chainId=1),
        dict(nonce=7, gasPrice=10**9, gas=21000, to=to, value=1, data=b"\xde\xad\xbe\xef"),
        dict(
            type=1,
            nonce=1,
            gasPrice=3,
            gas=50000,
            to=to,
            value=0,
            data=b"\xaa" * 70,
            chainId=1337,
            accessList=[
                {"address": to_checksum_address(to), "storageKeys": ["0x" + "00" * 31 + "07"]}
            ],
        ),
        dict(
            type=2,
            nonce=0,
            maxFeePerGas=2 * 10**9,
            maxPriorityFeePerGas=10**8,
            gas=100000,
            value=5,
            data=b"\x60\x00" * 40,
            chainId=2**32 + 7,
        ),
    ]
    return tuple(bytes(acct.sign_transaction(tx).raw_transaction) for tx in txs)


# ------------------------------------------------------------------------------------------
# Round trips against eth-account
# ------------------------------------------------------------------------------------------

private_keys = st.integers(1, SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
chain_ids = st.one_of(
    st.sampled_from([1, 5, 1337, 2**31 - 1, 2**32 + 7, 2**53 + 1, 2**64 + 3]),
    st.integers(1, 2**100),
)
addresses = st.binary(min_size=20, max_size=20)
base_fields = st.fixed_dictionaries(
    {
        "nonce": st.integers(0, UINT64_MAX),
        "gas": st.integers(0, UINT64_MAX),
        "value": st.integers(0, UINT256_MAX),
        "data": st.binary(max_size=200),
        "to": st.one_of(st.none(), addresses),
    }
)
access_lists = st.lists(
    st.tuples(addresses, st.lists(st.binary(min_size=32, max_size=32), max_size=3)),
    max_size=3,
)


def check_against_reference(key: bytes, tx: dict) -> SignedTransaction:
    """Sign ``tx`` with eth-account, decode it, and compare every field."""
    if tx.get("to") is None:
        tx = {k: v for k, v in tx.items() if k != "to"}
    signed = Account.sign_transaction(tx, key)
    raw = bytes(signed.raw_transaction)
    decoded = decode_raw_transaction(raw)
    assert decoded.raw == raw
    assert decoded.hash == bytes(signed.hash)
    assert decoded.sender == address_of(key)
    assert (decoded.v, decoded.r, decoded.s) == (signed.v, signed.r, signed.s)
    assert decoded.nonce == tx["nonce"]
    assert decoded.gas_limit == tx["gas"]
    assert decoded.value == tx["value"]
    assert decoded.data == tx["data"]
    assert decoded.to == tx.get("to")
    assert decoded.chain_id == tx.get("chainId")
    # Our test encoder rebuilding the decoded fields must give back the exact bytes.
    assert envelope(decoded.tx_type, fields_of(decoded)) == raw
    return decoded


@SETTINGS
@given(
    key=private_keys, fields=base_fields, gas_price=st.integers(0, UINT256_MAX), chain_id=chain_ids
)
def test_legacy_eip155_matches_eth_account(key, fields, gas_price, chain_id):
    tx = check_against_reference(key, dict(fields, gasPrice=gas_price, chainId=chain_id))
    assert tx.tx_type == 0
    assert tx.v in (chain_id * 2 + 35, chain_id * 2 + 36)
    assert tx.gas_price == tx.max_fee_per_gas == tx.max_priority_fee_per_gas == gas_price
    assert tx.access_list == ()


@SETTINGS
@given(key=private_keys, fields=base_fields, gas_price=st.integers(0, UINT256_MAX))
def test_legacy_pre_eip155_matches_eth_account(key, fields, gas_price):
    tx = check_against_reference(key, dict(fields, gasPrice=gas_price))
    assert tx.tx_type == 0
    assert tx.chain_id is None
    assert tx.v in (27, 28)


@SETTINGS
@given(
    key=private_keys,
    fields=base_fields,
    gas_price=st.integers(0, UINT256_MAX),
    chain_id=chain_ids,
    access_list=access_lists,
)
def test_access_list_tx_matches_eth_account(key, fields, gas_price, chain_id, access_list):
    al = [
        {"address": to_checksum_address(a), "storageKeys": ["0x" + k.hex() for k in keys]}
        for a, keys in access_list
    ]
    tx = check_against_reference(
        key, dict(fields, type=1, gasPrice=gas_price, chainId=chain_id, accessList=al)
    )
    assert tx.tx_type == 1
    assert tx.v in (0, 1)
    assert tx.gas_price == tx.max_fee_per_gas == tx.max_priority_fee_per_gas == gas_price
    assert tx.access_list == tuple((a, tuple(keys)) for a, keys in access_list)


@SETTINGS
@given(
    key=private_keys,
    fields=base_fields,
    max_fee=st.integers(0, UINT256_MAX),
    priority_fee=st.integers(0, UINT256_MAX),
    chain_id=chain_ids,
    access_list=access_lists,
)
def test_dynamic_fee_tx_matches_eth_account(
    key, fields, max_fee, priority_fee, chain_id, access_list
):
    al = [
        {"address": to_checksum_address(a), "storageKeys": ["0x" + k.hex() for k in keys]}
        for a, keys in access_list
    ]
    tx = check_against_reference(
        key,
        dict(
            fields,
            type=2,
            maxFeePerGas=max_fee,
            maxPriorityFeePerGas=priority_fee,
            chainId=chain_id,
            accessList=al,
        ),
    )
    assert tx.tx_type == 2
    assert tx.v in (0, 1)
    assert tx.max_fee_per_gas == tx.gas_price == max_fee
    assert tx.max_priority_fee_per_gas == priority_fee
    assert tx.access_list == tuple((a, tuple(keys)) for a, keys in access_list)


def test_eip155_specification_example():
    """The worked example from EIP-155 (independent of any library)."""
    raw = bytes.fromhex(
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000"
        "8025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f"
        "761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
    )
    tx = decode_raw_transaction(raw)
    assert tx.sender == bytes.fromhex("9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f")
    assert tx.sender == address_of(b"\x46" * 32)
    assert (tx.chain_id, tx.nonce, tx.gas_price, tx.gas_limit) == (1, 9, 20 * 10**9, 21000)
    assert (tx.to, tx.value, tx.data, tx.v) == (b"\x35" * 20, 10**18, b"", 37)
    assert tx.hash == keccak(raw)


def test_accepts_bytearray_and_memoryview():
    raw = sample_raws()[3]
    expected = decode_raw_transaction(raw)
    assert decode_raw_transaction(bytearray(raw)) == expected
    assert decode_raw_transaction(memoryview(raw)) == expected
    assert type(decode_raw_transaction(bytearray(raw)).raw) is bytes


def test_self_signed_edge_values_decode():
    """Field maxima and contract creation, signed by our own helper."""
    for tx_type, unsigned, chain_id in [
        (0, [UINT64_MAX, UINT256_MAX, UINT64_MAX, b"", UINT256_MAX, b""], None),
        (0, [0, 0, 0, b"\x01" * 20, 0, b"\x00" * 1000], 2**32 + 7),
        (1, [UINT256_MAX, UINT64_MAX, 0, 0, b"", 0, b"", []], None),
        (2, [0, 0, 0, 0, 0, b"", 0, b"\xff" * 60, [[b"\x02" * 20, []]]], None),
    ]:
        raw = sign_fields(tx_type, unsigned, KEY, chain_id)
        tx = decode_raw_transaction(raw)
        assert tx.sender == address_of(KEY)
        assert envelope(tx_type, fields_of(tx)) == raw


def test_transaction_is_frozen_and_prices():
    legacy = decode_raw_transaction(sample_raws()[0])
    dynamic = decode_raw_transaction(sample_raws()[3])
    with pytest.raises(dataclasses.FrozenInstanceError):
        legacy.nonce = 1  # type: ignore[misc]
    assert legacy.gas_price == 10**9
    assert legacy.effective_gas_price(5 * 10**8) == 10**9
    assert dynamic.gas_price == 2 * 10**9
    assert dynamic.effective_gas_price(10**9) == 10**9 + 10**8  # base + tip
    assert dynamic.effective_gas_price(19 * 10**8) == 2 * 10**9  # capped at max fee


# ------------------------------------------------------------------------------------------
# Tampering and malformed input
# ------------------------------------------------------------------------------------------


def _flip(raw: bytes, index: int, mask: int = 0x01) -> bytes:
    return raw[:index] + bytes((raw[index] ^ mask,)) + raw[index + 1 :]


@pytest.mark.parametrize("which", range(4))
@pytest.mark.parametrize("field", ["r", "s", "data"])
def test_tampered_signature_or_data_never_yields_original_sender(which, field):
    raw = sample_raws()[which]
    original = decode_raw_transaction(raw)
    if field == "data":
        if not original.data:
            pytest.skip("no data")
        target = original.data
    else:
        target = getattr(original, field).to_bytes(32, "big").lstrip(b"\x00")
    start = raw.index(target)
    for index in (start, start + len(target) // 2, start + len(target) - 1):
        for mask in (0x01, 0x80):
            tampered = _flip(raw, index, mask)
            try:
                tx = decode_raw_transaction(tampered)
            except InvalidTransaction:
                continue
            assert tx.sender != original.sender
            assert tx.hash != original.hash


@settings(max_examples=60, deadline=None)
@given(which=st.integers(0, 3), data=st.data())
def test_any_single_byte_change_is_rejected_or_changes_sender(which, data):
    raw = sample_raws()[which]
    index = data.draw(st.integers(0, len(raw) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    tampered = raw[:index] + bytes((new,)) + raw[index + 1 :]
    try:
        tx = T._decode(tampered)  # bypass the safety net: only InvalidTransaction may escape
    except InvalidTransaction:
        return
    assert tx.sender != decode_raw_transaction(raw).sender


def test_every_truncation_is_rejected():
    for raw in sample_raws():
        for cut in range(len(raw)):
            with pytest.raises(InvalidTransaction):
                T._decode(raw[:cut])


@pytest.mark.parametrize("which", range(4))
@pytest.mark.parametrize("extra", [b"\x00", b"\x80", b"\xc0", b"\x01\x02\x03"])
def test_trailing_bytes_rejected(which, extra):
    with pytest.raises(InvalidTransaction, match="trailing bytes"):
        decode_raw_transaction(sample_raws()[which] + extra)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty transaction"),
        (b"\xc0", "legacy transaction must have 9 fields, got 0"),
        (b"\x80", "must be an RLP list"),
        (b"\xb8\x38" + b"\x00" * 56, "must be an RLP list"),
        (b"\x02", "unexpected end of input"),
        (b"\x02\x80", "payload must be an RLP list"),
        (b"\x01\xc0", "type 0x01 transaction must have 11 fields, got 0"),
        (b"\xf8", "length prefix exceeds available input"),
        (b"\xc5\x80", "list length exceeds available input"),
    ],
)
def test_malformed_envelopes(raw, message):
    with pytest.raises(InvalidTransaction, match=message):
        decode_raw_transaction(raw)


@pytest.mark.parametrize("bad", ["f86c...", 1234, None, [1, 2], object()])
def test_non_bytes_rejected(bad):
    with pytest.raises(InvalidTransaction, match="raw transaction must be bytes"):
        decode_raw_transaction(bad)


@pytest.mark.parametrize("first", [0x00, 0x03, 0x04, 0x05, 0x7E, 0x7F])
def test_unsupported_types(first):
    payload = sample_raws()[3][1:]
    with pytest.raises(InvalidTransaction, match=f"^transaction type 0x{first:02x} not supported$"):
        decode_raw_transaction(bytes((first,)) + payload)


def _legacy_with(index: int, encoded: bytes) -> bytes:
    """Sample legacy EIP-155 transaction with field ``index`` replaced by raw RLP bytes."""
    fields: list = fields_of(decode_raw_transaction(sample_raws()[0]))
    fields[index] = Enc(encoded)
    return rlp(fields)


@pytest.mark.parametrize(
    ("index", "encoded", "message"),
    [
        (0, b"\x82\x00\x07", "rlp: non-canonical integer"),  # nonce 7 with a leading zero
        (0, b"\x00", "rlp: non-canonical integer"),  # zero must be 0x80
        (4, b"\x81\x05", "rlp: non-canonical single byte"),  # 5 must be the byte 0x05
        (5, b"\x81\x02", "rlp: non-canonical single byte"),  # also for byte strings
        (5, b"\xb8\x02\x01\x02", r"rlp: non-canonical length \(long form"),
        (5, b"\xb9\x00\x40" + b"\x01" * 64, r"rlp: non-canonical length \(leading zero"),
        (0, b"\xc0", "rlp: nonce must be a string, not a list"),
        (3, b"\x93" + b"\x11" * 19, "invalid to address: expected 20 bytes, got 19"),
        (3, b"\x95" + b"\x11" * 21, "invalid to address: expected 20 bytes, got 21"),
        (3, b"\xc0", "rlp: to must be a string"),
        (5, b"\xc0", "rlp: data must be a string"),
        (0, b"\x89\x01" + b"\x00" * 8, "nonce exceeds 64 bits"),
        (2, b"\x89\x01" + b"\x00" * 8, "gas limit exceeds 64 bits"),
        (4, b"\xa1\x01" + b"\x00" * 32, "value exceeds 256 bits"),
        (1, b"\xa1\x01" + b"\x00" * 32, "gas price exceeds 256 bits"),
    ],
)
def test_non_canonical_and_out_of_range_fields(index, encoded, message):
    with pytest.raises(InvalidTransaction, match=message):
        decode_raw_transaction(_legacy_with(index, encoded))


def test_non_canonical_list_headers():
    fields = fields_of(decode_raw_transaction(sample_raws()[1]))
    payload = b"".join(rlp(f) for f in fields)
    assert len(payload) >= 56
    canonical = rlp(fields)
    assert canonical[0] == 0xF8
    with pytest.raises(InvalidTransaction, match="non-canonical length"):  # 2-byte size, lead 0
        decode_raw_transaction(b"\xf9\x00" + bytes((len(payload),)) + payload)
    # A short list written in long form.
    short = b"\x80" * 9
    with pytest.raises(InvalidTransaction, match="non-canonical length"):
        decode_raw_transaction(b"\xf8\x09" + short)


@pytest.mark.parametrize("count", [8, 10])
def test_wrong_field_count(count):
    fields = fields_of(decode_raw_transaction(sample_raws()[0]))
    fields = fields[:count] if count < 9 else [*fields, 0]
    with pytest.raises(InvalidTransaction, match=f"must have 9 fields, got {count}"):
        decode_raw_transaction(rlp(fields))
    typed = fields_of(decode_raw_transaction(sample_raws()[3]))
    with pytest.raises(InvalidTransaction, match="must have 12 fields, got 11"):
        decode_raw_transaction(b"\x02" + rlp(typed[:11]))
    with pytest.raises(InvalidTransaction, match="must have 12 fields, got 13"):
        decode_raw_transaction(b"\x02" + rlp([*typed, 0]))


@pytest.mark.parametrize(
    ("access_list", "message"),
    [
        (Enc(b"\x80"), "access list must be a list"),
        ([b"\x01" * 20], "access list entry must be a list"),
        ([[b"\x01" * 20]], "must have 2 items"),
        ([[b"\x01" * 20, [], []]], "must have 2 items"),
        ([[b"\x01" * 19, []]], "access list address must be 20 bytes"),
        ([[[], []]], "access list address must be 20 bytes"),
        ([[b"\x01" * 20, b""]], "storage keys must be a list"),
        ([[b"\x01" * 20, [b"\x01" * 31]]], "storage key must be 32 bytes"),
        ([[b"\x01" * 20, [[]]]], "storage key must be 32 bytes"),
    ],
)
def test_malformed_access_lists(access_list, message):
    fields = fields_of(decode_raw_transaction(sample_raws()[2]))
    fields[7] = access_list
    with pytest.raises(InvalidTransaction, match=message):
        decode_raw_transaction(b"\x01" + rlp(fields))


def _with_signature(raw: bytes, v: int, r: int, s: int) -> bytes:
    tx = decode_raw_transaction(raw)
    fields = fields_of(tx)
    fields[-3:] = [v, r, s]
    return envelope(tx.tx_type, fields)


def _flipped_parity(tx: SignedTransaction) -> int:
    if tx.tx_type:
        return tx.v ^ 1
    return tx.v + 1 if (tx.v - (27 if tx.v < 35 else 35)) % 2 == 0 else tx.v - 1


@pytest.mark.parametrize("which", range(4))
def test_high_s_rejected(which):
    """(r, n - s, flipped parity) is an equally valid ECDSA signature; EIP-2 forbids it."""
    raw = sample_raws()[which]
    tx = decode_raw_transaction(raw)
    high_s = SECP256K1_N - tx.s
    # Check that the malleated signature really recovers the same key, so only EIP-2 rejects it.
    recid = _flipped_parity(tx) - (0 if tx.tx_type else 27 if tx.v < 35 else 35 + 2 * tx.chain_id)
    unsigned = fields_of(tx)[:-3]
    if tx.tx_type:
        digest = keccak(bytes((tx.tx_type,)) + rlp(unsigned))
    else:
        extra = [tx.chain_id, 0, 0] if tx.chain_id is not None else []
        digest = keccak(rlp(unsigned + extra))
    sig = tx.r.to_bytes(32, "big") + high_s.to_bytes(32, "big") + bytes((recid,))
    public = coincurve.PublicKey.from_signature_and_message(sig, digest, hasher=None)
    assert keccak(public.format(compressed=False)[1:])[12:] == tx.sender

    bad = _with_signature(raw, _flipped_parity(tx), tx.r, high_s)
    with pytest.raises(InvalidTransaction, match=r"^invalid signature: s above secp256k1n/2$"):
        decode_raw_transaction(bad)


@pytest.mark.parametrize(
    ("r", "s", "message"),
    [
        (0, 1, "r out of range"),
        (SECP256K1_N, 1, "r out of range"),
        (UINT256_MAX, 1, "r out of range"),
        (1, 0, "s out of range"),
        (1, SECP256K1_N, "s out of range"),
        (1, SECP256K1_N // 2 + 1, "s above secp256k1n/2"),
    ],
)
def test_signature_value_ranges(r, s, message):
    raw = sample_raws()[3]
    tx = decode_raw_transaction(raw)
    with pytest.raises(InvalidTransaction, match=message):
        decode_raw_transaction(_with_signature(raw, tx.v, r, s))


@pytest.mark.parametrize(
    ("which", "v", "message"),
    [
        (0, 0, "legacy v must be 27, 28 or >= 35, got 0"),
        (0, 26, "legacy v must be 27, 28 or >= 35, got 26"),
        (0, 29, "legacy v must be 27, 28 or >= 35, got 29"),
        (0, 34, "legacy v must be 27, 28 or >= 35, got 34"),
        (2, 2, "y parity must be 0 or 1, got 2"),
        (3, 27, "y parity must be 0 or 1, got 27"),
    ],
)
def test_invalid_v(which, v, message):
    raw = sample_raws()[which]
    tx = decode_raw_transaction(raw)
    with pytest.raises(InvalidTransaction, match=message):
        decode_raw_transaction(_with_signature(raw, v, tx.r, tx.s))


def test_v_change_changes_chain_or_sender():
    """Legacy v encodes the chain id: a different v is either rejected or another sender."""
    raw = sample_raws()[0]
    tx = decode_raw_transaction(raw)
    for v in (27, 28, 35, 36, tx.v + 2, _flipped_parity(tx)):
        other = decode_raw_transaction(_with_signature(raw, v, tx.r, tx.s))
        assert other.sender != tx.sender


def test_unrecoverable_signature_is_invalid_sender():
    # An r that is not the x coordinate of any curve point: recovery must fail.
    r = next(
        x
        for x in range(2, 1000)
        if pow((x**3 + 7) % SECP256K1_P, (SECP256K1_P - 1) // 2, SECP256K1_P) == SECP256K1_P - 1
    )
    raw = sample_raws()[3]
    tx = decode_raw_transaction(raw)
    with pytest.raises(InvalidTransaction, match=r"^invalid sender"):
        decode_raw_transaction(_with_signature(raw, tx.v, r, tx.s))


def test_safety_net_converts_unexpected_errors(monkeypatch):
    def boom(raw):
        raise IndexError("decoder bug")

    monkeypatch.setattr(T, "_decode", boom)
    with pytest.raises(InvalidTransaction, match=r"malformed transaction \(IndexError\)"):
        decode_raw_transaction(b"\xc0")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_invalid_transaction(blob):
    try:
        T._decode(blob)
    except InvalidTransaction as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(which=st.integers(0, 3), data=st.data())
def test_structural_mutations_only_raise_invalid_transaction(which, data):
    raw = bytearray(sample_raws()[which])
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        index = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "insert":
            raw.insert(index, data.draw(st.integers(0, 255)))
        elif op == "delete" and raw:
            del raw[index]
        elif raw:
            raw[index] = data.draw(st.integers(0, 255))
    try:
        tx = T._decode(bytes(raw))
    except InvalidTransaction as exc:
        assert "\n" not in str(exc)
        return
    if bytes(raw) != sample_raws()[which]:
        assert tx.sender != address_of(KEY)


# ------------------------------------------------------------------------------------------
# Keccak and timing
# ------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_keccak256_matches_pycryptodome(blob):
    assert T.keccak256(blob) == keccak(blob)


def test_keccak256_known_vector():
    assert T.keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert T.keccak256(bytearray(b"abc")) == T.keccak256(memoryview(b"abc")) == keccak(b"abc")


def test_fast_keccak_is_in_use():
    """The direct C path is what makes decoding fast; it should load with pycryptodome."""
    assert T.keccak256 is not T._keccak256_public


def test_keccak256_is_thread_safe():
    rng = random.Random(7)
    inputs = [rng.randbytes(rng.randrange(0, 400)) for _ in range(300)]
    expected = [keccak(x) for x in inputs]
    failures: list[int] = []

    def worker() -> None:
        for _ in range(5):
            if [T.keccak256(x) for x in inputs] != expected:
                failures.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_keccak_falls_back_to_public_api(monkeypatch):
    def unavailable():
        raise OSError("no library")

    monkeypatch.setattr(T, "_build_fast_keccak", unavailable)
    assert T._select_keccak() is T._keccak256_public


def test_decode_micro_timing():
    """Prints µs per decode (run with -s to see it); never asserts on wall-clock time."""
    raws = sample_raws()
    rounds = 100
    seconds = timeit.timeit(lambda: [decode_raw_transaction(r) for r in raws], number=rounds)
    per_tx = seconds / (rounds * len(raws)) * 1e6
    print(f"\ndecode_raw_transaction: {per_tx:.1f} µs per transaction")
