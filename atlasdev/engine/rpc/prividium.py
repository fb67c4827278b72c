"""Prividium: bearer-token access to a private chain's JSON-RPC (docs/prividium.md).

A chain marked ``private = true`` answers only requests that carry one of its tokens, as
``Authorization: Bearer <token>`` or ``?token=<token>`` in the URL. `Gate` holds the chain's
tokens (the profile's, and those created at run time, which the store keeps as sha256 hashes)
and turns a request's credentials into a `Grant` or an `Unauthorized` error. `ScopedApi` answers
the request for that grant: an admin token sees the whole chain; any other token sees only the
transactions, receipts, logs and balances of its own accounts and sends only from them.

Every method of `EthApi` has a rule in `RULES`; a method without one is refused (fail closed), and
a test checks that every method has one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from ...profiles import ChainConfig
from ..chain import ChainError
from ..store import Store, TxRow
from ..transactions import InvalidTransaction, decode_raw_transaction
from ..zkos.system import SEL_BALANCE_OF, SEL_MINT, SEL_TRANSFER, STABLECOIN_ADDRESS
from .methods import EthApi, RpcError, address, data_bytes, hb, hx, invalid

__all__ = [
    "FORBIDDEN",
    "RULES",
    "UNAUTHORIZED",
    "Gate",
    "Grant",
    "ScopedApi",
    "Unauthorized",
    "parties",
    "token_hash",
    "unauthorized_answer",
]

UNAUTHORIZED = -32001  # no token, a malformed Authorization header, or an unknown token (HTTP 401)
FORBIDDEN = -32003  # a valid token asked for what its accounts may not see or do
MAX_TOKEN_ACCOUNTS = 100
_RECIPIENT_SELECTORS = (SEL_TRANSFER.to_bytes(4, "big"), SEL_MINT.to_bytes(4, "big"))
_BALANCE_OF = SEL_BALANCE_OF.to_bytes(4, "big")


@dataclass(frozen=True)
class Grant:
    """What one token may do: see and act for ``accounts``, or everything if ``admin``."""

    accounts: frozenset[bytes]
    admin: bool = False


class Unauthorized(Exception):
    """A request without a valid token; ``message`` is one line, ``presented`` says whether the
    request carried credentials at all (for the WWW-Authenticate header)."""

    def __init__(self, message: str, presented: bool) -> None:
        super().__init__(message)
        self.message = message
        self.presented = presented


def token_hash(token: str) -> bytes:
    """What the store keeps of a token: its sha256."""
    return hashlib.sha256(token.encode()).digest()


def parties(sender: bytes, to: bytes | None, data: bytes) -> set[bytes]:
    """The accounts a transaction concerns: its sender, its recipient, and the recipient of a
    stablecoin ``transfer`` or ``mint`` (named in the calldata)."""
    out = {sender}
    if to is not None:
        out.add(to)
        if to == STABLECOIN_ADDRESS and len(data) >= 36 and data[:4] in _RECIPIENT_SELECTORS:
            out.add(data[16:36])
    return out


def _raw(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value[2:])


class Gate:
    """The tokens of one private chain and the check of a request's credentials."""

    def __init__(self, config: ChainConfig, store: Store, clock: Callable[[], float] = time.time):
        self.chain_name = config.name
        self.chain_id = config.chain_id
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        grants = {
            h: Grant(frozenset(accounts)) for h, accounts in store.access_tokens(config.chain_id)
        }
        for entry in config.tokens:  # the profile's tokens win over stored ones
            accounts = frozenset(bytes.fromhex(a[2:]) for a in entry.accounts)
            grants[token_hash(entry.token)] = Grant(accounts, entry.admin)
        self._grants = grants

    def authenticate(self, authorization: str | None, query_token: str | None) -> Grant:
        """The grant of the request's token; raises `Unauthorized` with one line."""
        token = None
        if authorization is not None:
            scheme, _, rest = authorization.strip().partition(" ")
            token = rest.strip()
            if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
                raise Unauthorized(
                    "unauthorized: malformed Authorization header: expected 'Bearer <token>'", True
                )
        if query_token is not None:
            if not query_token:
                raise Unauthorized("unauthorized: empty ?token= parameter", True)
            if token is not None and token != query_token:
                raise Unauthorized(
                    "unauthorized: the Authorization header and ?token= carry different tokens",
                    True,
                )
            token = query_token
        if token is None:
            raise Unauthorized(
                f"unauthorized: chain {self.chain_name} is private: send the header "
                "'Authorization: Bearer <token>' or add ?token=<token> to the URL",
                False,
            )
        grant = self._grants.get(token_hash(token))
        if grant is None:
            raise Unauthorized(f"unauthorized: invalid token for chain {self.chain_name}", True)
        return grant

    def create(self, accounts: Sequence[bytes]) -> str:
        """A new token for ``accounts``, kept in the store so that it survives a restart."""
        token = secrets.token_urlsafe(24)
        digest = token_hash(token)
        unique = tuple(dict.fromkeys(accounts))
        with self._lock:
            self.store.put_access_token(self.chain_id, digest, unique, self.clock())
            self._grants = {**self._grants, digest: Grant(frozenset(unique))}
        return token


