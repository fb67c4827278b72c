"""A tiny JSON-RPC 2.0 client over HTTP, on the standard library only.

The CLI talks to a running node with it; so can tests and scripts::

    client = RpcClient("http://127.0.0.1:8545")
    height = int(client.call("eth_blockNumber"), 16)

An error object from the node raises `RpcError` (code, message, data). A node that does not
answer at all raises `NodeUnreachable`, a `ConnectionError` whose message says how to start one.
"""

from __future__ import annotations

import http.client
import itertools
import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["DEFAULT_RPC_URL", "NodeUnreachable", "RpcClient", "RpcError"]

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
# JSON-RPC 2.0's code for "the response was not a valid JSON-RPC answer" (internal error).
_INTERNAL_ERROR = -32603


class RpcError(Exception):
    """The node answered with a JSON-RPC error object (or with something that is not JSON-RPC)."""

    def __init__(self, code: int, message: str, data: Any = None, method: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"RpcError(code={self.code}, message={self.message!r}, data={self.data!r})"


class NodeUnreachable(ConnectionError):
    """Nothing answers at the URL (refused, timed out, not HTTP); the message says what to do."""

    def __init__(self, url: str, reason: str | None = None):
        self.url = url
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(f"no atlasdev node answers at {url}{detail}: start one with `atlasdev up`")


class RpcClient:
    """JSON-RPC over HTTP POST to one URL; one request per `call`, safe to share between threads."""

    def __init__(
        self, url: str = DEFAULT_RPC_URL, timeout: float = 10, headers: dict[str, str] | None = None
    ):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"invalid RPC URL {url!r}: expected http://HOST:PORT")
        self.url = url
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"RpcClient({self.url!r})"

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` with positional ``params``; return the ``result`` member."""
        request_id = next(self._ids)
        body = json.dumps(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
        ).encode()
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            # A JSON-RPC server may answer an error with a non-200 status and an error object.
            raw = exc.read()
            if not raw:
                raise RpcError(
                    _INTERNAL_ERROR, f"{method}: HTTP {exc.code} {exc.reason}", method=method
                ) from None
        except urllib.error.URLError as exc:
            raise NodeUnreachable(self.url, _reason(exc.reason)) from None
        except TimeoutError:
            raise NodeUnreachable(self.url, f"no answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise NodeUnreachable(self.url, _reason(exc)) from None
        except http.client.HTTPException:
            raise NodeUnreachable(self.url, "not an HTTP JSON-RPC server") from None
        return self._result(method, raw)

    @staticmethod
    def _result(method: str, raw: bytes) -> Any:
        try:
            reply = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            shown = raw[:60].decode("utf-8", "replace")
            raise RpcError(
                _INTERNAL_ERROR,
                f"{method}: the node's answer is not JSON: {shown!r}",
                method=method,
            ) from None
        if not isinstance(reply, dict):
            raise RpcError(
                _INTERNAL_ERROR,
                f"{method}: the node's answer is not a JSON-RPC object",
                method=method,
            )
        error = reply.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise RpcError(_INTERNAL_ERROR, f"{method}: {error}", method=method)
            code = error.get("code", _INTERNAL_ERROR)
            message = " ".join(str(error.get("message", "unknown error")).split())
            raise RpcError(code, message, error.get("data"), method=method)
        if "result" not in reply:
            raise RpcError(
                _INTERNAL_ERROR, f"{method}: the node's answer has no result", method=method
            )
        return reply["result"]


def _reason(reason: object) -> str:
    """A short text for why a connection failed: the OS's words, not a repr."""
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    if isinstance(reason, TimeoutError):
        return "timed out"
    text = str(reason)
    return text or type(reason).__name__
