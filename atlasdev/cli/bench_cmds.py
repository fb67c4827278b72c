"""`atlasdev bench`: the benchmarks that back docs/BENCHMARKS.md, writing JSON result files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from ._app import CliError, JsonOpt, emit

__all__ = ["bench_app"]

bench_app = typer.Typer(
    name="bench",
    help="Benchmarks: measure the node on this machine and write the results as JSON.",
    no_args_is_help=True,
)

WORKLOADS = ("transfer", "stablecoin", "oracle")


@bench_app.command("sequencer")
def sequencer(
    workload: Annotated[
        str,
        typer.Option("--workload", "-w", help="What to send: transfer, stablecoin or oracle."),
    ] = "transfer",
    count: Annotated[
        int, typer.Option("--count", "-n", min=100, help="How many pre-signed transactions.")
    ] = 20_000,
    senders: Annotated[
        int, typer.Option("--senders", min=1, help="Distinct senders (oracle: the 10 feeders).")
    ] = 500,
    feeders: Annotated[
        int,
        typer.Option("--feeders", min=1, max=16, help="Concurrent submitting threads (clients)."),
    ] = 2,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the result file sequencer-WORKLOAD.json.")
    ] = Path("benchmarks/results"),
    json_out: JsonOpt = False,
) -> None:
    """Feed pre-signed transactions at full speed to one chain; report sealed-and-persisted TPS
    and inclusion latency.

    Example: atlasdev bench sequencer --workload stablecoin --count 20000
    """
    if workload not in WORKLOADS:
        raise CliError(f"unknown workload '{workload}': choose one of {', '.join(WORKLOADS)}")
    from ..bench import run_sequencer_bench, write_result

    def log(line: str) -> None:
        typer.echo(line, err=True)

    result = run_sequencer_bench(workload, count=count, senders=senders, feeders=feeders, log=log)
    path = write_result(result, out)
    emit(
        json_out,
        asdict(result),
        [
            f"{result.workload}: {result.tps:,.0f} TPS sealed and persisted "
            f"({result.transactions} txs in {result.seconds} s, {result.blocks} blocks)",
            f"inclusion latency p50 {result.latency_p50_ms} ms, p99 {result.latency_p99_ms} ms",
            f"admission {result.submit_tps:,.0f} tx/s; mean seal {result.seal_ms_mean} ms/block",
            f"written to {path}",
        ],
    )


def _on_backend(
    backend: str, kind: str, out: Path, run: Callable[[Callable[[str], None]], dict[str, Any]]
) -> tuple[dict[str, Any], Path]:
    """A prover benchmark on ``backend`` (checked first: a one-line error for an unknown one or
    a missing GPU or compiler), its log on stderr, its result written to OUT/KIND-BACKEND.json."""
    import json

    from ..bench_prover import BACKENDS
    from ..engine.airbender.block_prover import SegmentTooBig
    from ..engine.airbender.kernels import KernelsUnavailable

    if backend not in BACKENDS:
        raise CliError(f"unknown backend '{backend}': choose one of {', '.join(BACKENDS)}")
    if backend == "gpu":
        from ..engine.airbender.device import probe

        found = probe()
        if found.gpu is None:
            raise CliError(f"--backend gpu: no usable GPU ({found.reason})")
    try:
        result = run(lambda line: typer.echo(line, err=True))
    except KernelsUnavailable as exc:
        raise CliError(f"--backend {backend}: {exc}") from None
    except SegmentTooBig as exc:
        raise CliError(f"{exc} (--max-log-n)") from None
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{kind}-{backend}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result, path


@bench_app.command("prover")
def prover(
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="cpu (numba), gpu (CUDA kernels through CuPy), or the GPU backend on the CPU: "
            "numpy (its array code) or host (its CUDA kernels built with g++).",
        ),
    ] = "cpu",
    transfers: Annotated[
        str,
        typer.Option(
            "--transfers", metavar="N,N,...", help="Block sizes: native transfers per block."
        ),
    ] = "0,1",
    max_log_n: Annotated[
        int,
        typer.Option("--max-log-n", min=16, max=22, help="Largest segment: 2^N rows (18, 20, 22)."),
    ] = 18,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="With another backend than cpu, also prove on the CPU and compare the bytes.",
        ),
    ] = True,
    kernel_times: Annotated[
        bool,
        typer.Option(
            "--kernel-times",
            help="gpu or host: prove each block once more with every kernel launch timed "
            "(serialised) and report the seconds kernel by kernel.",
        ),
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the result file prover-BACKEND.json.")
    ] = Path("benchmarks/results"),
    json_out: JsonOpt = False,
) -> None:
    """Prove zkOS blocks of native transfers: cycles per second, time per stage, proof size,
    verify time and peak memory (CuPy's pool on a GPU).

    Example: atlasdev bench prover --backend gpu --transfers 100 --max-log-n 20
    """
    try:
        sizes = [int(v) for v in transfers.split(",")]
    except ValueError:
        raise CliError(
            f"--transfers must be numbers separated by commas, not {transfers!r}"
        ) from None
    if any(n < 0 or n > 20_000 for n in sizes):
        raise CliError("--transfers: each block size must be in 0..20000")
    if kernel_times and backend not in ("gpu", "host"):
        raise CliError(f"--kernel-times: the {backend} backend launches no kernels (gpu or host)")
    from ..bench_prover import run_prover_bench

    result, path = _on_backend(
        backend,
        "prover",
        out,
        lambda log: run_prover_bench(
            backend, sizes, max_log_n, check, log=log, kernels_timed=kernel_times
        ),
    )
    lines = [
        f"{r['transfers']} transfers: {r['proven_cycles_per_second']:,} cycles/s end to end, "
        f"{r['cycles_per_prove_second']:,} proving "
        f"({r['cycles']:,} cycles, {r['end_to_end_seconds']} s, {r['segments']} segment(s))"
        + (
            f", byte-identical to cpu: {r['byte_identical_to_cpu']}"
            if "byte_identical_to_cpu" in r
            else ""
        )
        for r in result["runs"]
    ]
    emit(json_out, result, [*lines, f"written to {path}"])


@bench_app.command("kernels")
def kernels(
    backend: Annotated[
        str,
        typer.Option("--backend", help="cpu, gpu, numpy or host (as for `bench prover`)."),
    ] = "cpu",
    log_n: Annotated[
        int, typer.Option("--log-n", min=1, max=24, help="Trace rows: 2^N (the LDE: 2^(N+2)).")
    ] = 20,
    columns: Annotated[int, typer.Option("--columns", min=1, max=256, help="Columns.")] = 16,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Runs; the best counts.")] = 3,
    check: Annotated[
        bool,
        typer.Option("--check/--no-check", help="Compare the commitment's root with the CPU's."),
    ] = True,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the result file kernels-BACKEND.json.")
    ] = Path("benchmarks/results"),
    json_out: JsonOpt = False,
) -> None:
    """The prover's hot loops alone: NTT butterflies and Blake2s hashes per second, beside
    plain CuPy kernels' rates on one H100.

    Example: atlasdev bench kernels --backend gpu --log-n 22
    """
    from ..bench_kernels import run_kernels_bench

    result, path = _on_backend(
        backend,
        "kernels",
        out,
        lambda log: run_kernels_bench(backend, log_n, columns, repeats, check, log=log),
    )
    rates = [
        f"{name}: {rate / 1e9:.3f} G {unit.removesuffix('_per_second')}/s"
        for name, step in result["steps"].items()
        for unit, rate in step.items()
        if unit.endswith("_per_second")
    ]
    checked = (
        [f"root matches the CPU's: {result['root_matches_cpu']}"]
        if "root_matches_cpu" in result
        else []
    )
    emit(json_out, result, [*rates, *checked, f"written to {path}"])
