"""The prover benchmark's bookkeeping (atlasdev/bench_prover.py) on the empty block: what it
reports, and that the proving key's one-off setup is kept out of the end-to-end time."""

from atlasdev.bench_prover import run_prover_bench


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
