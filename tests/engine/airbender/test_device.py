"""The GPU probe: a device CuPy reports, or one line saying why there is none — never a raise."""

import sys
import types

import pytest

from atlasdev.engine.airbender.device import Gpu, Probe, probe


class _Runtime:
    def __init__(self, count: int, fail: Exception | None = None) -> None:
        self.count, self.fail = count, fail

    def getDeviceCount(self) -> int:
        if self.fail is not None:
            raise self.fail
        return self.count

    def getDeviceProperties(self, device: int) -> dict:
        return {"name": b"NVIDIA GeForce RTX 4070 Laptop GPU", "totalGlobalMem": 8 << 30,
                "major": 8, "minor": 9}  # fmt: skip

    def runtimeGetVersion(self) -> int:
        return 12040

    def driverGetVersion(self) -> int:
        return 12080


class _Nvrtc:
    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail

    def getVersion(self) -> tuple[int, int]:
        if self.fail is not None:
            raise self.fail
        return (12, 9)


def _fake(monkeypatch: pytest.MonkeyPatch, runtime: _Runtime, nvrtc: _Nvrtc | None = None) -> str:
    module = types.ModuleType("fake_cupy")
    module.__version__ = "14.2.0"  # type: ignore[attr-defined]
    module.cuda = types.SimpleNamespace(runtime=runtime, nvrtc=nvrtc or _Nvrtc())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_cupy", module)
    return "fake_cupy"


def test_a_device_is_described(monkeypatch: pytest.MonkeyPatch) -> None:
    found = probe(_fake(monkeypatch, _Runtime(1)))
    assert found == Probe(
        Gpu("NVIDIA GeForce RTX 4070 Laptop GPU", 8 << 30, "8.9", "12.4", "12.8", "14.2.0", "12.9"),
        "",
    )


def test_a_device_without_nvrtc_is_not_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    """CuPy's wheels carry no kernel compiler: with only the driver installed, the device is
    found but the kernels could not be built, so `auto` must prove on the CPU instead."""
    # what CuPy 14 raises (cuda.pathfinder's DynamicLibNotFoundError, a RuntimeError)
    missing = RuntimeError('Failure finding "libnvrtc.so.13 or libnvrtc.so.12": No such file')
    found = probe(_fake(monkeypatch, _Runtime(1), _Nvrtc(missing)))
    assert found.gpu is None
    assert found.reason == (
        "CuPy finds NVIDIA GeForce RTX 4070 Laptop GPU but not NVRTC, CUDA's runtime compiler that "
        "builds the prover's kernels (pip install 'atlasdev[gpu]' adds it): Failure finding "
        '"libnvrtc.so.13 or libnvrtc.so.12": No such file'
    )


def test_without_cupy_the_reason_says_how_to_get_it() -> None:
    found = probe("atlasdev_no_such_module")
    assert found.gpu is None and "pip install 'atlasdev[gpu]'" in found.reason


def test_no_device_and_a_failing_driver_are_one_line_reasons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert probe(_fake(monkeypatch, _Runtime(0))) == Probe(None, "CuPy finds no CUDA device")
    failing = _Runtime(1, RuntimeError("cudaErrorInsufficientDriver:\n CUDA driver is too old"))
    found = probe(_fake(monkeypatch, failing))
    assert found.gpu is None and "\n" not in found.reason
    assert (
        found.reason == "no usable CUDA device: cudaErrorInsufficientDriver: CUDA driver is too old"
    )


def test_a_cupy_that_fails_to_import_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(name: str, *args: object, **kwargs: object) -> object:
        raise OSError("libcudart.so.12: cannot open shared object file")

    monkeypatch.setattr("importlib.import_module", fail)
    found = probe("cupy")
    assert found == Probe(
        None, "CuPy does not load: libcudart.so.12: cannot open shared object file"
    )


@pytest.mark.parametrize(
    ("gib", "log_n"), [(1, 16), (4, 18), (8, 19), (12, 19), (24, 20), (80, 22), (141, 22)]
)
def test_gpu_segments_fill_at_most_three_fifths_of_its_memory(gib: int, log_n: int) -> None:
    from atlasdev.engine.airbender.device import DEVICE_BYTES_PER_ROW, segment_log

    assert segment_log(gib << 30) == log_n
    if log_n > 16:
        assert DEVICE_BYTES_PER_ROW << log_n <= (gib << 30) * 3 // 5


def test_host_memory_free_is_read_from_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import os

    from atlasdev.engine.airbender import device

    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < device.host_available_bytes() <= physical
    real_open = builtins.open

    def no_meminfo(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path) == "/proc/meminfo":
            raise PermissionError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_meminfo)
    assert 0 < device.host_available_bytes() <= physical  # free pages instead
    monkeypatch.setattr(os, "sysconf", lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert device.host_available_bytes() == 0  # unknown: nothing is kept


def test_what_may_be_kept_is_the_budget_less_one_segments_working_set() -> None:
    from atlasdev.engine.airbender.device import DEVICE_BYTES_PER_ROW, keep_budget

    segment = DEVICE_BYTES_PER_ROW << 18
    assert keep_budget(segment + 12345, 18) == 12345
    assert keep_budget(segment, 18) == keep_budget(segment - 1, 18) == keep_budget(0, 18) == 0


def test_backends_budget_half_the_free_host_memory_or_three_fifths_of_the_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import numpy as np

    from atlasdev.engine.airbender import device, heap
    from atlasdev.engine.airbender.cpu import CPU
    from atlasdev.engine.airbender.gpu import ArrayBackend

    monkeypatch.setattr(device, "host_available_bytes", lambda: 10 << 30)
    monkeypatch.setattr(heap, "reusable_bytes", lambda: 0)
    assert CPU.memory_budget() == ArrayBackend(np).memory_budget() == 5 << 30
    monkeypatch.setattr(heap, "reusable_bytes", lambda: 2 << 30)  # freed, kept for reuse
    assert CPU.memory_budget() == 6 << 30
    runtime = types.SimpleNamespace(memGetInfo=lambda: (1 << 30, 80 << 30))  # (free, total)
    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(runtime=runtime)  # type: ignore[attr-defined]
    assert ArrayBackend(cupy).memory_budget() == 48 << 30


def test_a_containers_memory_limit_caps_the_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from atlasdev.engine.airbender import device

    v2, v1 = device._CGROUP_FILES
    files = {"/proc/meminfo": "MemTotal:  33554432 kB\nMemAvailable:    8388608 kB\n"}
    monkeypatch.setattr(device, "_read", files.get)
    assert device.host_available_bytes() == 8 << 30
    files.update({v2[0]: f"{4 << 30}\n", v2[1]: f"{1 << 30}\n"})  # 4 GiB allowed, 1 GiB used
    assert device.host_available_bytes() == 3 << 30
    files[v2[0]] = "max\n"
    assert device.host_available_bytes() == 8 << 30
    del files[v2[0]], files[v2[1]]
    files.update({v1[0]: "9223372036854771712\n", v1[1]: "12345\n"})  # version 1, no limit
    assert device.host_available_bytes() == 8 << 30
    files.update({v1[0]: f"{2 << 30}\n", v1[1]: f"{3 << 30}\n"})  # over its limit already
    assert device.host_available_bytes() == 0
