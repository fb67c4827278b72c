"""Proofs of real zkOS blocks: an honest block verifies; another report, another block's
report or another image does not.

One proof of the empty block (4,324 cycles, 2^16 rows) is made for the module; the numba
kernels compile on first use (about a minute on a fresh checkout, cached after).
"""

from dataclasses import replace

import numpy as np
import pytest

from atlasdev.engine.airbender import block_prover, verifier
from atlasdev.engine.airbender.cpu import CPU
from atlasdev.engine.airbender.emulator import ST_ILLEGAL, EmulatorError
from atlasdev.engine.airbender.proof import MalformedProof
from atlasdev.engine.zkos.block import BlockHeader, execute
from atlasdev.engine.zkos.image import Image, load_image
from atlasdev.engine.zkos.tree import StateTree
from tests.engine.proven_blocks import empty_block, program


def test_an_empty_block_proves_and_verifies() -> None:
    proof, native = empty_block()
    assert proof.public == native.public  # type: ignore[attr-defined]
    assert proof.report[:2] == [0, 0]  # numba status, STF status
    block_prover.verify_block(program(), proof.proof, proof.report)


def test_a_changed_public_value_is_rejected() -> None:
    proof, _ = empty_block()
    for word in (2, 3, 14, 40):  # chain id, block number, a post-root word, an interop-root word
        report = list(proof.report)
        report[word] ^= 1
        with pytest.raises(verifier.InvalidProof):
            block_prover.verify_block(program(), proof.proof, report)


def test_a_proof_is_not_valid_for_another_block() -> None:
    proof, _ = empty_block()
    other = execute(BlockHeader(271, 2, 1000, 10**9), [], StateTree())
    report = list(proof.report)
    report[2 : 2 + 8] = [int(w) for w in _public_words(other)]
    assert report != proof.report
    with pytest.raises(verifier.InvalidProof):
        block_prover.verify_block(program(), proof.proof, report)


def _public_words(native: object) -> np.ndarray:
    # the first public words of a block: chain id (2 words), number (2 words), pre-root (8)...
    from atlasdev.engine.zkos.block import PublicValues

    pv: PublicValues = native.public  # type: ignore[attr-defined]
    root = np.frombuffer(pv.pre_root, dtype="<u4")
    return np.array([pv.chain_id, 0, pv.number, 0, *root[:4]], dtype=np.uint32)


def test_a_run_longer_than_a_proof_covers_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    native = execute(BlockHeader(271, 1, 1000, 10**9), [], StateTree())  # 4,324 cycles
    monkeypatch.setattr(block_prover, "MAX_CYCLES", 4_000)
    with pytest.raises(block_prover.BlockProofError, match="longer than 4,000 cycles"):
        block_prover.prove_block(program(), native.input_words)


def test_a_run_that_fails_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def faulting(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise EmulatorError("illegal instruction 0x00000000 at pc 0x00010040", ST_ILLEGAL, 64, 9)

    native = execute(BlockHeader(271, 1, 1000, 10**9), [], StateTree())
    monkeypatch.setattr(block_prover, "record", faulting)
    with pytest.raises(block_prover.BlockProofError) as refused:
        block_prover.prove_block(program(), native.input_words)
    assert str(refused.value) == (
        "the block's run failed: illegal instruction 0x00000000 at pc 0x00010040"
    )


def test_a_proof_in_an_earlier_format_says_so() -> None:
    proof, _ = empty_block()
    old = b"ATLBLK01" + proof.proof[len(block_prover.BLOCK_MAGIC) :]
    with pytest.raises(MalformedProof, match=r"an earlier atlasdev's format .*prove the block"):
        block_prover.verify_block(program(), old, proof.report)


def test_another_image_does_not_verify_the_proof() -> None:
    proof, _ = empty_block()
    img = load_image()
    rodata = next(s for s in img.segments if s.name == "rodata")
    changed = replace(rodata, data=bytes([rodata.data[0] ^ 1]) + rodata.data[1:])
    other = Image(img.entry, tuple(changed if s is rodata else s for s in img.segments), img.memory)
    assert other.image_id != img.image_id
    with pytest.raises(verifier.InvalidProof):
        block_prover.verify_block(block_prover.Program.of(other), proof.proof, proof.report)


def test_segments_are_kept_within_what_the_backends_budget_leaves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """prove_block hands prove_segments the backend's memory budget less one segment's working
    set (device.keep_budget), unless told how much to keep."""
    from atlasdev.engine.airbender import device, heap, prover

    class Stop(Exception):
        """Ends prove_block where prove_segments would start."""

    kept: list[int] = []

    def spy(*args: object) -> None:
        kept.append(args[-1])  # type: ignore[arg-type]
        raise Stop

    monkeypatch.setattr(prover, "prove_segments", spy)
    monkeypatch.setattr(device, "host_available_bytes", lambda: 10 << 30)
    monkeypatch.setattr(heap, "reusable_bytes", lambda: 0)
    native = execute(BlockHeader(271, 1, 1000, 10**9), [], StateTree())
    for keep_bytes in (None, 777):
        with pytest.raises(Stop):
            block_prover.prove_block(program(), native.input_words, keep_bytes=keep_bytes)
    assert kept == [(5 << 30) - (device.DEVICE_BYTES_PER_ROW << 16), 777]  # 2^16 rows


def test_a_segment_bigger_than_all_the_memory_is_refused_before_proving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The empty block's one 2^16-row segment needs 512 MiB (8 KiB a row): with less than that
    the prover says so in one line instead of taking the machine's memory."""
    native = execute(BlockHeader(271, 1, 1000, 10**9), [], StateTree())
    monkeypatch.setattr(type(CPU), "memory_limit", lambda self: 300 << 20)
    monkeypatch.setattr(block_prover, "proving_key", lambda *a: pytest.fail("proving went on"))
    with pytest.raises(block_prover.SegmentTooBig) as refused:
        block_prover.prove_block(program(), native.input_words)
    assert str(refused.value) == (
        "a segment of 2^16 rows needs about 0.5 GiB and the cpu backend has 0.3 GiB: "
        "prove in smaller segments"
    )
    assert isinstance(refused.value, MemoryError)  # a GPU worker halves its segments for it


@pytest.mark.parametrize(
    ("limit", "fits"), [(512 << 20, True), ((512 << 20) - 1, False), (0, True)]
)
def test_a_segment_fits_in_its_working_set_or_where_the_memory_is_unknown(
    monkeypatch: pytest.MonkeyPatch, limit: int, fits: bool
) -> None:
    monkeypatch.setattr(type(CPU), "memory_limit", lambda self: limit)
    if fits:
        block_prover._check_fits(CPU, 16)
    else:
        with pytest.raises(block_prover.SegmentTooBig):
            block_prover._check_fits(CPU, 16)
