"""The compiler-runtime helpers of the RISC-V target, against Python's own arithmetic.

A small guest (hand-written LLVM IR, no numba) makes LLVM emit calls to __udivdi3, __umoddi3,
__divdi3, __moddi3, memcpy, memmove and memset on rv32; it runs on the emulator and its results
must equal Python's.
"""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.airbender.elf import load_elf
from atlasdev.engine.zkos import image, linker, riscv

M = image.MEMORY
MAIN = f"""
define i32 @atlasdev_main() {{
  %in = inttoptr i32 {M.input_base} to ptr
  %out = inttoptr i32 {M.output_base + 8} to ptr
  %pa = getelementptr i64, ptr %in, i32 0
  %pb = getelementptr i64, ptr %in, i32 1
  %a = load volatile i64, ptr %pa
  %b = load volatile i64, ptr %pb
  %q = udiv i64 %a, %b
  %r = urem i64 %a, %b
  %sq = sdiv i64 %a, %b
  %sr = srem i64 %a, %b
  store i64 %q, ptr %out
  %o1 = getelementptr i64, ptr %out, i32 1
  store i64 %r, ptr %o1
  %o2 = getelementptr i64, ptr %out, i32 2
  store i64 %sq, ptr %o2
  %o3 = getelementptr i64, ptr %out, i32 3
  store i64 %sr, ptr %o3
  ; memcpy 16 input bytes to out+32, memmove them 3 bytes on (overlapping), memset 4 bytes
  %plen = getelementptr i32, ptr %in, i32 4
  %len = load volatile i32, ptr %plen
  %o4 = getelementptr i8, ptr %out, i32 32
  %src = getelementptr i8, ptr %in, i32 20
  call void @llvm.memcpy.p0.p0.i32(ptr %o4, ptr %src, i32 %len, i1 false)
  %o5 = getelementptr i8, ptr %out, i32 35
  call void @llvm.memmove.p0.p0.i32(ptr %o5, ptr %o4, i32 %len, i1 false)
  %o6 = getelementptr i8, ptr %out, i32 60
  call void @llvm.memset.p0.i32(ptr %o6, i8 171, i32 %len, i1 false)
  ret i32 0
}}
declare void @llvm.memcpy.p0.p0.i32(ptr, ptr, i32, i1)
declare void @llvm.memmove.p0.p0.i32(ptr, ptr, i32, i1)
declare void @llvm.memset.p0.i32(ptr, i8, i32, i1)
"""
MODULE = (
    f'target datalayout = "{riscv.RISCV_DATALAYOUT}"\n'
    f'target triple = "{riscv.RISCV_TRIPLE}"\n' + riscv.RUNTIME_IR + MAIN
)
GUEST = linker.link(riscv.compile_object(MODULE), M)


def run(a: int, b: int, data: bytes) -> bytes:
    payload = struct.pack("<QQI", a, b, len(data)) + data
    program = load_elf(linker.to_elf(GUEST, payload), mem_size=M.end - M.text_base)
    return program.run(10_000_000).output[8:]


def test_the_runtime_is_linked_in() -> None:
    names = {name for _, _, name in GUEST.symbols}
    assert {
        "__udivdi3",
        "__umoddi3",
        "__divdi3",
        "__moddi3",
        "memcpy",
        "memmove",
        "memset",
    } <= names


def _signed(x: int) -> int:
    return x - (1 << 64) if x >> 63 else x


def _trunc_div(a: int, b: int) -> tuple[int, int]:
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    return q, a - q * b


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(1, 2**64 - 1), st.binary(min_size=0, max_size=16))
def test_division_and_memory_helpers_match_python(a: int, b: int, data: bytes) -> None:
    out = run(a, b, data)
    q, r, sq, sr = struct.unpack_from("<QQQQ", out)
    assert (q, r) == divmod(a, b)
    sa, sb = _signed(a), _signed(b)
    if not (sa == -(2**63) and sb == -1):  # the one overflowing case is undefined in C
        assert (_signed(sq), _signed(sr)) == _trunc_div(sa, sb)
    n = len(data)
    region = bytearray(out[32:80])
    expect = bytearray(48)
    expect[0:n] = data
    expect[3 : 3 + n] = bytes(expect[0:n])
    expect[28 : 28 + n] = b"\xab" * n
    assert bytes(region[: 28 + n]) == bytes(expect[: 28 + n])


def test_large_operands_edge_cases() -> None:
    for a, b in [(2**64 - 1, 1), (2**64 - 1, 2**64 - 1), (2**63, 3), (5, 2**63), (0, 7)]:
        q, r = struct.unpack_from("<QQ", run(a, b, b""))
        assert (q, r) == divmod(a, b)
