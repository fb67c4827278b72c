"""What the gateway requires of a block proof: the right chain, block and pre-state root, a
block that executed, and a proof that verifies against this image. Real proofs of empty blocks
1 and 2 of a chain whose state is the empty tree."""

import pytest

from atlasdev.engine.airbender import block_prover
from atlasdev.engine.gateway.checks import Expected, Rejected, check_block_proof, report_words
from atlasdev.engine.zkos.tree import StateTree
from tests.engine.proven_blocks import CHAIN_ID, empty_block, program

GENESIS = StateTree().root()


def test_an_honest_proof_gives_the_blocks_public_values() -> None:
    proof, native = empty_block(1)
    public = check_block_proof(program(), Expected(CHAIN_ID, 1, GENESIS), proof.proof, proof.report)
    assert public == native.public


def _reason(expected: Expected, proof: bytes, report: list[int]) -> str:
    with pytest.raises(Rejected) as e:
        check_block_proof(program(), expected, proof, report)
    return str(e.value)


def test_a_proof_of_another_chain_block_or_root_is_rejected() -> None:
    proof, _ = empty_block(1)
    assert "for chain 271, not 272" in _reason(Expected(272, 1, GENESIS), proof.proof, proof.report)
    assert "for block 1, not 2" in _reason(
        Expected(CHAIN_ID, 2, GENESIS), proof.proof, proof.report
    )
    assert "not the last verified" in _reason(
        Expected(CHAIN_ID, 1, bytes(32)), proof.proof, proof.report
    )


def test_a_proof_replayed_with_another_blocks_report_is_rejected() -> None:
    one, _ = empty_block(1)
    two, _ = empty_block(2)
    # block 2's report (right number, right root) with block 1's proof
    reason = _reason(Expected(CHAIN_ID, 2, GENESIS), one.proof, two.report)
    assert reason.startswith("invalid proof")


def test_tampered_and_malformed_proofs_are_rejected_with_a_reason() -> None:
    proof, _ = empty_block(1)
    expected = Expected(CHAIN_ID, 1, GENESIS)
    flipped = bytearray(proof.proof)
    flipped[len(flipped) // 2] ^= 1
    assert _reason(expected, bytes(flipped), proof.report).startswith("invalid proof")
    assert "bad magic" in _reason(expected, b"junk", proof.report)
    assert "words" in _reason(expected, proof.proof, proof.report[:-1])


def test_a_block_that_failed_in_the_guest_is_not_proven() -> None:
    proof, _ = empty_block(1)
    report = [0, 3, *proof.report[2:]]
    assert "failed in the guest" in _reason(Expected(CHAIN_ID, 1, GENESIS), proof.proof, report)


def test_stored_reports_are_whole_words() -> None:
    assert report_words(b"\x01\x00\x00\x00\x02\x00\x00\x00") == [1, 2]
    with pytest.raises(Rejected, match="whole number"):
        report_words(b"\x01\x00")


def test_a_block_importing_an_unpublished_interop_root_is_rejected() -> None:
    from atlasdev.engine.zkos import layout

    proof, _ = empty_block(1)
    root_at = block_prover.REPORT_HEADER_WORDS + layout.OUT_INTEROP_ROOT
    report = list(proof.report)
    report[root_at : root_at + 8] = [7] * 8
    root = b"".join(w.to_bytes(4, "little") for w in report[root_at : root_at + 8])
    expected = Expected(CHAIN_ID, 1, GENESIS)
    assert "never published" in _reason(expected, proof.proof, report)
    with pytest.raises(Rejected, match="invalid proof"):  # published: the proof is checked next
        check_block_proof(program(), expected, proof.proof, report, {root})
