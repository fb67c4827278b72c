"""kernels.cu, compiled for a GPU (CuPy's NVRTC) or for this CPU (the host C++ compiler).

The GPU backend (kernel_backend.py) launches the kernels by name. `CudaKernels` runs them on an
NVIDIA GPU; `HostKernels` compiles the same source with g++ into a shared library and calls it
through ctypes on NumPy arrays: one thread doing every item in order, or several threads one
after another (the last first), so that a kernel whose items depend on each other, a race on a
GPU, computes different values on the CPU too. That host build is the kernels' CPU-checkable
twin: the tests run every kernel, and whole proofs through them, against
the CPU backend on machines without a GPU, so only NVRTC's compile and the device's own
execution are left for a GPU session to check. `with_source` builds the same kernels with more
source after them: an AIR's quotient and LogUp programs (straight_line.py), one module each.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from ..zkos.blake2s import IV, PARAM0, SIGMA
from . import field as F
from . import rv32_witness
from .extension import W_MONTGOMERY, W
from .lookup import FM_ROWS

SOURCE = Path(__file__).with_name("kernels.cu")
BLOCK_THREADS = 256  # threads a CUDA block: the NTT's tiles are shared by a block's threads
FUSED = 4  # NTT stages per pass in registers, at most (kernels.cu's ntt_*_stagesK)
TILE_LOG = 12  # values in a shared-memory tile of the NTT (kernels.cu's ntt_*_tile), log 2
WITNESS_SOURCE = Path(__file__).with_name(rv32_witness.SOURCE_NAME)


def signatures(text: str) -> dict[str, tuple[str, ...]]:
    """Each kernel's parameter types read off its declaration: "u32*" or "i64*" for an array,
    "u64" for a scalar (the only scalar type the kernels take)."""
    found = {}
    for name, params in re.findall(r"KERNEL void (\w+)\(([^)]*)\)", text):
        types = []
        for param in params.split(","):
            words = param.replace("*", " * ").replace("const", " ").split()
            kind = words[0] + ("*" if "*" in words else "")
            if kind not in DTYPES:
                raise ValueError(
                    f"kernel {name}: a parameter of type {kind} (only {', '.join(DTYPES)})"
                )
            types.append(kind)
        found[name] = tuple(types)
    return found


DTYPES = {"u32*": np.uint32, "i64*": np.int64, "u64": np.uint64}
SIGNATURES = signatures(SOURCE.read_text() + WITNESS_SOURCE.read_text())


class KernelsUnavailable(RuntimeError):
    """The kernels cannot be built here (one line: why)."""


def prelude() -> str:
    """The types and constants kernels.cu expects, from the Python modules that own them."""
    table = lambda values: ", ".join(str(int(v)) for v in values)  # noqa: E731
    sigma = ", ".join("{" + table(row) + "}" for row in SIGMA)
    return f"""typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;
