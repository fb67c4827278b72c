"""Runs longer than one trace: proven as segments that share the memory argument.

The program writes a register and a memory word early, loops past the first segment's end and
reads both back in the last segment, so the proof holds only if the LogUp sums of the two
segments cancel. The tampers change what links the segments: the pcs they hand on, their order,
their number, a segment's claim, and a value read across the boundary.
"""

import dataclasses
import hashlib
from functools import cache

import numpy as np
import pytest

from atlasdev.engine.airbender import (
    diagnose,
    extension,
    isa,
    lookup,
    prover,
    rv32_air,
    rv32_trace,
    verifier,
)
from atlasdev.engine.airbender.cpu import CPU
from atlasdev.engine.airbender.emulator import emulate
from atlasdev.engine.airbender.field import P
from atlasdev.engine.airbender.proof import SegmentedProof
from atlasdev.engine.airbender.rom import Rom
from atlasdev.engine.airbender.rv32_air import MemoryLayout
from atlasdev.engine.airbender.stark import StarkParams

E = isa.encode
BASE = 0x10000
PARAMS = StarkParams(num_queries=16, pow_bits=4)
LOG_N = 16
INPUT, WORK, OUTPUT = 0x20000, 0x28000, 0x30000
STORED, KEPT = 0x01234567, 0x5EED
ITERATIONS = 40_000  # two instructions each: the run crosses into a second segment

PROGRAM = [
    *isa.li(6, WORK),
    *isa.li(7, STORED),
    E("sw", 7, 6, 0),  # written in segment 0
    *isa.li(9, KEPT),  # s1: untouched until the last segment
    *isa.li(10, ITERATIONS),
    E("addi", 10, 10, -1),
    E("bne", 10, 0, -4),
    E("lw", 28, 6, 0),  # read in segment 1
    E("add", 28, 28, 9),
    *isa.li(29, OUTPUT),
    E("sw", 28, 29, 0),
    E("addi", 17, 0, 93),
    E("ecall"),
]
LAYOUT = MemoryLayout(BASE, BASE + 4 * len(PROGRAM), INPUT, OUTPUT, 1)


@cache
def setup() -> tuple[rv32_air.Rv32Air, Rom, prover.ProvingKey, rv32_trace.Run]:
    words = np.array(PROGRAM, dtype=np.uint32)
    mem = np.zeros(0x30000, dtype=np.uint8)
    mem[: 4 * len(words)] = words.view(np.uint8)
    res = emulate(mem, BASE, np.zeros(32, np.uint32), BASE, 200_000, trace=True)
    rv = rv32_air.build(BASE, LAYOUT)
    rom = Rom.build(BASE, words)
    pre = rv32_trace.preprocessed(rv, rom, words, LOG_N)
    run = rv32_trace.replay(rv, rom, res.trace.array[: res.trace.rows])
    return rv, rom, prover.setup(rv.air, LOG_N, pre, PARAMS), run


def witnesses() -> list[rv32_trace.Witness]:
    rv, rom, _, run = setup()
    return [rv32_trace.segment_witness(rv, rom, run, s, LOG_N) for s in run.segments(LOG_N)]


@cache
def proven() -> tuple[SegmentedProof, list[int], list[int]]:
    """(proof, boundary pcs, output limbs)."""
    rv, rom, pk, run = setup()
    segments = run.segments(LOG_N)
    aux = lookup.AuxTrace(rv.air, rv.logup)
    proofs = prover.prove_segments(
        pk,
        len(segments),
        lambda i: rv32_trace.segment_witness(rv, rom, run, segments[i], LOG_N).main,
        [s.publics(run.outputs) for s in segments],
        aux,
    )
    return SegmentedProof(proofs), [s.end_pc for s in segments[:-1]], run.outputs


def expected(boundaries: list[int], outputs: list[int]) -> list[list[int]]:
    return [s.publics(outputs) for s in rv32_air.chain(BASE, boundaries, LOG_N)]


def test_the_run_is_cut_into_full_segments_and_a_last_one() -> None:
    _, _, _, run = setup()
    segments = run.segments(LOG_N)
    assert run.cycles > 1 << LOG_N and len(segments) == 2
    first, last = segments
    assert (first.start_pc, first.base, first.last) == (BASE, 0, False)
    assert first.end_pc == last.start_pc == run.pc(1 << LOG_N)
    assert (last.base, last.last) == (1 << LOG_N, True)
    assert run.outputs == [(STORED + KEPT) & 0xFFFF, (STORED + KEPT) >> 16]


def _prove_asking(keep_bytes: int) -> tuple[list[int], bytes]:
    """The proof's bytes, and the segments whose traces the prover asked for, in order."""
    rv, rom, pk, run = setup()
    segments = run.segments(LOG_N)
    asked: list[int] = []

    def main_of(i: int) -> np.ndarray:
        asked.append(i)
        return rv32_trace.segment_witness(rv, rom, run, segments[i], LOG_N).main

    publics = [s.publics(run.outputs) for s in segments]
    aux = lookup.AuxTrace(rv.air, rv.logup)
    proofs = prover.prove_segments(pk, len(segments), main_of, publics, aux, keep_bytes=keep_bytes)
    return asked, SegmentedProof(proofs).to_bytes()


