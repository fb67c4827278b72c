"""Scripting commands on one chain: status, accounts, balance, send, block, tx.

They talk to a running node over JSON-RPC (``--rpc``, ``--chain``). In ``--json`` output, 256-bit
amounts (wei, token units) are decimal strings so that no JSON reader rounds them; block and
transaction objects are the node's own JSON-RPC objects.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import typer

from ..amounts import format_wei, parse_amount
from ._app import (
    DEFAULT_RPC,
    ChainOpt,
    CliError,
    JsonOpt,
    RpcOpt,
    Target,
    chain_url,
    connect,
    emit,
    network,
    table,
)
from ._tx import (
    STABLECOIN_ADDRESS,
    format_units,
    quantity,
    report,
    token_balance,
    token_meta,
    transact,
)
from .inputs import DEV_ACCOUNT_COUNT, block_tag, hex_bytes, parse_address, parse_signer, tx_hash

__all__ = [
    "FromOpt",
    "NoWaitOpt",
    "accounts",
    "balance",
    "block",
    "send",
    "status",
    "tx",
]

FromOpt = Annotated[
    str,
    typer.Option(
        "--from",
        metavar="INDEX|ADDRESS|KEY",
        help="Signer: a dev account index (0..9), a dev account address, or a 0x private key.",
    ),
]
NoWaitOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait", help="Return once the node accepted the transaction; do not wait for it."
    ),
]
AccountArg = Annotated[
    str, typer.Argument(metavar="ADDRESS|INDEX", help="A 0x address or a dev account index (0..9).")
]


def status(rpc: RpcOpt = DEFAULT_RPC, json_out: JsonOpt = False) -> None:
    """Show the running network: each chain's name, id, height, RPC URL and privacy.

    Example: atlasdev status
    """
    net = network(rpc)
    chains = [{**c, "rpc": chain_url(rpc, int(c["rpcPort"]))} for c in net["chains"]]
    rows = [
        (
            c.get("name"),
            f"id {c.get('chainId')}",
            f"height {c.get('height')}",
            c["rpc"],
            "L1" if c.get("l1") else "private" if c.get("private") else "public",
        )
        for c in chains
    ]
    header = f"network {net.get('name')} ({len(chains)} chain{'s' if len(chains) != 1 else ''})"
    emit(json_out, {"name": net.get("name"), "chains": chains}, [header, *table(rows, "  ")])


def accounts(
    keys: Annotated[bool, typer.Option("--keys", help="Also show the private keys.")] = False,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the dev accounts with their ETH balance on the chain.

    Example: atlasdev accounts --chain beta --keys
    """
    from ..engine.accounts import dev_accounts

    target = connect(rpc, chain)
    data: list[dict[str, Any]] = []
    rows = []
    for account in dev_accounts(DEV_ACCOUNT_COUNT):
        wei = quantity(target.client.call("eth_getBalance", account.checksum_address, "latest"))
        entry: dict[str, Any] = {
            "index": account.index,
            "address": account.checksum_address,
            "balanceWei": str(wei),
        }
        row = [f"({account.index})", account.checksum_address, format_wei(wei)]
        if keys:
            entry["privateKey"] = account.private_key_hex
            row.append(account.private_key_hex)
        data.append(entry)
        rows.append(row)
    emit(json_out, data, [f"dev accounts on {target.label}", *table(rows)])