#ifdef __CUDACC__
#define TABLE static __constant__ const
#else
#define TABLE static const
#endif
#define P {F.P}u
#define P_NEG_INV {F.P_NEG_INV}u
#define R1 {F.R1}ull
#define R2 {F.R2}u
#define W_MONTGOMERY {W_MONTGOMERY}u
#define W {W}u
#define PARAM0 {int(PARAM0)}u
#define FM_ROWS {FM_ROWS}ull
#define BLOCK_THREADS {BLOCK_THREADS}u
#define FUSED {FUSED}
#define TILE_LOG {TILE_LOG}
TABLE u32 IV[8] = {{{table(IV)}}};
TABLE unsigned char SIGMA[10][16] = {{{sigma}}};
"""


def source() -> str:
    """The whole translation unit: the preludes, kernels.cu, then rv32_witness.cu (which uses
    kernels.cu's helpers)."""
    return prelude() + rv32_witness.prelude() + SOURCE.read_text() + WITNESS_SOURCE.read_text()


class Kernels(ABC):
    """Launches kernels.cu's kernels (and those of any source compiled after it) on arrays of
    one array module (``xp``)."""

    xp: Any
    name: str
    signatures: dict[str, tuple[str, ...]]

    @abstractmethod
    def with_source(self, extra: str) -> Kernels:
        """These kernels built with ``extra`` after kernels.cu (its kernels launch by name
        too), compiled once per text."""

    @abstractmethod
    def launch(self, kernel: str, items: int, *args: Any) -> None:
        """Run ``kernel`` over ``items`` items with ``args`` (arrays and ints, as its
        declaration in the source says: ``signatures``)."""


class TimedKernels(Kernels):
    """Kernels whose every launch waits for the device before and after and adds its seconds to
    ``seconds[kernel]`` (with a launch count): where a proof's device time goes, kernel by
    kernel (`atlasdev bench prover --kernel-times`). The launches are serialised, so the proof
    takes longer than a plain one; its values are the same."""

    def __init__(self, inner: Kernels, seconds: dict[str, list[float]] | None = None) -> None:
        self.inner = inner
        self.xp, self.name, self.signatures = inner.xp, inner.name, inner.signatures
        self.seconds: dict[str, list[float]] = {} if seconds is None else seconds

    def with_source(self, extra: str) -> TimedKernels:
        return TimedKernels(self.inner.with_source(extra), self.seconds)  # one table for all

    def _wait(self) -> None:
        if self.xp.__name__ == "cupy":
            self.xp.cuda.runtime.deviceSynchronize()

    def launch(self, kernel: str, items: int, *args: Any) -> None:
        self._wait()
        start = time.perf_counter()
        self.inner.launch(kernel, items, *args)
        self._wait()
        entry = self.seconds.setdefault(kernel, [0.0, 0])
        entry[0] += time.perf_counter() - start
        entry[1] += 1


def _arguments(
    signatures: dict[str, tuple[str, ...]], kernel: str, args: tuple[Any, ...]
) -> list[tuple[str, Any]]:
    """The arguments paired with their declared types, after checking arrays' dtypes and
    layout (a wrong one would be read as garbage, not refused, by the kernel)."""
    types = signatures[kernel]
    if len(args) != len(types):
        raise TypeError(f"{kernel} takes {len(types)} arguments, not {len(args)}")
    for i, (kind, arg) in enumerate(zip(types, args, strict=True)):
        if not kind.endswith("*"):
            # out of range (a negative int): ctypes would wrap it, np.uint64 refuse it
            if isinstance(arg, int | np.integer) and not 0 <= int(arg) < 1 << 64:
                raise ValueError(f"{kernel}: argument {i} ({int(arg)}) is not a u64")
            continue
        flags = getattr(arg, "flags", None)
        if flags is None or not flags.c_contiguous or arg.dtype != DTYPES[kind]:
            raise TypeError(f"{kernel}: argument {i} is not a C-contiguous {kind[:-1]} array")
    return list(zip(types, args, strict=True))


class HostKernels(Kernels):
    """kernels.cu built with the host C++ compiler; arrays are NumPy's. A launch runs
    ``threads`` grid-stride threads one after another, the last first: with one, items run in
    order; with several, an item that reads another's output (or overwrites its input) sees it
    written (or not yet) where the GPU's concurrent threads could see either, so its values
    change and the byte-for-byte tests fail."""

    name = "host"

    def __init__(self, cache_dir: Path | None = None, extra: str = "", threads: int = 1) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self.xp = np
        self._cache_dir, self._extra, self.threads = cache_dir, extra, threads
        self.signatures = {**SIGNATURES, **signatures(extra)}
        self._lib = ctypes.CDLL(str(_host_library(cache_dir, source() + extra)))
        self._lib.host_threads.restype = None
        self._lib.host_threads.argtypes = [ctypes.c_uint64, ctypes.c_uint64]
        self._functions: dict[str, Any] = {}
        for kernel, kinds in self.signatures.items():
            fn = getattr(self._lib, kernel)
            fn.restype = None
            fn.argtypes = [ctypes.c_void_p if k.endswith("*") else ctypes.c_uint64 for k in kinds]
            self._functions[kernel] = fn

    def with_source(self, extra: str) -> HostKernels:
        return HostKernels(self._cache_dir, self._extra + extra, self.threads)

    def launch(self, kernel: str, items: int, *args: Any) -> None:
        if not all(isinstance(a, np.ndarray | int | np.integer) for a in args):
            raise TypeError(f"{kernel}: the host kernels take NumPy arrays and ints")
        converted = [
            arg.ctypes.data if kind.endswith("*") else int(arg)
            for kind, arg in _arguments(self.signatures, kernel, args)
        ]
        try:
            for first in reversed(range(self.threads)):
                # host_threads sets this OS thread's FIRST and STRIDE (thread_local in the source)
                self._lib.host_threads(first, self.threads)
                self._functions[kernel](*converted)  # ctypes lets go of the GIL for the call
        finally:
            self._lib.host_threads(0, 1)  # one thread, every item: the library's default


def _compiler() -> str:
    for name in (os.environ.get("CXX", ""), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return name
    raise KernelsUnavailable("no C++ compiler (g++) to build the host kernels")


def _host_library(cache_dir: Path | None, text: str) -> Path:
    """The host build of a source text, compiled once per text into the cache."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = (
        cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "atlasdev"
    )
    library = folder / f"kernels-{digest}.so"
    if library.exists():
        return library
    compiler = _compiler()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        src, built = Path(tmp) / "kernels.cpp", Path(tmp) / "kernels.so"
        src.write_text(text)
        done = subprocess.run(
            [compiler, "-O2", "-std=c++11", "-shared", "-fPIC", "-o", str(built), str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no output"])[0]
            raise KernelsUnavailable(f"the host kernels do not compile: {first}")
        os.replace(built, library)  # atomic: a concurrent build finds a whole file or none
    return library


class CudaKernels(Kernels):
    """kernels.cu through cupy.RawModule (NVRTC) on the current CUDA device."""

    name = "cuda"
    BLOCK = BLOCK_THREADS
    MAX_BLOCKS = 1 << 16

    def __init__(self, cupy: Any, extra: str = "") -> None:
        self.xp = cupy
        self._extra = extra
        self.signatures = {**SIGNATURES, **signatures(extra)}
        self._module = cupy.RawModule(code=source() + extra, options=("-std=c++11",))
        self._functions: dict[str, Any] = {}

    def with_source(self, extra: str) -> CudaKernels:
        built = CudaKernels(self.xp, self._extra + extra)
        for kernel in signatures(extra):  # CuPy compiles a module at its first use: now
            built._function(kernel)
        return built

    def _function(self, kernel: str) -> Any:
        if kernel not in self._functions:
            self._functions[kernel] = self._module.get_function(kernel)
        return self._functions[kernel]

    def threads(self, items: int) -> int:
        """How many threads a launch over ``items`` runs (STRIDE in kernels.cu)."""
        return self.BLOCK * max(1, min(self.MAX_BLOCKS, -(-items // self.BLOCK)))

    def launch(self, kernel: str, items: int, *args: Any) -> None:
        pairs = _arguments(self.signatures, kernel, args)
        for i, (kind, arg) in enumerate(pairs):
            # CuPy passes a one-element NumPy array by value, which the kernel would read as
            # a pointer, and refuses larger ones with a vaguer error
            if kind.endswith("*") and not isinstance(arg, self.xp.ndarray):
                raise TypeError(f"{kernel}: argument {i} is a host array, not a device one")
        converted = [arg if kind.endswith("*") else np.uint64(int(arg)) for kind, arg in pairs]
        grid = self.threads(items) // self.BLOCK
        self._function(kernel)((grid,), (self.BLOCK,), tuple(converted))