def test_the_last_segment_committed_is_proven_first_without_a_second_commit() -> None:
    """Its blown-up matrices are still alive when the lookup challenges are drawn. The proof's
    bytes are pinned: the SHA-256 of the proof when the segments were proven in order."""
    asked, data = _prove_asking(keep_bytes=0)
    assert asked == [0, 1, 0]  # committed in order, then segment 0 again; segment 1 is kept
    assert data == proven()[0].to_bytes()
    assert hashlib.sha256(data).hexdigest()[:16] == "8f00488042ce680f"


@pytest.mark.parametrize("spare", [0, -1])
def test_segments_that_fit_the_budget_are_kept_and_not_committed_again(spare: int) -> None:
    """Segment 0's trace and committed matrices are kept when they fit in keep_bytes (exactly
    here), and then it is not asked for again; one byte less and it is committed twice. The
    bytes of the proof are the same either way."""
    rv, rom, pk, run = setup()
    values = rv32_trace.segment_witness(rv, rom, run, run.segments(LOG_N)[0], LOG_N).main
    size = values.nbytes + CPU.commit_values(values, pk.vk.params.log_blowup).nbytes
    assert size > 4 * values.nbytes  # its coefficients, blown-up values and Merkle layers count
    asked, data = _prove_asking(keep_bytes=size + spare)
    assert asked == ([0, 1] if spare == 0 else [0, 1, 0])
    assert data == proven()[0].to_bytes()


def test_each_segment_satisfies_its_constraints_and_only_together_they_balance() -> None:
    rv, _, pk, _ = setup()
    challenges = [(12345, 678, 9, 10), (1112, 1314, 1516, 1718)]
    totals = []
    for w in witnesses():
        assert diagnose.failing_constraints(rv.air, pk.pre_values, w.main, w.publics) == []
        aux = lookup.AuxTrace(rv.air, rv.logup).build(challenges, pk.pre_values, w.main, w.publics)
        totals.append(lookup.total(aux, rv.logup))
    assert all(t != (0, 0, 0, 0) for t in totals)  # the memory argument spans both
    assert extension.eadd(totals[0], totals[1]) == extension.ZERO


def test_a_value_read_across_the_boundary_cannot_be_changed() -> None:
    rv, _, pk, _ = setup()
    ws = witnesses()
    last = ws[1].main.copy()
    col = rv.main.index
    row = int(np.flatnonzero(last[col["f_lw"]] == 1)[0])
    for name in ("m0", "n0", "d0"):  # a consistent lie: the load saw another word
        last[col[name], row] += 1
    challenges = [(12345, 678, 9, 10), (1112, 1314, 1516, 1718)]
    builder = lookup.AuxTrace(rv.air, rv.logup)
    t0 = lookup.total(builder.build(challenges, pk.pre_values, ws[0].main, ws[0].publics), rv.logup)
    t1 = lookup.total(builder.build(challenges, pk.pre_values, last, ws[1].publics), rv.logup)
    assert extension.eadd(t0, t1) != extension.ZERO


def test_segments_prove_and_verify() -> None:
    proof, boundaries, outputs = proven()
    rv, _, pk, _ = setup()
    assert len(proof.segments) == 2
    verifier.verify_segments(rv.air, pk.vk, expected(boundaries, outputs), proof.to_bytes())


def _claim_changed(proof: SegmentedProof) -> SegmentedProof:
    first = proof.segments[0]
    claim = ((first.claims[0][0] + 1) % P, *first.claims[0][1:])
    return SegmentedProof([dataclasses.replace(first, claims=[claim]), *proof.segments[1:]])


def _nonce_changed(proof: SegmentedProof) -> SegmentedProof:
    nonce = proof.segments[0].lookup_nonce + 1
    return SegmentedProof([dataclasses.replace(s, lookup_nonce=nonce) for s in proof.segments])


TAMPERS = {
    "the lookup proof of work": lambda p, b, o: (_nonce_changed(p), expected(b, o)),
    "another boundary pc": lambda p, b, o: (p, expected([b[0] + 4], o)),
    "another output": lambda p, b, o: (p, expected(b, [o[0] ^ 1, o[1]])),
    "segments swapped": lambda p, b, o: (SegmentedProof(p.segments[::-1]), expected(b, o)),
    "the last segment dropped": lambda p, b, o: (SegmentedProof(p.segments[:1]), expected([], o)),
    "the first segment dropped": lambda p, b, o: (SegmentedProof(p.segments[1:]), expected([], o)),
    "a segment's claim changed": lambda p, b, o: (_claim_changed(p), expected(b, o)),
    "one segment's statement for both": lambda p, b, o: (p, [expected(b, o)[1]] * 2),
}


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_tampered_segments_are_rejected(what: str) -> None:
    proof, boundaries, outputs = proven()
    rv, _, pk, _ = setup()
    bad_proof, publics = TAMPERS[what](proof, boundaries, outputs)
    with pytest.raises(verifier.InvalidProof):
        verifier.verify_segments(rv.air, pk.vk, publics, bad_proof)


def test_a_run_that_ends_on_a_segment_boundary_is_refused() -> None:
    _, _, _, run = setup()
    steps = run.steps[: 1 << LOG_N].copy()
    steps[-1] = run.steps[-1]  # pretend the exit came exactly at the boundary
    cut = dataclasses.replace(run, steps=steps)
    with pytest.raises(rv32_trace.TraceError, match="cannot end a segment"):
        cut.segments(LOG_N)
