"""What the gateway requires of a block proof before the block counts as proven.

A proof attests a report (block_prover.py): the guest's two status words and the STF's public
values. The gateway accepts it only if the report says the block executed (both statuses zero),
names the chain and block number it is checking, starts from the state root the gateway last
verified for that chain (or the chain's genesis root), imports no interop root but one the
gateway published, and the proof verifies against this
installation's zkOS image (the verifier recomputes the image's preprocessed commitment, so a
proof made for another image ID fails). The verifier is airbender's independent one.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

import numpy as np

from ..airbender import block_prover
from ..airbender.proof import MalformedProof
from ..airbender.verifier import InvalidProof
from ..store import BlockRow
from ..zkos.block import PublicValues


class Rejected(ValueError):
    """The proof does not make the block proven; the message says why (one line)."""


@dataclass(frozen=True)
class Expected:
    """What the gateway knows before reading a proof: which block, and from which root."""

    chain_id: int
    number: int
    pre_root: bytes


def report_words(report: bytes) -> list[int]:
    """A stored report (u32 little-endian) as words."""
    if len(report) % 4:
        raise Rejected("the report is not a whole number of words")
    return [int(w) for w in np.frombuffer(report, dtype="<u4")]


def check_empty_block(block: BlockRow | None, expected: Expected) -> PublicValues:
    """An empty block needs no proof: with no transactions and no interop import the STF is the
    identity on the state (its post-state root is its pre-state root, its transaction and
    message roots are those of empty lists), so that is what the gateway records, whatever the
    sealed header says; a header that claims otherwise is rejected."""
    zero = bytes(32)
    if block is None or (block.chain_id, block.number) != (expected.chain_id, expected.number):
        raise Rejected(f"block {expected.number} of chain {expected.chain_id} is not stored")
    if block.tx_count or block.interop_root != zero:
        raise Rejected("the block has transactions or an import: it needs a proof")
    if (block.state_root, block.tx_commitment, block.message_root) != (
        expected.pre_root,
        zero,
        zero,
    ):
        raise Rejected("an empty block must leave the state as it was")
    return PublicValues(block.chain_id, block.number, expected.pre_root, expected.pre_root, zero,
                        zero, zero)  # fmt: skip


def check_block_proof(
    program: block_prover.Program,
    expected: Expected,
    proof: bytes,
    report: list[int],
    published: Container[bytes] = (),
) -> PublicValues:
    """The public values ``proof`` attests for the expected block; `Rejected` if it does not
    make that block proven. A block that imports an interop root must import one of
    ``published`` (the roots the gateway has published)."""
    if len(report) != program.layout.output_words:
        raise Rejected(f"the report has {len(report)} words, not {program.layout.output_words}")
    numba_status, stf_status = report[: block_prover.REPORT_HEADER_WORDS]
    if numba_status or stf_status:
        raise Rejected(f"the block failed in the guest (status {numba_status}, {stf_status})")
    public = PublicValues.from_words(
        np.array(report[block_prover.REPORT_HEADER_WORDS :], dtype=np.uint32)
    )
    if public.chain_id != expected.chain_id:
        raise Rejected(f"the proof is for chain {public.chain_id}, not {expected.chain_id}")
    if public.number != expected.number:
        raise Rejected(f"the proof is for block {public.number}, not {expected.number}")
    if public.pre_root != expected.pre_root:
        raise Rejected(
            f"the proof starts from state root 0x{public.pre_root.hex()[:16]}…, not the last "
            f"verified 0x{expected.pre_root.hex()[:16]}…"
        )
    if public.interop_root != bytes(32) and public.interop_root not in published:
        raise Rejected(
            f"the block imports interop root 0x{public.interop_root.hex()[:16]}…, which the "
            "gateway never published"
        )
    try:
        block_prover.verify_block(program, proof, report)
    except (InvalidProof, MalformedProof) as e:
        raise Rejected(f"invalid proof: {e}") from None
    return public
