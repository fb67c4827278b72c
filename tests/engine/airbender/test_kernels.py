"""kernels.py: how kernels.cu is built and launched. The kernels' values are tested against the
CPU backend in test_gpu.py; here: the declared signatures, argument checks, the CUDA compile of
the exact source (with nvcc where the CUDA toolkit is installed, with NVRTC where CuPy and its
NVRTC are), and the CuPy launch path
through a stand-in module."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from atlasdev.engine.airbender import evaluation, kernels, straight_line
from atlasdev.engine.airbender.kernels import (
    SIGNATURES,
    CudaKernels,
    HostKernels,
    KernelsUnavailable,
    TimedKernels,
    signatures,
)


def _programs() -> str:
    """Small AIRs' quotient (every instruction, both accumulators) and LogUp rows programs,
    written out (straight_line.py)."""
    from tests.engine.airbender.test_gpu import _every_instruction_air, _lookup_air

    quotient = evaluation.QuotientKernel(_every_instruction_air().constraints)
    rows = _lookup_air().kernel
    return straight_line.quotient_source(quotient.code) + straight_line.rows_source(rows.code)


def test_signatures_are_read_off_the_source() -> None:
    assert SIGNATURES["blake2s_nodes"] == ("u32*", "u64", "u32*")
    assert set(SIGNATURES) >= {"ntt_dit_stages1", "ntt_dif_coeffs4", "rv32_witness", "fri_fold"}
    programs = signatures(_programs())
    quotient = (*["u32*"] * 4, "i64*", *["u32*"] * 4, "u64", "u64", "u32*")
    assert programs[straight_line.QUOTIENT] == quotient
    assert programs[straight_line.ROWS] == ("u32*", "u32*", "u32*", "u64", "u32*")
    with pytest.raises(ValueError, match="type int"):
        signatures("KERNEL void f(u32* a, int n) {")


def test_the_prelude_carries_the_python_constants() -> None:
    text = kernels.prelude()
    assert "#define P 2013265921u" in text and "#define W 11u" in text
    assert "{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}" in text  # SIGMA row 1


def test_host_launches_check_their_arguments() -> None:
    from tests.engine.airbender.test_gpu import host_kernels

    host = host_kernels()
    out = np.zeros((8, 4), dtype=np.uint32)
    children = np.zeros((8, 8), dtype=np.uint32)
    host.launch("blake2s_nodes", 4, children, 4, out)
    assert out.any()  # the digest of 64 zero bytes is not zero
    with pytest.raises(KeyError):
        host.launch(straight_line.ROWS, 1)
    with_programs = host.with_source(_programs())
    assert with_programs.signatures[straight_line.ROWS] == ("u32*", "u32*", "u32*", "u64", "u32*")
    with pytest.raises(TypeError, match="takes 5 arguments"):
        with_programs.launch(straight_line.ROWS, 1)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        host.launch("blake2s_nodes", 4, children, out)
    with pytest.raises(TypeError, match="argument 0 is not a C-contiguous u32 array"):
        host.launch("blake2s_nodes", 4, children.astype(np.int64), 4, out)
    with pytest.raises(TypeError, match="argument 2 is not a C-contiguous u32 array"):
        host.launch("blake2s_nodes", 4, children, 4, np.zeros((4, 8), dtype=np.uint32).T)
    with pytest.raises(TypeError, match="NumPy arrays and ints"):
        host.launch("blake2s_nodes", 4, children, 4.0, out)
    with pytest.raises(ValueError, match=r"argument 1 \(-1\) is not a u64"):
        host.launch("blake2s_nodes", 4, children, -1, out)


RACY = """
KERNEL void shift_in_place(u32* a, u64 n) {
    for (u64 i = FIRST; i < n; i += STRIDE) a[i] = i ? a[i - 1] + 1 : 0; /* reads item i-1's */
}
KERNEL void double_in_place(u32* a, u64 n) {
    for (u64 i = FIRST; i < n; i += STRIDE) a[i] = fadd(a[i], a[i]);
}
"""


def test_host_threads_change_what_a_racy_kernel_computes() -> None:
    """In order, the racy kernel counts 0, 1, 2, ...; with three threads, the last first, an item
    reads its neighbour before that is written, as a GPU thread may. Independent items compute
    the same values either way."""
    from tests.engine.airbender.test_gpu import host_kernels

    threads = host_kernels().with_source(RACY)
    in_order = HostKernels(extra=RACY)
    values = {}
    for name, built in (("one", in_order), ("three", threads)):
        a = np.full(10, 7, dtype=np.uint32)
        built.launch("shift_in_place", 10, a, 10)
        b = np.arange(10, dtype=np.uint32)
        built.launch("double_in_place", 10, b, 10)
        assert b.tolist() == [2 * v for v in range(10)]
        values[name] = a.tolist()
    assert values["one"] == list(range(10))
    assert values["three"] == [0, 8, 8, 9, 8, 8, 9, 8, 8, 9]  # threads 2, 1, then 0
    with pytest.raises(ValueError, match="threads must be at least 1"):
        HostKernels(threads=0)


def test_timed_kernels_count_every_launch_and_change_no_value() -> None:
    """Each launch's seconds and count go to one table, also those of kernels built after
    (with_source: the AIR's programs); the values are the untimed kernels'."""
    from atlasdev.engine.airbender.kernel_backend import KernelArrays
    from tests.engine.airbender.test_gpu import host_kernels

    plain = host_kernels()
    timed = TimedKernels(plain)
    values = np.random.default_rng(5).integers(0, 2**31 - 2**27, (3, 1 << 14), dtype=np.uint32)
    coeffs = KernelArrays(timed).interpolate(values)
    assert np.array_equal(coeffs, KernelArrays(plain).interpolate(values))
    assert timed.seconds.keys() == {"ntt_dit_gather4", "ntt_dit_tile"}
    assert timed.seconds["ntt_dit_gather4"][1] == 1 and timed.seconds["ntt_dit_tile"][1] == 2
    assert all(seconds > 0 for seconds, _ in timed.seconds.values())
    racy = timed.with_source(RACY)
    b = np.arange(10, dtype=np.uint32)
    racy.launch("double_in_place", 10, b, 10)
    assert b.tolist() == [2 * v for v in range(10)]
    assert timed.seconds["double_in_place"][1] == 1 and racy.seconds is timed.seconds


def test_the_host_build_is_cached_and_a_missing_compiler_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("g++") is None:
        pytest.skip("no C++ compiler (g++) to build the host kernels")
    HostKernels(cache_dir=tmp_path)
    (built,) = tmp_path.glob("kernels-*.so")
    HostKernels(cache_dir=tmp_path)  # found, not rebuilt
    assert list(tmp_path.glob("kernels-*.so")) == [built]
    monkeypatch.setattr(kernels.shutil, "which", lambda name: None)
    with pytest.raises(KernelsUnavailable, match="no C\\+\\+ compiler"):
        HostKernels(cache_dir=tmp_path / "empty")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="the CUDA toolkit (nvcc) is not installed")
@pytest.mark.parametrize("arch", ["sm_75", "sm_90"])  # RTX 20xx laptops, H100
def test_the_source_compiles_for_cuda(tmp_path: Path, arch: str) -> None:
    src = tmp_path / "kernels.cu"
    src.write_text(kernels.source() + _programs())
    done = subprocess.run(
        [
            "nvcc",
            "-ptx",
            f"-arch={arch}",
            "-Werror",
            "all-warnings",
            "-o",
            str(tmp_path / "k.ptx"),
            str(src),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ptx = (tmp_path / "k.ptx").read_text()
    for name in [*SIGNATURES, straight_line.QUOTIENT, straight_line.ROWS]:
        assert f".entry {name}(" in ptx  # extern "C": unmangled names, as get_function wants


def _nvrtc():  # type: ignore[no-untyped-def]
    """CuPy's binding of NVRTC, where CuPy and NVRTC load (no GPU needed to compile)."""
    try:
        from cupy.cuda import nvrtc

        nvrtc.getVersion()
    except Exception as exc:  # no CuPy, or CuPy without NVRTC (no CUDA toolkit or wheel)
        pytest.skip(f"NVRTC does not load here: {' '.join(str(exc).split())[:100]}")
    return nvrtc


@pytest.mark.parametrize("arch", ["sm_75", "sm_86", "sm_90"])  # RTX 20xx, RTX 30xx, H100
def test_the_source_compiles_with_nvrtc_as_cupy_builds_it(arch: str) -> None:
    """NVRTC, unlike nvcc, includes no host headers: the source must stand alone. The options
    are CudaKernels' plus those CuPy's RawModule adds (cupy/cuda/compiler.py)."""
    nvrtc = _nvrtc()
    options = ("-std=c++11", "-ftz=true", f"-arch={arch}", "--device-as-default-execution-space")
    program = nvrtc.createProgram(kernels.source() + _programs(), "kernels.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(program, options)
        except nvrtc.NVRTCError as exc:
            raise AssertionError(nvrtc.getProgramLog(program)) from exc
        assert nvrtc.getProgramLog(program).strip("\x00 \n") == ""  # no warnings either
        assert len(nvrtc.getCUBIN(program)) > 0
    finally:
        nvrtc.destroyProgram(program)


class _FakeCupy:
    """What CudaKernels uses of CuPy: RawModule(code, options).get_function(name)."""

    ndarray = np.ndarray  # the stand-in's device arrays are NumPy's

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.fetched: list[str] = []
        self.code = ""

    def RawModule(self, code: str, options: tuple) -> "_FakeCupy":
        self.code = code
        return self

    def get_function(self, name: str):  # type: ignore[no-untyped-def]
        self.fetched.append(name)
        return lambda grid, block, args: self.calls.append((name, grid, block, args))


def test_cuda_launches_size_the_grid_and_pass_u64_scalars() -> None:
    fake = _FakeCupy()
    cuda = CudaKernels(fake)
    assert fake.code == kernels.source()
    assert cuda.threads(10) == 256 and cuda.threads(257) == 512
    assert cuda.threads(1 << 40) == 256 << 16  # the grid is capped; the kernels stride
    out, children = np.zeros((8, 4), dtype=np.uint32), np.zeros((8, 8), dtype=np.uint32)
    cuda.launch("blake2s_nodes", 4, children, 4, out)
    ((name, grid, block, args),) = fake.calls
    assert (name, grid, block) == ("blake2s_nodes", (1,), (256,))
    assert args[0] is children and args[2] is out
    assert isinstance(args[1], np.uint64) and args[1] == 4
    with pytest.raises(TypeError, match="argument 2"):
        cuda.launch("blake2s_nodes", 4, children, 4, out.astype(np.uint64))


def test_cuda_launches_refuse_host_arrays() -> None:
    """CuPy would pass a one-element NumPy array by value, as if it were the pointer."""

    class _DeviceArray(np.ndarray):
        """What the stand-in CuPy calls its arrays: a plain NumPy array is a host one."""

    fake = _FakeCupy()
    fake.ndarray = _DeviceArray  # type: ignore[misc]
    cuda = CudaKernels(fake)
    children = np.zeros((8, 2), dtype=np.uint32).view(_DeviceArray)
    host_out = np.zeros((8, 1), dtype=np.uint32)
    with pytest.raises(TypeError, match="blake2s_nodes: argument 2 is a host array"):
        cuda.launch("blake2s_nodes", 1, children, 1, host_out)
    assert fake.calls == []
    cuda.launch("blake2s_nodes", 1, children, 1, host_out.view(_DeviceArray))
    assert len(fake.calls) == 1


def test_cuda_programs_are_built_when_made_not_at_their_first_launch() -> None:
    """CuPy compiles a RawModule when it is first used: with_source fetches the new kernels,
    so a warm-up builds them (about a minute for the RV32IM AIR) before any clock starts."""
    fake = _FakeCupy()
    cuda = CudaKernels(fake)
    assert fake.fetched == []
    programs = cuda.with_source(_programs())
    assert fake.code == kernels.source() + _programs()
    assert sorted(fake.fetched) == sorted([straight_line.QUOTIENT, straight_line.ROWS])
    assert programs.signatures[straight_line.ROWS] == ("u32*", "u32*", "u32*", "u64", "u32*")
