"""The system contracts from the command line: `token`, `oracle` and `msg` command groups.

Amounts of tokens and prices take the same units as ETH values ("1eth" is 10**18 base units; a
plain number is base units).
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..amounts import parse_amount
from ._app import (
    DEFAULT_RPC,
    ChainOpt,
    CliError,
    JsonOpt,
    RpcOpt,
    Target,
    connect,
    emit,
    find_chain,
    network,
)
from ._tx import (
    MESSENGER_ADDRESS,
    ORACLE_ADDRESS,
    STABLECOIN_ADDRESS,
    call_data,
    report,
    transact,
    view,
)
from .chain_cmds import AccountArg, FromOpt, NoWaitOpt, token_report
from .inputs import Signer, feed_id, feed_label, hex_bytes, parse_address, parse_signer

__all__ = ["msg_app", "oracle_app", "send_message", "token_app"]

token_app = typer.Typer(
    name="token",
    help="The built-in stablecoin (an ERC-20 system contract): balance, transfer, mint.",
    no_args_is_help=True,
)
oracle_app = typer.Typer(
    name="oracle",
    help="The price oracle system contract: push and read feed prices.",
    no_args_is_help=True,
)
msg_app = typer.Typer(
    name="msg",
    help="Cross-chain messages through the messenger system contract.",
    no_args_is_help=True,
)

TokenAmountArg = Annotated[
    str,
    typer.Argument(
        metavar="AMOUNT",
        help="Token amount: plain base units, or with a unit (1eth is 10**18 base units).",
    ),
]
FeedArg = Annotated[
    str,
    typer.Argument(
        metavar="FEED",
        help="Feed id: a short name such as ETH/USD (UTF-8, zero-padded to 32 bytes) "
        "or 0x and 64 hex digits.",
    ),
]


@token_app.command("balance")
def token_balance_cmd(
    account: AccountArg,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show an account's stablecoin balance.

    Example: atlasdev token balance 0
    """
    address = parse_address(account)
    token_report(connect(rpc, chain), address, json_out)


