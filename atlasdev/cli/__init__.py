"""The `atlasdev` command line: run a devnet (`up`) and script it over JSON-RPC.

Run ``atlasdev --help`` for the list. The whole command tree is registered here, in the order
``--help`` shows it; the commands live in ``node_cmds`` (local: up, reset, profiles),
``chain_cmds`` (one chain over JSON-RPC), ``system_cmds`` (token, oracle, msg groups) and
``prividium_cmds`` (access tokens of private chains).

Every command has ``--json``; errors are one ``error: ...`` line on stderr and exit code 1
(usage errors exit 2). Tests run the app in-process with ``typer.testing.CliRunner().invoke(app,
[...])`` or ``main([...])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from ..engine.airbender import heap
from . import (
    bench_cmds,
    chain_cmds,
    l1_cmds,
    node_cmds,
    prividium_cmds,
    proof_cmds,
    system_cmds,
    zkos_cmds,
)
from ._app import CliError, app

__all__ = ["CliError", "app", "main"]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"atlasdev {node_cmds._version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A local multi-chain ZK rollup devnet: run it with `atlasdev up`, script it with the rest.

    Example: atlasdev up, then in another terminal: atlasdev send 1 1eth
    """


app.command("up")(node_cmds.up)
app.command("status")(chain_cmds.status)
app.command("accounts")(chain_cmds.accounts)
app.command("balance")(chain_cmds.balance)
app.command("send")(chain_cmds.send)
app.add_typer(system_cmds.token_app)
app.add_typer(system_cmds.oracle_app)
app.add_typer(system_cmds.msg_app)
app.add_typer(l1_cmds.l1_app)
app.add_typer(prividium_cmds.prividium_app)
app.command("block")(chain_cmds.block)
app.command("tx")(chain_cmds.tx)
app.command("reset")(node_cmds.reset)
app.command("profiles")(node_cmds.profiles)
app.command("doctor")(node_cmds.doctor)
app.add_typer(bench_cmds.bench_app)
app.add_typer(zkos_cmds.zkos_app)
app.add_typer(proof_cmds.proof_app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process arguments); return the exit code."""
    heap.keep_freed()  # before any thread allocates: the prover's arrays reuse freed memory
    try:
        app(args=list(argv) if argv is not None else None, prog_name="atlasdev")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        typer.echo(str(exc.code), err=True)
        return 1
    return 0