def balance(
    account: AccountArg,
    token: Annotated[
        bool, typer.Option("--token", help="Show the stablecoin balance instead of ETH.")
    ] = False,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show an account's ETH balance, or its stablecoin balance with --token.

    Example: atlasdev balance 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --chain beta
    """
    address = parse_address(account)
    target = connect(rpc, chain)
    if token:
        token_report(target, address, json_out)
        return
    wei = quantity(target.client.call("eth_getBalance", address, "latest"))
    emit(json_out, {"address": address, "wei": str(wei)}, format_wei(wei))


def token_report(target: Target, address: str, json_out: bool) -> None:
    """Print the stablecoin balance of ``address`` (shared with `atlasdev token balance`)."""
    amount = token_balance(target, address)
    symbol, decimals = token_meta(target)
    data = {
        "address": address,
        "token": STABLECOIN_ADDRESS,
        "symbol": symbol,
        "decimals": decimals,
        "amount": str(amount),
    }
    emit(json_out, data, format_units(amount, decimals, symbol))


def send(
    to: Annotated[
        str, typer.Argument(metavar="TO", help="Recipient: a 0x address or a dev account index.")
    ],
    value: Annotated[
        str,
        typer.Argument(
            metavar="VALUE", help="Amount of ETH: 1eth, 0.5ether, 100gwei, or plain wei."
        ),
    ],
    sender: FromOpt = "0",
    data: Annotated[
        str,
        typer.Option("--data", metavar="HEX", help="Calldata as hex bytes, such as 0xa9059cbb…"),
    ] = "",
    no_wait: NoWaitOpt = False,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send ETH (and optional calldata) in a signed EIP-1559 transaction and wait for its receipt.

    Example: atlasdev send 1 0.5eth --from 0
    """
    wei = parse_amount(value)
    payload = hex_bytes(data)
    recipient = parse_address(to, "TO")
    signer = parse_signer(sender)
    target = connect(rpc, chain)
    sent, receipt = transact(target, signer, recipient, wei, payload, wait=not no_wait)
    report(json_out, sent, receipt)


def block(
    number: Annotated[
        str,
        typer.Argument(
            metavar="NUMBER|TAG",
            help="Block number (decimal or 0x hex) or tag: latest, earliest, pending.",
        ),
    ] = "latest",
    txs: Annotated[
        bool, typer.Option("--txs", help="Include the block's full transactions.")
    ] = False,
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a block (the latest by default).

    Example: atlasdev block 12 --txs
    """
    tag = block_tag(number)
    target = connect(rpc, chain)
    found = target.client.call("eth_getBlockByNumber", tag, txs)
    if found is None:
        height = quantity(target.client.call("eth_blockNumber"))
        raise CliError(f"block {number} not found on {target.label}: its latest block is {height}")
    emit(json_out, found, block_lines(found, txs))


def block_lines(found: dict[str, Any], txs: bool) -> list[str]:
    stamp = quantity(found.get("timestamp", "0x0"))
    when = datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    transactions = found.get("transactions") or []
    rows: list[tuple[str, Any]] = [
        ("number", quantity(found["number"])),
        ("hash", found.get("hash")),
        ("parent", found.get("parentHash")),
        ("timestamp", f"{stamp} ({when})"),
        ("state root", found.get("stateRoot")),
        ("gas used", quantity(found.get("gasUsed", "0x0"))),
    ]
    if found.get("baseFeePerGas") is not None:
        rows.append(("base fee", f"{quantity(found['baseFeePerGas'])} wei"))
    rows.append(("txs", len(transactions)))
    lines = table(rows)
    if txs and transactions:
        lines += table(
            (
                (
                    t.get("hash"),
                    t.get("from"),
                    "->",
                    t.get("to") or "(create)",
                    format_wei(quantity(t.get("value", "0x0"))),
                )
                for t in transactions
                if isinstance(t, dict)
            ),
            "  ",
        )
    return lines


def tx(
    hash_: Annotated[
        str, typer.Argument(metavar="HASH", help="Transaction hash: 0x and 64 hex digits.")
    ],
    rpc: RpcOpt = DEFAULT_RPC,
    chain: ChainOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a transaction and its receipt.

    Example: atlasdev tx 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060
    """
    wanted = tx_hash(hash_)
    target = connect(rpc, chain)
    found = target.client.call("eth_getTransactionByHash", wanted)
    if found is None:
        raise CliError(f"transaction {wanted} not found on {target.label} (another --chain?)")
    receipt = target.client.call("eth_getTransactionReceipt", wanted)
    emit(json_out, {"transaction": found, "receipt": receipt}, tx_detail_lines(found, receipt))


def tx_detail_lines(found: dict[str, Any], receipt: dict[str, Any] | None) -> list[str]:
    if receipt is None:
        outcome = "pending"
    elif quantity(receipt.get("status", "0x0")) == 1:
        outcome = "success"
    else:
        outcome = f"reverted: {receipt.get('revertReason') or 'no reason given'}"
    data = str(found.get("input") or found.get("data") or "0x")
    size = (len(data) - 2) // 2
    shown = data if len(data) <= 74 else data[:74] + "…"
    rows: list[tuple[str, Any]] = [("hash", found.get("hash")), ("status", outcome)]
    if receipt is not None:
        rows.append(
            (
                "block",
                f"{quantity(receipt['blockNumber'])} "
                f"(index {quantity(receipt.get('transactionIndex', '0x0'))})",
            )
        )
    rows += [
        ("from", found.get("from")),
        ("to", found.get("to") or "(create)"),
        ("value", format_wei(quantity(found.get("value", "0x0")))),
        ("nonce", quantity(found.get("nonce", "0x0"))),
        ("type", quantity(found.get("type", "0x0"))),
        ("gas limit", quantity(found.get("gas", "0x0"))),
    ]
    if receipt is not None:
        rows.append(("gas used", quantity(receipt.get("gasUsed", "0x0"))))
        if receipt.get("effectiveGasPrice") is not None:
            rows.append(("gas price", f"{quantity(receipt['effectiveGasPrice'])} wei"))
        rows.append(("logs", len(receipt.get("logs") or [])))
    rows.append(("data", f"{shown} ({size} bytes)"))
    return table(rows)