@token_app.command("transfer")
def token_transfer(
    to: Annotated[
        str, typer.Argument(metavar="TO", help="Recipient: a 0x address or a dev account index.")
    ],
    amount: TokenAmountArg,
    sender: FromOpt = "0",
    no_wait: NoWaitOpt = False,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Transfer stablecoins (ERC-20 transfer) from --from to TO.

    Example: atlasdev token transfer 1 250eth --from 0
    """
    units = parse_amount(amount)
    recipient = parse_address(to, "TO")
    signer = parse_signer(sender)
    target = connect(rpc, chain)
    data = call_data("transfer(address,uint256)", recipient, units)
    sent, receipt = transact(target, signer, STABLECOIN_ADDRESS, 0, data, wait=not no_wait)
    report(json_out, sent, receipt, {"recipient": recipient, "amount": str(units)})


@token_app.command("mint")
def token_mint(
    to: Annotated[
        str, typer.Argument(metavar="TO", help="Who receives the new tokens: address or index.")
    ],
    amount: TokenAmountArg,
    sender: FromOpt = "0",
    no_wait: NoWaitOpt = False,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mint new stablecoins to TO (--from must be a minter; the dev accounts are).

    Example: atlasdev token mint 3 1000000eth
    """
    units = parse_amount(amount)
    recipient = parse_address(to, "TO")
    signer = parse_signer(sender)
    target = connect(rpc, chain)
    data = call_data("mint(address,uint256)", recipient, units)
    sent, receipt = transact(target, signer, STABLECOIN_ADDRESS, 0, data, wait=not no_wait)
    report(json_out, sent, receipt, {"recipient": recipient, "amount": str(units)})


@oracle_app.command("push")
def oracle_push(
    feed: FeedArg,
    price: Annotated[
        str,
        typer.Argument(
            metavar="PRICE", help="New price: plain integer, or with a unit (2500eth is 2500e18)."
        ),
    ],
    sender: FromOpt = "0",
    no_wait: NoWaitOpt = False,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Push a price to an oracle feed (--from must be a feeder; the dev accounts are).

    Example: atlasdev oracle push ETH/USD 3150eth
    """
    value = parse_amount(price)
    feed_bytes = feed_id(feed)
    signer = parse_signer(sender)
    target = connect(rpc, chain)
    data = call_data("setPrice(bytes32,uint256)", feed_bytes, value)
    sent, receipt = transact(target, signer, ORACLE_ADDRESS, 0, data, wait=not no_wait)
    extra = {
        "feed": "0x" + feed_bytes.hex(),
        "feedName": feed_label(feed_bytes),
        "price": str(value),
    }
    report(json_out, sent, receipt, extra)


@oracle_app.command("get")
def oracle_get(
    feed: FeedArg,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Read a feed's latest price (0 if none was pushed).

    Example: atlasdev oracle get ETH/USD --json
    """
    feed_bytes = feed_id(feed)
    target = connect(rpc, chain)
    (value,) = view(target, ORACLE_ADDRESS, "getPrice(bytes32)", ["uint256"], feed_bytes)
    data = {
        "feed": "0x" + feed_bytes.hex(),
        "feedName": feed_label(feed_bytes),
        "price": str(value),
    }
    emit(json_out, data, f"{feed_label(feed_bytes)}  {value}")


@msg_app.command("send")
def msg_send(
    dest_chain: Annotated[
        str,
        typer.Argument(metavar="DEST_CHAIN", help="Destination chain of this network: name or id."),
    ],
    to: Annotated[
        str,
        typer.Argument(metavar="TO", help="Recipient on the destination: address or dev index."),
    ],
    data: Annotated[
        str, typer.Option("--data", metavar="HEX", help="Message payload as hex bytes.")
    ] = "",
    value: Annotated[
        str,
        typer.Option(
            "--value", metavar="AMOUNT", help="ETH to carry with the message (1eth, 100gwei, wei)."
        ),
    ] = "0",
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="AMOUNT",
            help="Send aUSD instead: burnt here, minted to TO on DEST_CHAIN (no --value/--data).",
        ),
    ] = None,
    sender: FromOpt = "0",
    no_wait: NoWaitOpt = False,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send a cross-chain message (messenger sendMessage, or sendToken with --token) from this
    chain to DEST_CHAIN.

    Example: atlasdev msg send beta 1 --data 0x1234 --value 0.1eth
    """
    wei = parse_amount(value)
    payload = hex_bytes(data)
    if token is not None and (wei or payload):
        raise CliError("--token sends aUSD alone: leave out --value and --data")
    recipient = parse_address(to, "TO")
    signer = parse_signer(sender)
    dest = find_chain(network(rpc), dest_chain)
    target = connect(rpc, chain)
    send_message(target, signer, dest, recipient, wei, payload, token, no_wait, json_out)


def send_message(
    target: Target,
    signer: Signer,
    dest: dict,
    recipient: str,
    wei: int,
    payload: bytes,
    token: str | None,
    no_wait: bool,
    json_out: bool,
) -> None:
    """Send the messenger's sendMessage (or sendToken, with a ``token`` amount) on ``target``
    to ``dest`` (an atlasdev_network chain entry) and report it with the message's hash."""
    dest_id = int(dest["chainId"])
    if target.chain is not None and int(target.chain["chainId"]) == dest_id:
        raise CliError(f"the message's source and destination are both {dest.get('name')}")
    if token is not None:
        amount = parse_amount(token)
        call = call_data("sendToken(uint256,address,uint256)", dest_id, recipient, amount)
    else:
        call = call_data("sendMessage(uint256,address,bytes)", dest_id, recipient, payload)
    sent, receipt = transact(target, signer, MESSENGER_ADDRESS, wei, call, wait=not no_wait)
    extra: dict[str, object] = {"destChain": dest.get("name"), "destChainId": dest_id}
    lines = [f"to        {dest.get('name')} ({dest_id}) {recipient}"]
    sent_log = message_sent(receipt) if receipt else None
    if sent_log is not None:
        nonce, message_hash = sent_log
        extra.update({"messageNonce": nonce, "messageHash": message_hash})
        lines.append(f"message   {message_hash} (nonce {nonce})")
    report(json_out, sent, receipt, extra, lines)


def message_sent(receipt: dict) -> tuple[int, str] | None:
    """The (nonce, message hash) of the MessageSent log in ``receipt``, if there is one."""
    from eth_utils import keccak

    topic = "0x" + keccak(text="MessageSent(uint256,address,address,uint256,bytes32)").hex()
    for log in receipt.get("logs") or []:
        topics = [str(t).lower() for t in log.get("topics") or []]
        if str(log.get("address", "")).lower() == MESSENGER_ADDRESS and topics[:1] == [topic]:
            raw = bytes.fromhex(str(log.get("data", "0x"))[2:])
            if len(raw) >= 64:
                return int.from_bytes(raw[:32], "big"), "0x" + raw[32:64].hex()
    return None


MessageArg = Annotated[
    str, typer.Argument(metavar="HASH", help="The message hash (0x and 64 hex digits).")
]


def _message(rpc: str, chain: str | None, message: str) -> dict:
    digest = hex_bytes(message)
    if len(digest) != 32:
        raise CliError("HASH must be 0x and 64 hex digits (a message hash from msg send)")
    found = connect(rpc, chain).client.call("atlasdev_getMessage", "0x" + digest.hex())
    if found is None:
        raise CliError(f"no message {message} on any chain of this network")
    return found


@msg_app.command("status")
def msg_status(
    message: MessageArg,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show where a message is: sealed, proven, verified by the gateway (then provable).

    Example: atlasdev msg status 0x5f…
    """
    m = _message(rpc, chain, message)
    lines = [
        f"message   {m['hash']}",
        f"route     chain {m['sourceChainId']} -> chain {m['destinationChainId']} "
        f"(nonce {m['nonce']})",
        f"from      {m['sender']}",
        f"to        {m['to']}",
        f"value     {int(m['value'], 16):,} wei",
        f"block     {m['blockNumber']:,} (tx {m['transactionHash']})",
        f"stage     {m['stage']}",
    ]
    if m.get("waitingFor"):
        lines.append(f"waiting   {m['waitingFor']}")
    emit(json_out, m, lines)


@msg_app.command("prove")
def msg_prove(
    message: MessageArg,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print a message's inclusion proof against the gateway's interop root (as JSON).

    Example: atlasdev msg prove 0x5f… > proof.json
    """
    m = _message(rpc, chain, message)
    if "proof" not in m:
        raise CliError(f"message {m['hash']} has no proof yet: {m.get('waitingFor', m['stage'])}")
    emit(True, {"message": {k: v for k, v in m.items() if k != "proof"}, "proof": m["proof"]})


@msg_app.command("relay")
def msg_relay(
    message: MessageArg,
    sender: FromOpt = "0",
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Execute a message on its destination chain: sends the messenger's relayMessage with the
    message's proof (the node autorelays unless started with --no-autorelay).

    Example: atlasdev msg relay 0x5f… --from 3
    """
    m = _message(rpc, chain, message)
    if m["stage"] == "executed":
        done = m["executedIn"]
        raise CliError(
            f"message {m['hash']} was already executed on chain {done['chainId']} in block "
            f"{done['blockNumber']} (tx {done['transactionHash']})"
        )
    if m["stage"] != "imported":
        raise CliError(f"message {m['hash']} cannot be relayed yet: {m.get('waitingFor', '')}")
    signer = parse_signer(sender)
    dest = find_chain(network(rpc), str(m["destinationChainId"]))
    target = connect(f"http://127.0.0.1:{dest['rpcPort']}", None)
    data = bytes.fromhex(m["relay"]["data"][2:])
    sent, receipt = transact(target, signer, MESSENGER_ADDRESS, 0, data, wait=True)
    lines = [f"message   {m['hash']} -> chain {m['destinationChainId']}"]
    report(json_out, sent, receipt, {"messageHash": m["hash"]}, lines)
