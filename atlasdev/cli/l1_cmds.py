"""The model L1 from the command line: `l1 deposit`, `l1 withdraw`, `l1 settlement`.

A deposit is a message from the L1 to an L2 carrying ETH (locked on the L1, minted on the L2
once the gateway has read the L1 block and the L2 imported the interop root); a withdrawal is
the way back (burnt on the L2, minted on the L1 once the L2 block is proven, verified and
settled). Both go through the messenger like any message (docs/gateway.md, "The L1").
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..amounts import parse_amount
from ._app import DEFAULT_RPC, CliError, JsonOpt, RpcOpt, connect, emit, find_chain, network
from .chain_cmds import FromOpt, NoWaitOpt
from .inputs import parse_address, parse_signer
from .system_cmds import send_message

__all__ = ["l1_app"]

l1_app = typer.Typer(
    name="l1",
    help="The model L1: deposits to an L2, withdrawals back, and the gateway's settlements.",
    no_args_is_help=True,
)

L2Arg = Annotated[str, typer.Argument(metavar="CHAIN", help="An L2 of this network: name or id.")]
AmountArg = Annotated[
    str, typer.Argument(metavar="AMOUNT", help="ETH to move: 1eth, 100gwei, or wei.")
]
ToOpt = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="ADDRESS|INDEX",
        help="Recipient on the other side (default: the sender's own address).",
    ),
]


def _l1(net: dict[str, Any]) -> dict[str, Any]:
    found = next((c for c in net["chains"] if c.get("l1")), None)
    if found is None:
        raise CliError(f"network {net.get('name')!r} reports no L1 (is the node older?)")
    return found


def _bridge(
    rpc: str,
    l2_ref: str,
    amount: str,
    to: str | None,
    sender: str,
    no_wait: bool,
    json_out: bool,
    deposit: bool,
) -> None:
    """Send ``amount`` as a message from the L1 to the L2 (``deposit``) or back."""
    wei = parse_amount(amount)
    if wei == 0:
        raise CliError("AMOUNT must be more than 0")
    signer = parse_signer(sender)
    recipient = parse_address(to, "--to") if to is not None else signer.address
    net = network(rpc)
    l1, l2 = _l1(net), find_chain(net, l2_ref)
    if l2.get("l1"):
        raise CliError(f"{l2_ref} is the L1: name an L2 ({_l2_names(net)})")
    source, dest = (l1, l2) if deposit else (l2, l1)
    target = connect(rpc, str(source["chainId"]))
    send_message(target, signer, dest, recipient, wei, b"", None, no_wait, json_out)


def _l2_names(net: dict[str, Any]) -> str:
    return ", ".join(str(c.get("name")) for c in net["chains"] if not c.get("l1"))


@l1_app.command("deposit")
def deposit(
    chain: L2Arg,
    amount: AmountArg,
    to: ToOpt = None,
    sender: FromOpt = "0",
    no_wait: NoWaitOpt = False,
    rpc: RpcOpt = DEFAULT_RPC,
    json_out: JsonOpt = False,
) -> None:
    """Deposit ETH from the L1 to an L2: locked on the L1 now, minted on CHAIN once the gateway
    has read the L1 block (the node relays it unless started with --no-autorelay).

    Example: atlasdev l1 deposit alpha 1eth --from 2
    """
    _bridge(rpc, chain, amount, to, sender, no_wait, json_out, deposit=True)


@l1_app.command("withdraw")
def withdraw(
    chain: L2Arg,
    amount: AmountArg,
    to: ToOpt = None,
    sender: FromOpt = "0",
    no_wait: NoWaitOpt = False,
    rpc: RpcOpt = DEFAULT_RPC,
    json_out: JsonOpt = False,
) -> None:
    """Withdraw ETH from an L2 to the L1: burnt on CHAIN now, minted on the L1 once its block is
    proven, verified by the gateway and settled (needs the prover: atlasdev up --prover cpu).

    Example: atlasdev l1 withdraw alpha 0.5eth --from 2
    """
    _bridge(rpc, chain, amount, to, sender, no_wait, json_out, deposit=False)


@l1_app.command("settlement")
def settlement(
    batch: Annotated[
        int | None,
        typer.Argument(metavar="[BATCH]", help="A batch number (default: the latest).", min=1),
    ] = None,
    rpc: RpcOpt = DEFAULT_RPC,
    json_out: JsonOpt = False,
) -> None:
    """Show a settlement batch: the interop root the gateway settled to the L1, each L2's
    verified head in it, and the L1 block it landed in.

    Example: atlasdev l1 settlement --json
    """
    found = connect(rpc, None).client.call(
        "atlasdev_getSettlement", "latest" if batch is None else hex(batch)
    )
    if found is None:
        raise CliError("no settlement yet" if batch is None else f"no settlement batch {batch}")
    landed = found["l1Block"]
    lines = [
        f"batch     {found['batch']}",
        f"landed    {'waiting for the L1' if landed is None else f'L1 block {landed:,}'}",
        f"root      {found['interopRoot']} ({found['historyCount']} blocks with messages)",
    ]
    for head in found["chains"]:
        lines.append(
            f"chain {head['chainId']:<4} verified #{head['verifiedBlock']:,}  {head['stateRoot']}"
        )
    emit(json_out, found, lines)
