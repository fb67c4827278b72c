"""Running the zkOS image on the RV32IM emulator: a block's input in, public values out.

This is the prover's front end: the same input words the sequencer's native STF executed are
written into the guest's input region, the image runs to its exit syscall, and the report it
writes (numba status, STF status, public values and block meta) is read back.
"""

import struct
from dataclasses import dataclass

import numpy as np

from ..zkos.block import PublicValues
from ..zkos.image import Image
from ..zkos.linker import to_elf
from .elf import load_elf
from .emulator import Result, Trace

DEFAULT_MAX_CYCLES = 2_000_000_000


class GuestError(RuntimeError):
    """The guest did not finish its block: a raise inside the STF or a missing report."""


@dataclass(frozen=True)
class GuestRun:
    stf_status: int
    cycles: int
    public: PublicValues
    result: Result


def run_block(
    img: Image,
    input_words: np.ndarray,
    max_cycles: int = DEFAULT_MAX_CYCLES,
    trace: bool | Trace = False,
) -> GuestRun:
    """Execute one block's STF input on the emulator; raise GuestError if the guest failed."""
    payload = struct.pack("<I", len(input_words)) + input_words.astype("<u4").tobytes()
    m = img.memory
    program = load_elf(to_elf(img, payload), mem_size=m.end - m.text_base)
    result = program.run(max_cycles, trace)
    report = np.frombuffer(result.output, dtype="<u4")
    if len(report) < 2:
        raise GuestError(f"the guest wrote {len(result.output)} report bytes, expected more")
    if report[0] != 0:
        raise GuestError(f"the guest's STF raised (numba status {int(report[0])})")
    return GuestRun(int(report[1]), result.cycles, PublicValues.from_words(report[2:]), result)
