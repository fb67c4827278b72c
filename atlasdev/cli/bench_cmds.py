"""`atlasdev bench`: the benchmarks that back docs/BENCHMARKS.md, writing JSON result files."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

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
