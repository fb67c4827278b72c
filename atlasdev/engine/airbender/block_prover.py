"""Proving zkOS blocks: the image and a block's input in, a STARK proof of its public values out.

The guest runs on the emulator with a trace; the RV32IM AIR's witness is built from that trace
and proven. The statement a proof makes: "the zkOS image (its code and initial data, committed in
the preprocessed columns) run on some input exits after writing exactly these report words to
its output region": numba's status, the STF's status, and the STF's output header, which holds
the block's public values (chain id, block number, pre/post state roots, transaction
commitment, message root, interop root) and its meta (tree size, gas used, counts). A checker
of a proof reads those fields from the report it verified. The
verifier recomputes the preprocessed commitment from the image itself, once per trace size.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from ..zkos.block import PublicValues
from ..zkos.image import Image
from ..zkos.linker import to_elf
from ..zkos.riscv import REPORTED_OUTPUT_WORDS
from . import lookup, prover, rv32_air, rv32_trace, verifier
from .elf import load_elf
from .emulator import Trace, emulate
from .rom import Rom
from .stark import DEFAULT_PARAMS, StarkParams, VerifyingKey

REPORT_HEADER_WORDS = 2  # numba status, STF status; the STF's output header follows


class BlockProofError(ValueError):
    """The block cannot be proven (the message says why)."""


def publics_of(words: list[int]) -> list[int]:
    """The STARK's public inputs: each output word as (low, high) 16-bit limbs."""
    return [v for w in words for v in (w & 0xFFFF, w >> 16)]


@dataclass(frozen=True)
class Program:
    """The image as the prover sees it: entry, ROM, initial image words, memory layout."""

    image: Image
    rom: Rom
    image_words: np.ndarray
    layout: rv32_air.MemoryLayout

    @classmethod
    def of(cls, image: Image) -> Program:
        m = image.memory
        end = max(s.address + s.size for s in image.segments)
        end = (end + 3) & ~3
        mem = np.zeros(end - m.text_base, dtype=np.uint8)
        for seg in image.segments:
            mem[seg.address - m.text_base : seg.address - m.text_base + len(seg.data)] = (
                np.frombuffer(seg.data, dtype=np.uint8)
            )
        words = mem.view("<u4").astype(np.uint32)
        text = next(s for s in image.segments if s.name == "text")
        rom = Rom.build(text.address, words[(text.address - m.text_base) // 4 :][: text.size // 4])
        k = REPORTED_OUTPUT_WORDS
        layout = rv32_air.MemoryLayout(m.text_base, end, m.input_base, m.output_base, k)
        return cls(image, rom, words, layout)

    @property
    def air(self) -> rv32_air.Rv32Air:
        return _air(self.image.entry, self.layout)


@cache
def _air(entry: int, layout: rv32_air.MemoryLayout) -> rv32_air.Rv32Air:
    return rv32_air.build(entry, layout)


_KEYS: dict[tuple[bytes, int, StarkParams], prover.ProvingKey] = {}


def proving_key(
    program: Program, log_n: int, params: StarkParams = DEFAULT_PARAMS
) -> prover.ProvingKey:
    """The proving key for traces of 2^log_n rows (built once per process and size)."""
    key = (program.image.image_id, log_n, params)
    if key not in _KEYS:
        pre = rv32_trace.preprocessed(program.air, program.rom, program.image_words, log_n)
        _KEYS[key] = prover.setup(program.air.air, log_n, pre, params)
    return _KEYS[key]


def verifying_key(
    program: Program, log_n: int, params: StarkParams = DEFAULT_PARAMS
) -> VerifyingKey:
    return proving_key(program, log_n, params).vk


@dataclass
class BlockProof:
    proof: bytes
    report: list[int]  # the output words the proof's public values are
    cycles: int
    log_n: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def public(self) -> PublicValues:
        return PublicValues.from_words(np.array(self.report[REPORT_HEADER_WORDS:], dtype=np.uint32))


def prove_block(
    program: Program, input_words: np.ndarray, params: StarkParams = DEFAULT_PARAMS
) -> BlockProof:
    """Run the block's input through the image and prove the run."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    m = program.image.memory
    payload = struct.pack("<I", len(input_words)) + np.asarray(input_words, dtype="<u4").tobytes()
    elf = load_elf(to_elf(program.image, payload), mem_size=m.end - m.text_base)
    probe = elf.run()  # untraced: how long a trace to allocate
    result = emulate(
        elf.mem.copy(),
        elf.mem_base,
        elf.initial_regs(),
        elf.entry,
        probe.cycles,
        Trace.allocate(probe.cycles),
    )
    assert result.trace is not None
    trace = result.trace.array[: result.trace.rows]
    seconds["execute"] = time.perf_counter() - t0
    log_n = max(rv32_trace.trace_length(rv32_trace.rows_needed(trace)).bit_length() - 1, 16)
    t0 = time.perf_counter()
    rv = program.air
    try:
        witness = rv32_trace.build(rv, program.rom, trace, log_n)
    except rv32_trace.TraceError as e:
        raise BlockProofError(str(e)) from None
    seconds["witness"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pk = proving_key(program, log_n, params)
    seconds["setup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    aux = lookup.AuxTrace(rv.air, rv.logup)
    stages: dict[str, float] = {}
    proof = prover.prove(pk, witness.main, witness.publics, aux.build, stages)
    seconds["prove"] = time.perf_counter() - t0
    seconds.update({f"prove: {k}": v for k, v in stages.items()})
    report = [
        lo | (hi << 16) for lo, hi in zip(witness.publics[::2], witness.publics[1::2], strict=True)
    ]
    return BlockProof(proof.to_bytes(), report, int(result.cycles), log_n, seconds)


def verify_block(program: Program, proof: bytes, report: list[int], log_n: int) -> None:
    """Check a block proof against the report words it claims; raise InvalidProof if not."""
    vk = verifying_key(program, log_n)
    verifier.verify(program.air.air, vk, publics_of(report), proof)
