"""The kernel benchmark's bookkeeping (atlasdev/bench_kernels.py) at small sizes: every step is
measured and counted, and each GPU twin's commitment root is the CPU's."""

import pytest

from atlasdev.bench_kernels import run_kernels_bench


@pytest.mark.parametrize(("backend", "columns"), [("cpu", 16), ("numpy", 3), ("host", 17)])
def test_every_step_is_measured_and_the_root_checked(backend: str, columns: int) -> None:
    if backend == "host":
        from tests.engine.airbender.test_gpu import host_kernels

        host_kernels()  # skips where there is no C++ compiler
    result = run_kernels_bench(backend, log_n=5, columns=columns, repeats=2)
    steps = result["steps"]
    registers = ["interpolate_registers", "lde_registers"] if backend == "host" else []
    assert list(steps) == [
        "interpolate",
        "lde",
        *registers,
        "blake2s_leaves",
        "blake2s_nodes",
        "commit",
    ]
    # 32 points: 5 stages of 16 butterflies a column; the LDE (the prover's blowup 2): 64 points,
    # 6 stages of 32; the leaves: the LDE's 64 rows; the level above them: 32 nodes
    counts = {
        "interpolate": ("butterflies", columns * 16 * 5),
        "lde": ("butterflies", columns * 32 * 6),
        **{
            f"{k}_registers": ("butterflies", steps[k]["butterflies"])
            for k in ("interpolate", "lde")
        },
        "blake2s_leaves": ("hashes", 64),
        "blake2s_nodes": ("hashes", 32),
    }
    for name, (unit, count) in counts.items():
        if name not in steps:
            continue
        step = steps[name]
        assert step[unit] == count and step["seconds"] > 0
        assert step[f"{unit}_per_second"] == pytest.approx(count / step["seconds"], abs=0.1)
    assert steps["commit"]["seconds"] > 0
    assert result.get("root_matches_cpu", True) is True
    assert ("root_matches_cpu" in result) == (backend != "cpu")
    assert result.get("registers_match_tiles", True) is True  # the host kernels: both NTT paths
    assert ("registers_match_tiles" in result) == (backend == "host")


def test_the_kernels_ntt_is_timed_both_ways_and_compared() -> None:
    from tests.engine.airbender.test_gpu import host_kernels

    host_kernels()
    result = run_kernels_bench("host", log_n=12, columns=2, repeats=1)  # tiles from 2^12 values
    assert result["registers_match_tiles"] is True
    assert result["steps"]["lde_registers"]["butterflies"] == 2 * (1 << 12) * 13


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"log_n must be in 1\.\.24"):
        run_kernels_bench("cpu", log_n=0)
