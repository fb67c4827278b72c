"""A STARK proof as data, and its byte encoding.

The encoding is canonical (fixed field order, little-endian u32 words, length-prefixed lists),
so the same proof always has the same bytes; a GPU backend must reproduce them exactly. Decoding
checks every length and every field element, and any malformed input is a `MalformedProof`
with the reason, never an exception from deep inside the verifier.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .extension import Ext
from .field import P
from .fri import FriProof, LayerOpening

MAGIC = b"ATLSTRK2"
SEGMENTS_MAGIC = b"ATLSEGS1"


class MalformedProof(ValueError):
    """The bytes are not a well-formed proof."""


@dataclass(frozen=True)
class RowOpening:
    """One committed matrix's row at a query position, with its Merkle path."""

    values: list[int]
    path: list[bytes]


@dataclass(frozen=True)
class QueryOpening:
    pre: RowOpening
    main: RowOpening
    aux: RowOpening
    quotient: RowOpening


@dataclass(frozen=True)
class StarkProof:
    log_n: int  # trace rows = 2^log_n
    main_root: bytes
    aux_root: bytes
    quotient_root: bytes
    lookup_nonce: int  # the proof of work before the lookup challenges (the same in every segment)
    claims: list[Ext]  # the auxiliary columns' last-row values the AIR declares (LogUp sums)
    ood_current: list[Ext]  # every base column (pre, main, aux, quotient) at zeta
    ood_next: list[Ext]  # every trace column (pre, main, aux) at zeta * w
    fri: FriProof
    queries: list[QueryOpening]

    def to_bytes(self) -> bytes:
        w = _Writer()
        w.raw(MAGIC)
        w.u32(self.log_n)
        for root in (self.main_root, self.aux_root, self.quotient_root):
            w.digest(root)
        w.u64(self.lookup_nonce)
        w.exts(self.claims)
        w.exts(self.ood_current)
        w.exts(self.ood_next)
        w.list(self.fri.layer_roots, w.digest)
        w.exts(self.fri.final_coeffs)
        w.u64(self.fri.pow_nonce)
        w.u32(len(self.fri.queries))
        for layers in self.fri.queries:
            w.list(layers, lambda o: (w.exts(o.values), w.list(o.path, w.digest)))
        w.u32(len(self.queries))
        for q in self.queries:
            for row in (q.pre, q.main, q.aux, q.quotient):
                w.words(row.values)
                w.list(row.path, w.digest)
        return bytes(w.out)

    @classmethod
    def from_bytes(cls, data: bytes) -> StarkProof:
        r = _Reader(data)
        if r.raw(len(MAGIC)) != MAGIC:
            raise MalformedProof("not an atlasdev STARK proof (bad magic)")
        log_n = r.u32()
        main_root, aux_root, quotient_root = r.digest(), r.digest(), r.digest()
        lookup_nonce = r.u64()
        claims = r.exts()
        ood_current, ood_next = r.exts(), r.exts()
        layer_roots = r.digests()
        final = r.exts()
        nonce = r.u64()
        fri_queries = [
            r.list(lambda: LayerOpening(r.exts(), r.digests())) for _ in range(r.count())
        ]
        queries = []
        for _ in range(r.count()):
            rows = [RowOpening(r.words(), r.digests()) for _ in range(4)]
            queries.append(QueryOpening(*rows))
        if r.pos != len(data):
            raise MalformedProof(f"{len(data) - r.pos} trailing bytes after the proof")
        fri = FriProof(layer_roots, final, nonce, fri_queries)
        return cls(
            log_n,
            main_root,
            aux_root,
            quotient_root,
            lookup_nonce,
            claims,
            ood_current,
            ood_next,
            fri,
            queries,
        )


@dataclass(frozen=True)
class SegmentedProof:
    """One statement proven as consecutive segments of the same AIR and size: every segment's
    main trace is committed before the shared lookup challenges are drawn, so a multiset (the
    memory argument) balances across all of them together."""

    segments: list[StarkProof]

    def to_bytes(self) -> bytes:
        w = _Writer()
        w.raw(SEGMENTS_MAGIC)
        w.u32(len(self.segments))
        for segment in self.segments:
            data = segment.to_bytes()
            w.u64(len(data))
            w.raw(data)
        return bytes(w.out)

    @classmethod
    def from_bytes(cls, data: bytes) -> SegmentedProof:
        r = _Reader(data)
        if r.raw(len(SEGMENTS_MAGIC)) != SEGMENTS_MAGIC:
            raise MalformedProof("not an atlasdev segmented proof (bad magic)")
        count = r.count()
        if count == 0:
            raise MalformedProof("a segmented proof with no segments")
        segments = [StarkProof.from_bytes(r.raw(r.u64())) for _ in range(count)]
        if r.pos != len(data):
            raise MalformedProof(f"{len(data) - r.pos} trailing bytes after the proof")
        return cls(segments)


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def raw(self, b: bytes) -> None:
        self.out += b

    def u32(self, v: int) -> None:
        self.out += struct.pack("<I", v)

    def u64(self, v: int) -> None:
        self.out += struct.pack("<Q", v)

    def digest(self, d: bytes) -> None:
        assert len(d) == 32
        self.out += d

    def words(self, ws: list[int]) -> None:
        self.u32(len(ws))
        self.out += struct.pack(f"<{len(ws)}I", *ws)

    def exts(self, es: list[Ext]) -> None:
        self.words([c for e in es for c in e])

    def list(self, items: list, put) -> None:  # type: ignore[no-untyped-def, type-arg]
        self.u32(len(items))
        for item in items:
            put(item)


MAX_COUNT = 1 << 24  # no list in a proof is longer; a larger count is corruption


_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class _Reader:
    """Reads in place (`unpack_from`): a block proof's thousands of short lists are most of
    what decoding costs."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> int:
        """Where the next n bytes start (the reader moves past them); MalformedProof if the
        proof ends first."""
        at = self.pos
        if at + n > len(self.data):
            raise MalformedProof("proof truncated")
        self.pos = at + n
        return at

    def raw(self, n: int) -> bytes:
        at = self._take(n)
        return self.data[at : at + n]

    def u32(self) -> int:
        return _U32.unpack_from(self.data, self._take(4))[0]

    def u64(self) -> int:
        return _U64.unpack_from(self.data, self._take(8))[0]

    def count(self) -> int:
        n = self.u32()
        if n > MAX_COUNT:
            raise MalformedProof(f"implausible length {n} in proof")
        return n

    def digest(self) -> bytes:
        return self.raw(32)

    def digests(self) -> list[bytes]:
        """A length-prefixed list of 32-byte digests (a Merkle path)."""
        n = self.count()
        at, data = self._take(32 * n), self.data
        return [data[i : i + 32] for i in range(at, at + 32 * n, 32)]

    def words(self) -> list[int]:
        n = self.count()
        ws = list(struct.unpack_from(f"<{n}I", self.data, self._take(4 * n)))
        if ws and max(ws) >= P:
            raise MalformedProof("a field element in the proof is not reduced")
        return ws

    def exts(self) -> list[Ext]:
        ws = self.words()
        if len(ws) % 4:
            raise MalformedProof("an extension element list has a partial element")
        it = iter(ws)
        return list(zip(it, it, it, it, strict=True))

    def list(self, get):  # type: ignore[no-untyped-def]
        return [get() for _ in range(self.count())]
