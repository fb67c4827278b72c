"""The typer app, its one error handler, the shared options and the output helpers.

Every command prints data to stdout (a table for people, or JSON with ``--json``) and diagnostics to
stderr. Every error a user can cause ends as ONE line ``error: ...`` on stderr and exit code 1;
usage errors keep click's exit code 2. Set ``ATLASDEV_DEBUG=1`` to see tracebacks instead.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn
from urllib.parse import urlsplit

import typer
from typer.core import TyperGroup

from ..amounts import AmountError
from ..profiles import ProfileError
from ..rpc_client import DEFAULT_RPC_URL, NodeUnreachable, RpcClient, RpcError

__all__ = [
    "ChainOpt",
    "CliError",
    "JsonOpt",
    "RpcOpt",
    "Target",
    "app",
    "bearer",
    "connect",
    "emit",
    "fail",
    "network",
    "table",
]

DEBUG_ENV = "ATLASDEV_DEBUG"
RPC_ENV = "ATLASDEV_RPC"
TOKEN_ENV = "ATLASDEV_TOKEN"  # a Prividium token, sent to every chain (public ones ignore it)


class CliError(Exception):
    """A problem the CLI itself found in what the user asked; the message is one line."""


class AtlasGroup(TyperGroup):
    """The root command group: turns every exception a command raises into one line and exit 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise  # usage errors (exit 2), typer.Exit, Ctrl-C: typer reports those itself
        except BrokenPipeError:
            _silence_stdout()  # `atlasdev accounts | head -3`: the reader left; exit quietly
            raise typer.Exit(1) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            fail(describe(exc))


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush does not fail on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests capture stdout): nothing will flush to a pipe


def describe(exc: BaseException) -> str:
    """One line that says what went wrong, for any exception a command may raise."""
    if isinstance(exc, RpcError):
        text = exc.message
        if (
            isinstance(exc.data, str)
            and exc.data
            and not exc.data.startswith("0x")
            and (exc.data not in text)
        ):  # a text detail is worth showing; hex revert data only repeats the message
            text = f"{text} ({exc.data})"
        where = f"{exc.method}: " if exc.method and not text.startswith(exc.method) else ""
        text = f"the node rejected {where}{text}"
    elif isinstance(exc, CliError | ProfileError | AmountError | NodeUnreachable):
        text = str(exc)
    elif type(exc).__name__ == "NodeError" or isinstance(exc, ValueError):
        text = str(exc) or type(exc).__name__
    elif isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror.lower()}" if exc.strerror else str(exc)
    else:
        text = (
            f"internal error ({type(exc).__name__}: {exc}); "
            f"rerun with {DEBUG_ENV}=1 for a traceback and report it"
        )
    return " ".join(text.split())


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 1."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(1)


app = typer.Typer(
    name="atlasdev",
    cls=AtlasGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# ---- options shared by the scripting commands ---------------------------------------------------

RpcOpt = Annotated[
    str,
    typer.Option(
        "--rpc",
        envvar=RPC_ENV,
        metavar="URL",
        help="JSON-RPC URL of a running atlasdev node (env ATLASDEV_RPC).",
    ),
]
ChainOpt = Annotated[
    str | None,
    typer.Option(
        "--chain",
        metavar="NAME|ID",
        help="Talk to another chain of the same network, by name or chain id "
        "(looked up with atlasdev_network on --rpc).",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON to stdout instead of text.")
]
DEFAULT_RPC = DEFAULT_RPC_URL


def emit(json_out: bool, data: Any, lines: Iterable[str] | str = ()) -> None:
    """Print ``data`` as JSON with ``--json``, else the human ``lines``."""
    if json_out:
        typer.echo(json.dumps(data, indent=2))
        return
    if isinstance(lines, str):
        lines = [lines]
    for line in lines:
        typer.echo(line)


# ---- reaching a chain -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The chain a scripting command talks to: its client and, when looked up, its network entry."""

    client: RpcClient
    chain: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return self.client.url

    @property
    def label(self) -> str:
        """The chain's name if known, else its URL (for messages)."""
        return self.chain["name"] if self.chain else self.client.url


def bearer(token: str | None = None) -> dict[str, str]:
    """The Authorization header for ``token`` (default: $ATLASDEV_TOKEN); none without one."""
    token = token if token is not None else os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def network(rpc: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``atlasdev_network`` answer of the node at ``rpc``."""
    client = RpcClient(rpc, headers=bearer() if headers is None else headers)
    try:
        answer = client.call("atlasdev_network")
    except RpcError as exc:
        raise CliError(
            f"{rpc} does not describe an atlasdev network (atlasdev_network: {exc.message})"
        ) from None
    if not isinstance(answer, dict) or not isinstance(answer.get("chains"), list):
        raise CliError(f"{rpc} answered atlasdev_network with something unexpected")
    return answer


def chain_url(rpc: str, port: int) -> str:
    """``rpc`` with its port replaced: the other chains of a network share the host."""
    parts = urlsplit(rpc)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme or 'http'}://{host}:{port}"


def find_chain(net: dict[str, Any], ref: str) -> dict[str, Any]:
    """The chain of ``net`` named ``ref`` or with chain id ``ref`` (decimal or 0x hex)."""
    for chain in net["chains"]:
        if chain.get("name") == ref or _chain_id(ref) == chain.get("chainId"):
            return chain
    known = ", ".join(f"{c.get('name')} ({c.get('chainId')})" for c in net["chains"])
    raise CliError(f"no chain {ref!r} in network {net.get('name')!r}: its chains are {known}")


def _chain_id(ref: str) -> int | None:
    try:
        return int(ref, 0)
    except ValueError:
        return None


def connect(rpc: str, chain: str | None, headers: dict[str, str] | None = None) -> Target:
    """The target of a scripting command: ``--rpc`` itself, or the ``--chain`` it names.
    Requests carry ``headers`` (default: the bearer token in $ATLASDEV_TOKEN, if set)."""
    headers = bearer() if headers is None else headers
    if chain is None:
        return Target(RpcClient(rpc, headers=headers))
    net = network(rpc, headers)
    entry = find_chain(net, chain)
    return Target(RpcClient(chain_url(rpc, int(entry["rpcPort"])), headers=headers), entry)


def table(rows: Iterable[Iterable[Any]], indent: str = "") -> list[str]:
    """Rows of cells as left-aligned columns two spaces apart (trailing blanks trimmed)."""
    cells = [[str(c) for c in row] for row in rows]
    if not cells:
        return []
    widths = [
        max(len(row[i]) for row in cells if i < len(row)) for i in range(max(map(len, cells)))
    ]
    return [
        indent + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in cells
    ]
