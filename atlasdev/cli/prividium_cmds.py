"""Prividium from the command line: `atlasdev prividium token` creates an access token.

The command asks the running node over JSON-RPC (``prividium_createToken`` on the private chain)
and authenticates with one of the chain's admin tokens (``--admin-token`` or
``ATLASDEV_ADMIN_TOKEN``); the node keeps the new token so that it survives a restart. The token
alone goes to stdout, so ``TOKEN=$(atlasdev prividium token ...)`` works. See docs/prividium.md.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ._app import (
    DEFAULT_RPC,
    ChainOpt,
    CliError,
    JsonOpt,
    RpcOpt,
    bearer,
    connect,
    emit,
)
from .inputs import parse_address

__all__ = ["ADMIN_TOKEN_ENV", "prividium_app"]

ADMIN_TOKEN_ENV = "ATLASDEV_ADMIN_TOKEN"

prividium_app = typer.Typer(
    name="prividium",
    help="Private (Prividium) chains: create access tokens for their JSON-RPC.",
    no_args_is_help=True,
)


@prividium_app.command("token")
def token(
    account: Annotated[
        list[str],
        typer.Option(
            "--account",
            metavar="ADDRESS|INDEX",
            help="An account the token sees and sends from: a 0x address or a dev account "
            "index (0..9). Repeat for more accounts.",
        ),
    ],
    admin_token: Annotated[
        str | None,
        typer.Option(
            "--admin-token",
            envvar=ADMIN_TOKEN_ENV,
            metavar="TOKEN",
            help="An admin token of the chain, from its profile (env ATLASDEV_ADMIN_TOKEN).",
        ),
    ] = None,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an access token of a private chain for the given accounts; print it.

    Example: atlasdev prividium token --chain gamma --account 0 --admin-token gamma-admin-dev-token
    """
    accounts = [parse_address(a, "--account") for a in account]
    if not admin_token:
        raise CliError(
            "creating a token needs an admin token of the chain: pass --admin-token TOKEN or set "
            f"{ADMIN_TOKEN_ENV} (the builtin prividium profile's is gamma-admin-dev-token)"
        )
    target = connect(rpc, chain, bearer(admin_token))
    if target.chain is not None and not target.chain.get("private"):
        raise CliError(
            f"chain {target.label} is public and needs no token: pass --chain with a private chain"
        )
    answer = target.client.call("prividium_createToken", accounts)
    if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
        raise CliError(f"the node answered prividium_createToken with {answer!r}")
    data: dict[str, Any] = {
        "token": answer["token"],
        "chain": target.chain["name"] if target.chain else None,
        "chainId": answer.get("chainId"),
        "accounts": answer.get("accounts", accounts),
    }
    emit(json_out, data, answer["token"])
    if not json_out:
        typer.echo(
            f"token for {target.label}, accounts {', '.join(data['accounts'])}; "
            "send it as 'Authorization: Bearer <token>' or ?token=<token>",
            err=True,
        )
