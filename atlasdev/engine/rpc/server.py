"""JSON-RPC 2.0 over HTTP on 127.0.0.1, one port per chain, all served by one aiohttp loop.

The loop runs in its own thread; each request's methods run in a small thread pool (they take the
chain lock and may call the STF), so a slow call never stalls other clients. Framing errors follow
the spec: -32700 parse error, -32600 invalid request; batches answer element by element.
A private chain's requests first pass its `Gate` (bearer tokens, see prividium.py): without a valid
token the answer is HTTP 401 with a -32001 error object; with one, a `ScopedApi` answers them.
"""

import asyncio
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from .methods import EthApi, RpcError
from .prividium import Gate, ScopedApi, Unauthorized, unauthorized_answer

log = logging.getLogger("atlasdev.rpc")
MAX_BATCH = 1000
MAX_BODY = 16 * 1024 * 1024
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "*, Authorization",  # "*" alone does not cover it
}


def _error(req_id: Any, code: int, message: str, data: Any = None) -> dict:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": req_id, "error": err}


def handle_one(api: EthApi | ScopedApi, req: Any) -> dict | None:
    """Answer one request object; None for a notification (no id)."""
    if not isinstance(req, dict) or not isinstance(req.get("method"), str):
        return _error(
            None if not isinstance(req, dict) else req.get("id"), -32600, "invalid request"
        )
    req_id = req.get("id")
    params = req.get("params", [])
    if params is None:
        params = []
    if not isinstance(params, list | dict):
        return _error(req_id, -32602, "invalid params: params must be an array")
    try:
        result = api.dispatch(req["method"], params)
    except RpcError as exc:
        return _error(req_id, exc.code, exc.message, exc.data)
    except Exception:
        log.exception("internal error in %s", req["method"])
        return _error(req_id, -32603, f"internal error in {req['method']}")
    if "id" not in req:
        return None
    return {"jsonrpc": "2.0", "id": req_id, "result": result}


def handle_body(api: EthApi | ScopedApi, body: bytes) -> Any:
    """Answer a raw HTTP body: one request or a batch."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(None, -32700, "parse error: invalid JSON")
    if isinstance(payload, list):
        if not payload:
            return _error(None, -32600, "invalid request: empty batch")
        if len(payload) > MAX_BATCH:
            return _error(None, -32600, f"invalid request: batch larger than {MAX_BATCH}")
        answers = [handle_one(api, r) for r in payload]
        return [a for a in answers if a is not None]
    return handle_one(api, payload)


class RpcServer:
    def __init__(self, node: Any, host: str = "127.0.0.1") -> None:
        self.node = node
        self.host = host
        self.loop = asyncio.new_event_loop()
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rpc")
        self._thread = threading.Thread(target=self.loop.run_forever, name="rpc", daemon=True)
        self._runners: list[web.AppRunner] = []

    def start(self) -> None:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start_all(), self.loop)
        try:
            fut.result(timeout=30)
        except OSError as exc:
            self.stop()
            raise OSError(exc.errno, f"cannot serve JSON-RPC: {exc.strerror or exc}") from None

    async def _start_all(self) -> None:
        for chain in self.node.chains.values():
            api = EthApi(chain, self.node)
            gate = Gate(chain.config, self.node.store) if chain.config.private else None
            app = web.Application(client_max_size=MAX_BODY)
            app.router.add_post("/", self._handler(api, gate))
            app.router.add_route("OPTIONS", "/", self._options)
            app.router.add_get("/", self._health)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            self._runners.append(runner)
            site = web.TCPSite(runner, self.host, chain.config.rpc_port, reuse_address=True)
            try:
                await site.start()
            except OSError as exc:
                raise OSError(
                    exc.errno, f"port {chain.config.rpc_port} ({chain.config.name}): {exc.strerror}"
                ) from None

    def _handler(self, api: EthApi, gate: Gate | None):
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            target: EthApi | ScopedApi = api
            if gate is not None:
                try:
                    grant = gate.authenticate(
                        request.headers.get("Authorization"), request.query.get("token")
                    )
                except Unauthorized as exc:
                    challenge = f'Bearer realm="atlasdev {gate.chain_name}"'
                    if exc.presented:
                        challenge += ', error="invalid_token"'
                    return web.Response(
                        text=json.dumps(unauthorized_answer(body, exc.message)),
                        status=401,
                        content_type="application/json",
                        headers={**CORS, "WWW-Authenticate": challenge},
                    )
                target = ScopedApi(api, gate, grant)
            answer = await self.loop.run_in_executor(self.pool, handle_body, target, body)
            return web.Response(
                text=json.dumps(answer), content_type="application/json", headers=CORS
            )

        return handle

    async def _options(self, request: web.Request) -> web.Response:
        return web.Response(headers=CORS)

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="atlasdev JSON-RPC: POST JSON-RPC 2.0 requests here\n")

    def stop(self) -> None:
        async def cleanup() -> None:
            for runner in self._runners:
                await runner.cleanup()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(cleanup(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        self.pool.shutdown(wait=False, cancel_futures=True)
