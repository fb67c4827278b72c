"""The prover benchmark's bookkeeping (atlasdev/bench_prover.py) on the empty block: what it
reports, and that the proving key's one-off setup is kept out of the end-to-end time."""

import pytest

from atlasdev import bench_prover
from atlasdev.bench_prover import run_prover_bench
from atlasdev.engine.airbender.cpu import CpuBackend


def test_the_empty_block_is_proven_verified_and_reported() -> None:
    seen: list[int] = []
    result = run_prover_bench(
        "cpu", [0], progress=lambda partial: seen.append(len(partial["runs"]))
    )
    assert seen == [1]  # after the block: what a caller cut off by a time limit keeps
    (run,) = result["runs"]
    assert result["backend"] == "cpu" and run["transfers"] == 0 and run["segments"] == 1
    assert run["cycles"] > 4000 and run["proof_bytes"] > 100_000 and run["verify_seconds"] > 0
    assert run["setup_seconds"] == run["stages"]["setup"]
    # end to end: the run, the replay and the proof, without the setup (which is inside them
    # on the clock): never less than the proof alone
    assert run["end_to_end_seconds"] >= run["prove_seconds"]
    assert run["proven_cycles_per_second"] <= run["cycles_per_prove_second"]
    assert "byte_identical_to_cpu" not in run  # the CPU is the reference: nothing to compare


def test_kernel_times_are_reported_after_the_blocks_own_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timed proof comes after the block's figures are handed on (it may not finish where
    the plain one did), and its table is the timed backend's. Here a CPU backend counting its
    commitments stands in for the timed kernels."""
    seconds: dict[str, list[float]] = {}

    class Counting(CpuBackend):
        def commit_values(self, values, log_blowup):  # type: ignore[no-untyped-def]
            entry = seconds.setdefault("commit_values", [0.0, 0])
            entry[0], entry[1] = entry[0] + 0.5, entry[1] + 1
            return super().commit_values(values, log_blowup)

    monkeypatch.setattr(bench_prover, "timed_backend", lambda *_: (Counting(), seconds))
    seen: list[bool] = []
    result = run_prover_bench(
        "cpu",
        [0],
        progress=lambda partial: seen.append("kernel_times" in partial["runs"][-1]),
        kernels_timed=True,
    )
    assert seen == [False, True]
    (run,) = result["runs"]
    assert run["kernel_times"] == {"commit_values": {"seconds": 1.0, "launches": 2}}
    assert run["kernel_times_same_proof"] is True and run["kernel_times_prove_seconds"] > 0


def test_only_backends_with_kernels_have_launches_to_time() -> None:
    with pytest.raises(ValueError, match="the numpy backend launches no kernels to time"):
        bench_prover.timed_backend("numpy", bench_prover.make_backend("numpy"))