def unauthorized_answer(body: bytes, message: str) -> Any:
    """The JSON-RPC answer to a request without a valid token: an error object for the request,
    or one per element of a batch, each with its request's id."""

    def error(req: Any) -> dict:
        req_id = req.get("id") if isinstance(req, dict) else None
        return {"jsonrpc": "2.0", "id": req_id, "error": {"code": UNAUTHORIZED, "message": message}}

    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if isinstance(payload, list) and payload:
        return [error(req) for req in payload]
    return error(payload)


# ---- one request, one grant ---------------------------------------------------------------------


def _forbidden(message: str) -> RpcError:
    return RpcError(FORBIDDEN, f"forbidden: {message}")


class ScopedApi:
    """A private chain's JSON-RPC as one token sees it (it answers ``dispatch`` like `EthApi`)."""

    def __init__(self, api: EthApi, gate: Gate, grant: Grant) -> None:
        self.api = api
        self.gate = gate
        self.grant = grant

    @property
    def store(self) -> Store:
        return self.api.chain.store

    def dispatch(self, method: str, params: list | dict) -> Any:
        if method == "prividium_createToken":
            return self._create_token(params)
        if self.grant.admin or method not in self.api.methods:
            return self.api.dispatch(method, params)  # an unknown method: the usual -32601
        rule = RULES.get(method)
        if rule is None:
            raise _forbidden(f"{method} is not available to this token on a private chain")
        return rule(self, method, params)

    # ---- checks ----------------------------------------------------------------------------------
    def _require(self, account: bytes, what: str) -> None:
        if account not in self.grant.accounts:
            raise _forbidden(f"{what} 0x{account.hex()} is not one of this token's accounts")

    def _sees(self, sender: bytes, to: bytes | None, data: bytes) -> bool:
        return not self.grant.accounts.isdisjoint(parties(sender, to, data))

    def _sees_row(self, row: TxRow) -> bool:
        return self._sees(row.sender, row.to, row.data)

    def _sees_json(self, tx: dict) -> bool:
        return self._sees(_raw(tx["from"]) or b"", _raw(tx.get("to")), _raw(tx["input"]) or b"")

    def _sees_hash(self, tx_hash: str, cache: dict[str, bool]) -> bool:
        if tx_hash not in cache:
            row = self.store.tx(self.api.chain.chain_id, bytes.fromhex(tx_hash[2:]))
            cache[tx_hash] = row is not None and self._sees_row(row)
        return cache[tx_hash]

    # ---- rules -----------------------------------------------------------------------------------
    def open(self, method: str, params: list | dict) -> Any:
        """Chain-wide facts (ids, heights, fees, headers, proofs) and block production."""
        return self.api.dispatch(method, params)

    def own_address(self, method: str, params: list | dict) -> Any:
        """The address in the first parameter must be one of the token's accounts."""
        if isinstance(params, list) and params:
            self._require(address(params[0]), "address")
        return self.api.dispatch(method, params)

    def accounts(self, method: str, params: list | dict) -> Any:
        """The dev accounts the node signs for, limited to the token's accounts."""
        result = self.api.dispatch(method, params)
        return [a for a in result if bytes.fromhex(a[2:]) in self.grant.accounts]

    def call(self, method: str, params: list | dict) -> Any:
        """eth_call / eth_estimateGas: ``from`` (when given) must be one of the token's accounts,
        and so must the account a stablecoin ``balanceOf`` asks about."""
        if isinstance(params, list) and params and isinstance(params[0], dict):
            tx = params[0]
            if tx.get("from"):
                self._require(address(tx["from"], "from"), "from")
            to = address(tx["to"], "to") if tx.get("to") else None
            data = data_bytes(tx.get("input", tx.get("data")) or "0x", "input")
            if to == STABLECOIN_ADDRESS and data[:4] == _BALANCE_OF and len(data) >= 36:
                self._require(data[16:36], "balanceOf")
        return self.api.dispatch(method, params)

    def send_raw(self, method: str, params: list | dict) -> Any:
        """Only transactions signed by one of the token's accounts are accepted."""
        if not isinstance(params, list) or len(params) != 1:
            return self.api.dispatch(method, params)  # the usual parameter error
        try:
            tx = decode_raw_transaction(data_bytes(params[0], "transaction"))
        except (RpcError, InvalidTransaction):
            return self.api.dispatch(method, params)  # the usual decoding error
        self._require(tx.sender, "sender")
        try:
            return hb(self.api.chain.admit(tx))
        except ChainError as exc:
            raise RpcError(exc.code, exc.message, exc.data) from None

    def send(self, method: str, params: list | dict) -> Any:
        """eth_sendTransaction: ``from`` must be one of the token's accounts."""
        tx = params[0] if isinstance(params, list) and params else None
        if isinstance(tx, dict) and tx.get("from"):
            self._require(address(tx["from"], "from"), "from")
        return self.api.dispatch(method, params)

    def transaction(self, method: str, params: list | dict) -> Any:
        """A transaction the token's accounts are not party to does not exist (null)."""
        result = self.api.dispatch(method, params)
        return result if result is not None and self._sees_json(result) else None

    def receipt(self, method: str, params: list | dict) -> Any:
        """A receipt of a transaction the token's accounts are not party to does not exist."""
        result = self.api.dispatch(method, params)
        if result is None or not self._sees_hash(result["transactionHash"], {}):
            return None
        return result

    def block(self, method: str, params: list | dict) -> Any:
        """The header as it is; the transaction list holds only the token's transactions."""
        if not isinstance(params, list) or not params:
            return self.api.dispatch(method, params)
        full = len(params) > 1 and bool(params[1])
        result = self.api.dispatch(method, [params[0], True, *params[2:]])
        if result is None:
            return None
        txs = [t for t in result["transactions"] if self._sees_json(t)]
        result["transactions"] = txs if full else [t["hash"] for t in txs]
        return result

    def tx_count(self, method: str, params: list | dict) -> Any:
        """The number of the token's transactions in the block (what the block shows it)."""
        if not isinstance(params, list) or len(params) != 1:
            return self.api.dispatch(method, params)
        number = self.api.block_number(params[0])
        rows = self.store.block_transactions(self.api.chain.chain_id, number)
        return hx(sum(1 for row in rows if self._sees_row(row)))

    def logs(self, method: str, params: list | dict) -> Any:
        """Only the logs of the token's transactions."""
        cache: dict[str, bool] = {}
        return [
            lg
            for lg in self.api.dispatch(method, params)
            if self._sees_hash(lg["transactionHash"], cache)
        ]

    def fee_history(self, method: str, params: list | dict) -> Any:
        """Base fees and gas ratios are header data; the reward percentiles come from the
        token's own transactions only."""
        if not isinstance(params, list) or len(params) != 3 or not params[2]:
            return self.api.dispatch(method, params)
        percentiles = params[2]
        if not isinstance(percentiles, list) or not all(
            isinstance(p, int | float) and not isinstance(p, bool) for p in percentiles
        ):
            raise invalid("rewardPercentiles must be an array of numbers")
        result = self.api.dispatch(method, params[:2])
        oldest = int(result["oldestBlock"], 16)
        chain_id = self.api.chain.chain_id
        rewards = []
        for block in self.store.blocks(chain_id, oldest, oldest + len(result["gasUsedRatio"]) - 1):
            tips = sorted(
                row.gas_price - block.base_fee
                for row in self.store.block_transactions(chain_id, block.number)
                if self._sees_row(row)
            )
            rewards.append(
                [
                    hx(tips[min(len(tips) - 1, int(len(tips) * p / 100))] if tips else 0)
                    for p in percentiles
                ]
            )
        result["reward"] = rewards
        return result

    # ---- token management --------------------------------------------------------------------------
    def _create_token(self, params: list | dict) -> dict:
        """prividium_createToken(accounts): a new token for those accounts; admin tokens only."""
        if not self.grant.admin:
            raise _forbidden("prividium_createToken needs an admin token of this chain")
        if not isinstance(params, list) or len(params) != 1:
            raise invalid("prividium_createToken takes one parameter: an array of addresses")
        raw = params[0]
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_TOKEN_ACCOUNTS:
            raise invalid(f"accounts must be an array of 1..{MAX_TOKEN_ACCOUNTS} addresses")
        accounts = [address(a, "account") for a in raw]
        token = self.gate.create(accounts)
        return {
            "token": token,
            "chainId": self.api.chain.chain_id,
            "accounts": [to_checksum_address(a) for a in dict.fromkeys(accounts)],
        }


