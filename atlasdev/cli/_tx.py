"""Sending signed transactions and reading system contracts over JSON-RPC.

The system contract addresses mirror `atlasdev.engine.zkos.system` (a test checks that they agree);
they are repeated here because importing the engine loads numba, and the scripting commands must
start fast.
"""

from __future__ import annotations

import time
from typing import Any

from ..amounts import format_wei
from ._app import CliError, Target, emit
from .inputs import Signer

__all__ = [
    "MESSENGER_ADDRESS",
    "ORACLE_ADDRESS",
    "RECEIPT_POLL_S",
    "RECEIPT_TIMEOUT_S",
    "STABLECOIN_ADDRESS",
    "call_data",
    "decode_return",
    "eth_call",
    "format_units",
    "quantity",
    "report",
    "token_balance",
    "token_meta",
    "transact",
    "tx_lines",
    "view",
]

STABLECOIN_ADDRESS = "0x" + (0xA7001).to_bytes(20, "big").hex()
ORACLE_ADDRESS = "0x" + (0xA7002).to_bytes(20, "big").hex()
MESSENGER_ADDRESS = "0x" + (0xA7003).to_bytes(20, "big").hex()

RECEIPT_POLL_S = 0.1
RECEIPT_TIMEOUT_S = 30.0


def quantity(value: Any) -> int:
    """A JSON-RPC quantity (``"0x1a"``) as an int; ints pass through."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise CliError(f"the node sent {value!r} where a hex quantity was expected")


def call_data(signature: str, *args: Any) -> bytes:
    """ABI calldata: the 4-byte selector of ``signature`` and the encoded ``args``."""
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    types = signature[signature.index("(") + 1 : -1]
    arg_types = [t for t in types.split(",") if t]
    return function_signature_to_4byte_selector(signature) + encode(arg_types, list(args))


def eth_call(target: Target, to: str, data: bytes) -> bytes:
    """The return data of a read-only call at the latest block."""
    result = target.client.call("eth_call", {"to": to, "data": "0x" + data.hex()}, "latest")
    if not isinstance(result, str) or not result.startswith("0x"):
        raise CliError(f"the node answered eth_call with {result!r}")
    return bytes.fromhex(result[2:])


def transact(
    target: Target, signer: Signer, to: str, value: int, data: bytes, wait: bool
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Build, sign and send an EIP-1559 transaction; with ``wait``, also return its receipt.

    Fees: maxFeePerGas is twice eth_gasPrice, the tip eth_maxPriorityFeePerGas; gas comes from
    eth_estimateGas (so a call that would revert fails here, with the node's reason).
    """
    from eth_account import Account

    client = target.client
    request = {"from": signer.address, "to": to, "value": hex(value), "data": "0x" + data.hex()}
    chain_id = quantity(client.call("eth_chainId"))
    nonce = quantity(client.call("eth_getTransactionCount", signer.address, "pending"))
    gas = quantity(client.call("eth_estimateGas", request))
    max_fee = 2 * quantity(client.call("eth_gasPrice"))
    tip = min(quantity(client.call("eth_maxPriorityFeePerGas")), max_fee)
    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "to": to,
        "value": value,
        "data": data,
        "gas": gas,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": tip,
    }
    signed = Account.sign_transaction(tx, signer.key)
    tx_hash = client.call("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex())
    sent = {
        "hash": tx_hash,
        "chainId": chain_id,
        "from": signer.address,
        "to": to,
        "value": str(value),
        "nonce": nonce,
        "gas": gas,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": tip,
    }
    if not wait:
        return sent, None
    return sent, wait_for_receipt(target, tx_hash)


def wait_for_receipt(
    target: Target, tx_hash: str, timeout: float = RECEIPT_TIMEOUT_S
) -> dict[str, Any]:
    """Poll eth_getTransactionReceipt every 0.1 s until the receipt exists or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = target.client.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return receipt
        if time.monotonic() >= deadline:
            raise CliError(
                f"no receipt for {tx_hash} after {timeout:g} s on {target.label}: it is still "
                f"pending; check later with `atlasdev tx {tx_hash}`"
            )
        time.sleep(RECEIPT_POLL_S)


def result_json(sent: dict[str, Any], receipt: dict[str, Any] | None) -> dict[str, Any]:
    """The ``--json`` shape of a sent transaction: what was sent, and the receipt's outcome."""
    data = dict(sent)
    if receipt is None:
        data["status"] = "pending"
        return data
    data["status"] = "success" if quantity(receipt.get("status", "0x0")) == 1 else "reverted"
    data["blockNumber"] = quantity(receipt["blockNumber"])
    data["gasUsed"] = quantity(receipt["gasUsed"])
    if data["status"] == "reverted":
        data["revertReason"] = receipt.get("revertReason") or ""
    data["receipt"] = receipt
    return data


def tx_lines(sent: dict[str, Any], receipt: dict[str, Any] | None) -> list[str]:
    """The human lines for a sent transaction."""
    lines = [f"hash      {sent['hash']}"]
    if receipt is None:
        lines.append("status    pending (sent without waiting; see `atlasdev tx HASH`)")
        return lines
    ok = quantity(receipt.get("status", "0x0")) == 1
    lines += [
        f"block     {quantity(receipt['blockNumber'])}",
        f"status    {'success' if ok else 'reverted'}",
        f"gas used  {quantity(receipt['gasUsed'])}",
    ]
    if int(sent.get("value", "0")):
        lines.append(f"value     {format_wei(int(sent['value']))}")
    return lines


def check_success(sent: dict[str, Any], receipt: dict[str, Any] | None) -> None:
    """Raise the one-line error for a reverted transaction (after its result was printed)."""
    if receipt is not None and quantity(receipt.get("status", "0x0")) != 1:
        reason = receipt.get("revertReason") or "no reason given"
        raise CliError(f"transaction {sent['hash']} reverted: {reason}")


def report(
    json_out: bool,
    sent: dict[str, Any],
    receipt: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
    extra_lines: list[str] | None = None,
) -> None:
    """Print a sent transaction's outcome (plus command-specific fields); exit 1 if it reverted."""
    data = result_json(sent, receipt)
    ok = receipt is not None and data["status"] == "success"
    if extra and ok:
        data.update(extra)
    emit(json_out, data, tx_lines(sent, receipt) + (extra_lines if ok and extra_lines else []))
    check_success(sent, receipt)


def format_units(amount: int, decimals: int, symbol: str) -> str:
    """``amount`` base units shown with ``decimals`` decimals: ``"1.5 aUSD"``."""
    whole, frac = divmod(amount, 10**decimals)
    frac_text = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    number = f"{whole}.{frac_text}" if frac_text else str(whole)
    return f"{number} {symbol}".rstrip()


def decode_return(types: list[str], data: bytes, what: str) -> tuple[Any, ...]:
    """ABI-decode the return data of ``what``; a malformed answer is a one-line error."""
    from eth_abi import decode

    try:
        return tuple(decode(types, data))
    except Exception as exc:  # eth_abi raises several unrelated exception types
        raise CliError(f"cannot decode the answer of {what} ({len(data)} bytes): {exc}") from None


def view(
    target: Target, to: str, signature: str, returns: list[str], *args: Any
) -> tuple[Any, ...]:
    """Call the read-only function ``signature`` of ``to`` and decode its return values."""
    return decode_return(returns, eth_call(target, to, call_data(signature, *args)), signature)


def token_meta(target: Target) -> tuple[str, int]:
    """The stablecoin's symbol and decimals."""
    (symbol,) = view(target, STABLECOIN_ADDRESS, "symbol()", ["string"])
    (decimals,) = view(target, STABLECOIN_ADDRESS, "decimals()", ["uint8"])
    return symbol, decimals


def token_balance(target: Target, address: str) -> int:
    """The stablecoin balance of ``address``, in base units."""
    (amount,) = view(target, STABLECOIN_ADDRESS, "balanceOf(address)", ["uint256"], address)
    return amount
