"""What prover and verifier agree on before any proof: parameters, keys and the transcript's start.

Security (docs/prover.md has the arithmetic): FRI at rate 1/2 (blowup 2) with 100 queries and 16
bits of proof of work gives 100 * 1 + 16 = 116 conjectured bits; every challenge is drawn from the
degree-4 extension (~2^124 elements), so the algebraic steps (LogUp, the constraint combination,
the out-of-domain point, DEEP, FRI folding) each fail with probability below 2^-100 for traces up
to 2^22 rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from .air import Air
from .fri import FriParams
from .transcript import Transcript


@dataclass(frozen=True)
class StarkParams:
    # rate 1/2: the degree-3 constraints' quotient (degree < 2n) needs no more points, and
    # every committed matrix is half of what rate 1/4 makes, for more queries (docs/decisions.md)
    log_blowup: int = 1
    num_queries: int = 100
    pow_bits: int = 16
    log_arity: int = 3
    log_final_degree: int = 4
    # proof of work before the lookup challenges: each try at lucky LogUp challenges costs
    # 2^12 hashes on top of committing every segment (LogUp's error grows with the rows)
    lookup_pow_bits: int = 12

    @property
    def fri(self) -> FriParams:
        return FriParams(
            self.log_blowup, self.num_queries, self.pow_bits, self.log_arity, self.log_final_degree
        )

    def words(self) -> list[int]:
        return [
            self.log_blowup,
            self.num_queries,
            self.pow_bits,
            self.log_arity,
            self.log_final_degree,
            self.lookup_pow_bits,
        ]


DEFAULT_PARAMS = StarkParams()


@dataclass(frozen=True)
class VerifyingKey:
    """All the verifier needs besides the AIR: the trace size and the preprocessed commitment
    (for the RISC-V AIR, the program ROM: this root is what the image ID binds)."""

    log_n: int
    pre_root: bytes
    params: StarkParams = DEFAULT_PARAMS


def start_transcript(air: Air, vk: VerifyingKey, publics: list[list[int]]) -> Transcript:
    """The transcript up to the main commitments, for a proof in ``len(publics)`` segments
    (one list of public values each; a plain proof is one segment)."""
    t = Transcript(b"stark/" + air.name.encode())
    t.absorb_words(b"air", air.shape_words())
    t.absorb_words(b"params", [vk.log_n, *vk.params.words()])
    t.absorb(b"preprocessed", vk.pre_root)
    t.absorb_words(b"segments", [len(publics)])
    for segment_publics in publics:
        t.absorb_words(b"publics", segment_publics)
    return t