Rule = Callable[[ScopedApi, str, list | dict], Any]
_OPEN = (
    "web3_clientVersion",
    "web3_sha3",
    "net_version",
    "net_listening",
    "net_peerCount",
    "eth_chainId",
    "eth_syncing",
    "eth_mining",
    "eth_coinbase",
    "eth_blockNumber",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_blobBaseFee",
    "eth_getCode",
    "evm_mine",
    "anvil_mine",
    "hardhat_mine",
    "atlasdev_network",
    "atlasdev_getProof",
    "atlasdev_interopRoot",
    "atlasdev_getMessage",  # messages a chain sends leave it (DESIGN: proofs, roots, messages)
    "atlasdev_getSettlement",  # roots the gateway settles to the L1
)
RULES: dict[str, Rule] = {
    **{method: ScopedApi.open for method in _OPEN},
    "eth_accounts": ScopedApi.accounts,
    "eth_getBalance": ScopedApi.own_address,
    "eth_getTransactionCount": ScopedApi.own_address,
    "anvil_setBalance": ScopedApi.own_address,
    "hardhat_setBalance": ScopedApi.own_address,
    "eth_call": ScopedApi.call,
    "eth_estimateGas": ScopedApi.call,
    "eth_sendRawTransaction": ScopedApi.send_raw,
    "eth_sendTransaction": ScopedApi.send,
    "eth_getTransactionByHash": ScopedApi.transaction,
    "eth_getTransactionByBlockNumberAndIndex": ScopedApi.transaction,
    "eth_getTransactionReceipt": ScopedApi.receipt,
    "eth_getBlockByNumber": ScopedApi.block,
    "eth_getBlockByHash": ScopedApi.block,
    "eth_getBlockTransactionCountByNumber": ScopedApi.tx_count,
    "eth_getLogs": ScopedApi.logs,
    "eth_feeHistory": ScopedApi.fee_history,
}
