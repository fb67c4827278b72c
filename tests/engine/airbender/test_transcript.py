"""The transcript's proof of work: the compiled search finds what hashlib's loop finds."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.airbender.transcript import Transcript, _first_nonce
from atlasdev.engine.zkos.blake2s import bytes_to_words


def _reference(t: Transcript, bits: int, start: int = 0) -> int:
    """The definition: the first nonce from ``start`` that check_pow (hashlib) accepts."""
    nonce = start
    while not t.check_pow(bits, nonce):
        nonce += 1
    return nonce


@settings(max_examples=40, deadline=None)
@given(protocol=st.binary(max_size=40), bits=st.integers(0, 10))
def test_grind_finds_the_first_nonce_that_check_pow_accepts(protocol: bytes, bits: int) -> None:
    t = Transcript(protocol)
    assert t.grind(bits) == _reference(t, bits)


def test_a_sixteen_bit_proof_of_work() -> None:
    t = Transcript(b"sixteen")
    nonce = t.grind(16)
    assert nonce == _reference(t, 16) and t.check_pow(16, nonce)


@pytest.mark.parametrize("start", [255, 1 << 32, (1 << 40) + 5, (1 << 56) + 3])
def test_every_byte_of_a_large_nonce_is_hashed(start: int) -> None:
    """The nonce's eight bytes straddle three message words (bytes 35 to 42)."""
    t = Transcript(b"large nonces")
    block = bytes_to_words(t._pow_message(0).ljust(64, b"\0"))
    assert _first_nonce(block, 4, start, 1 << 12) == _reference(t, 4, start)


def test_an_impossible_proof_of_work_is_refused() -> None:
    with pytest.raises(ValueError, match="65 bits"):
        Transcript(b"x").grind(65)
