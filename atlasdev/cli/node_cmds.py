"""Commands that work on this machine rather than over JSON-RPC: up, reset, profiles.

`up` is the only command that imports the node (and with it numpy and numba); it does so inside
the command, so `atlasdev --help` and every scripting command start without them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..paths import default_data_dir
from ..profiles import Profile, builtin_profiles, load_profile, with_port_base
from ._app import CliError, JsonOpt, emit, table

if TYPE_CHECKING:
    from ..node import Node

__all__ = [
    "BlockLog",
    "dashboard",
    "default_data_dir",
    "doctor",
    "profiles",
    "reset",
    "serve",
    "up",
]

DB_NAME = "atlasdev.db"  # atlasdev.engine.store.DB_NAME (a test checks they agree)
DB_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm")
LOCK_NAME = "node.lock"
EMPTY_BLOCK_EVERY_S = 5.0

ProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile",
        metavar="NAME|PATH",
        help="Network profile: a builtin name (see `atlasdev profiles`) or a .toml file.",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="PATH",
        file_okay=False,
        help="Folder of the network's SQLite file (default: the user data dir, per profile).",
    ),
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("atlasdev")
    except PackageNotFoundError:
        return "(source checkout)"


# ---- up -------------------------------------------------------------------------------------------


class BlockLog:
    """The node's on_block callback for headless mode: one line per sealed block.

    Blocks with transactions are always printed; empty blocks at most once per chain every
    ``empty_every_s`` seconds (a chain seals 4 a second). With ``json_out`` every block is printed
    as one JSON object per line. It never raises: the sequencer thread that calls it must go on.
    """

    def __init__(
        self,
        json_out: bool = False,
        empty_every_s: float = EMPTY_BLOCK_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
        echo: Callable[[str], None] = typer.echo,
    ) -> None:
        self.json_out = json_out
        self.empty_every_s = empty_every_s
        self.clock = clock
        self.echo = echo
        self._lock = threading.Lock()
        self._last_empty: dict[str, float] = {}

    def __call__(self, chain: Any, block: Any, txs: Any) -> None:
        with contextlib.suppress(Exception):
            line = self.line(chain.config.name, block)
            if line is not None:
                with self._lock:
                    self.echo(line)

    def line(self, name: str, block: Any) -> str | None:
        """The line for ``block`` of chain ``name``, or None when an empty block is skipped."""
        if self.json_out:
            return json.dumps(
                {
                    "event": "block",
                    "chain": name,
                    "chainId": block.chain_id,
                    "number": block.number,
                    "hash": "0x" + block.hash.hex(),
                    "txs": block.tx_count,
                    "gasUsed": block.gas_used,
                    "stateRoot": "0x" + block.state_root.hex(),
                }
            )
        if block.tx_count == 0:
            now = self.clock()
            with self._lock:
                last = self._last_empty.get(name)
                if last is not None and now - last < self.empty_every_s:
                    return None
                self._last_empty[name] = now
        count = f"{block.tx_count} tx{'' if block.tx_count == 1 else 's'}"
        root = "0x" + block.state_root.hex()[:4] + "…"
        return f"[{name}] #{block.number}  {count}  gas {block.gas_used}  root {root}"


def ready_info(profile: Profile, data_dir: Path) -> dict[str, Any]:
    """What `up` announces once the network is serving (printed as text, or JSON with --json)."""
    from ..engine.accounts import DEV_BALANCE_WEI, DEV_DERIVATION_PATH, DEV_MNEMONIC, dev_accounts

    return {
        "event": "ready",
        "network": profile.name,
        "dataDir": str(data_dir),
        "chains": [
            {
                "name": c.name,
                "chainId": c.chain_id,
                "rpc": f"http://127.0.0.1:{c.rpc_port}",
                "blockTimeMs": c.block_time_ms,
                "private": c.private,
                "l1": c is profile.l1,
            }
            for c in profile.all_chains
        ],
        "accounts": [
            {"index": a.index, "address": a.checksum_address, "privateKey": a.private_key_hex}
            for a in dev_accounts(10)
        ],
        "genesisBalanceWei": str(DEV_BALANCE_WEI),
        "mnemonic": DEV_MNEMONIC,
        "derivationPath": DEV_DERIVATION_PATH,
    }


def ready_lines(info: dict[str, Any]) -> list[str]:
    from ..amounts import format_wei

    chains = info["chains"]
    lines = [
        f"atlasdev {_version()}: network {info['network']} "
        f"({len(chains)} chain{'s' if len(chains) != 1 else ''}), data in {info['dataDir']}",
        "",
        "Chains",
        *table(
            (
                (
                    c["name"],
                    f"id {c['chainId']}",
                    c["rpc"],
                    f"{c['blockTimeMs']} ms blocks",
                    "L1 (settlement)" if c["l1"] else "private" if c["private"] else "public",
                )
                for c in chains
            ),
            "  ",
        ),
        "",
        f"Dev accounts (prefunded with {format_wei(int(info['genesisBalanceWei']))} at genesis)",
        *table(
            ((f"({a['index']})", a["address"], a["privateKey"]) for a in info["accounts"]), "  "
        ),
        "",
        f"Mnemonic         {info['mnemonic']}",
        f"Derivation path  {info['derivationPath']}",
        "",
        "Sealing blocks; Ctrl-C to stop.",
    ]
    return lines


def _start_error(exc: OSError) -> str:
    """One line for an OSError from `Node.start()`: a busy port gets the --port-base hint."""
    if exc.strerror:
        text = exc.strerror[0].lower() + exc.strerror[1:]
        text = f"{exc.filename}: {text}" if exc.filename else text
    else:
        text = str(exc)
    if not text.lower().startswith("cannot"):
        text = f"cannot start the node: {text}"
    if exc.errno == errno.EADDRINUSE or "address already in use" in text.lower():
        text += "; stop what uses the port, or choose free ports with --port-base N"
    return text


def _stop_quietly(node: Node) -> None:
    """Release what a half-started node holds (its lock, open servers); it failed already."""
    with contextlib.suppress(Exception):
        node.stop()


def _start(node: Node) -> None:
    """Start ``node``, or raise the one-line CliError that says why it cannot start."""
    from ..node import NodeError

    try:
        node.start()
    except NodeError as exc:
        _stop_quietly(node)
        raise CliError(str(exc)) from None
    except OSError as exc:
        _stop_quietly(node)
        raise CliError(_start_error(exc)) from None


def _sealing_failed(failure: BaseException) -> CliError:
    return CliError(
        f"sealing stopped: {failure}; the data dir is intact, restart with `atlasdev up`"
    )


def serve(
    profile: Profile,
    data_dir: Path,
    stop: threading.Event,
    json_out: bool = False,
    on_ready: Callable[[Node], None] | None = None,
    echo: Callable[[str], None] = typer.echo,
    prover: str = "off",
    autorelay: bool = True,
) -> None:
    """Run ``profile``'s network from ``data_dir`` until ``stop`` is set, logging blocks.

    This is `atlasdev up` without the signal handling: tests run it in a thread, set ``stop``, and
    pass ``echo`` to collect the output lines (ready, blocks, stopped) instead of printing them.
    """
    from ..node import Node

    node = _node(
        Node,
        profile,
        data_dir,
        on_block=BlockLog(json_out, echo=echo),
        prover=prover,
        autorelay=autorelay,
    )
    _start(node)
    try:
        info = ready_info(profile, data_dir)
        # JSON lines: the ready object on one line, like every event after it
        for line in [json.dumps(info)] if json_out else ready_lines(info):
            echo(line)
        if on_ready is not None:
            on_ready(node)
        while not stop.wait(0.25):
            failure = node.failure()
            if failure is not None:
                raise _sealing_failed(failure)
    finally:
        node.stop()
    if json_out:
        echo(json.dumps({"event": "stopped"}))
    else:
        typer.echo("atlasdev: stopped", err=True)


def _node(node_class: Any, profile: Profile, data_dir: Path, **kwargs: Any) -> Any:
    """A Node, with a bad --prover choice as a one-line CLI error."""
    from ..engine.prover_worker import ProverUnavailable

    try:
        return node_class(profile, data_dir, **kwargs)
    except ProverUnavailable as e:
        raise CliError(str(e)) from None


def dashboard(
    profile: Profile,
    data_dir: Path,
    stop: threading.Event,
    prover: str = "off",
    autorelay: bool = True,
) -> None:
    """Run ``profile``'s network with the Textual dashboard in this (the main) thread.

    The sequencers and RPC servers run in their own threads as in headless mode; the dashboard
    only reads them through a Monitor. Quitting the dashboard (q, Ctrl-C), setting ``stop``
    (SIGTERM) or a sealing failure ends it; the node then stops and flushes. Nothing is printed
    to stdout: the terminal belongs to the dashboard.
    """
    from ..engine.monitor import Monitor
    from ..node import Node
    from ..tui import make_app

    node = _node(Node, profile, data_dir, prover=prover, autorelay=autorelay)
    _start(node)
    monitor = Monitor(node)
    logging.getLogger("atlasdev.cli").info(
        "serving %s from %s: %s",
        profile.name,
        data_dir,
        ", ".join(
            f"{c.name} ({c.chain_id}) http://127.0.0.1:{c.rpc_port}" for c in profile.all_chains
        ),
    )
    app = make_app(monitor)
    running = threading.Event()
    failures: list[BaseException] = []

    def watch() -> None:
        """Ends the dashboard from outside: a signal set ``stop``, or sealing failed."""
        while not stop.wait(0.25):
            failure = node.failure()
            if failure is not None:
                failures.append(failure)
                break
        while running.is_set():  # the app may still be starting: retry until it answers
            try:
                app.call_from_thread(app.exit)
                return
            except Exception:
                time.sleep(0.1)

    running.set()
    watcher = threading.Thread(target=watch, name="dashboard-watch", daemon=True)
    watcher.start()
    try:
        app.run()
    finally:
        running.clear()
        stop.set()
        watcher.join(5)
        monitor.close()
        node.stop()
    if failures:
        raise _sealing_failed(failures[0])
    if app.return_code:
        raise CliError(
            "the dashboard stopped on an internal error (shown above); the node stopped "
            "cleanly, restart with `atlasdev up` or use `atlasdev up --headless`"
        )
    typer.echo("atlasdev: stopped", err=True)


def _interactive() -> bool:
    """Whether a dashboard can run here: a terminal to read keys from and to draw on."""
    import sys

    streams = (sys.stdin, sys.__stderr__)
    return all(s is not None and s.isatty() for s in streams)


def up(
    profile: ProfileOpt = "default",
    data_dir: DataDirOpt = None,
    port_base: Annotated[
        int | None,
        typer.Option(
            "--port-base",
            metavar="N",
            help="Serve chain i's JSON-RPC on port N+i instead of the profile's ports.",
        ),
    ] = None,
    headless: Annotated[
        bool,
        typer.Option(
            "--headless",
            help="Log one line per block instead of opening the dashboard (implied by --json, "
            "and when there is no terminal).",
        ),
    ] = False,
    json_out: JsonOpt = False,
    prover: Annotated[
        str,
        typer.Option(
            "--prover",
            metavar="cpu|gpu|auto|off",
            help="Prove every sealed block in the background: on the CPU (numba, lowest "
            "priority), the GPU (CUDA kernels through CuPy; each proof checked by the CPU "
            "verifier), auto (the GPU when CuPy finds one, else the CPU), or off.",
        ),
    ] = "off",
    autorelay: Annotated[
        bool,
        typer.Option(
            "--autorelay/--no-autorelay",
            help="Execute each cross-chain message on its destination as soon as it can be "
            "(default), or leave it to `atlasdev msg relay`.",
        ),
    ] = True,
) -> None:
    """Start the devnet: every chain of the profile, its JSON-RPC servers and its dev accounts.

    Opens the dashboard (q quits, ? lists the keys); --headless logs blocks instead. Runs until
    q, Ctrl-C (SIGINT) or SIGTERM. A restart resumes the network where it stopped; `atlasdev
    reset` starts it fresh. With --json (headless), prints one JSON object per line (ready,
    block, stopped).

    Example: atlasdev up --profile prividium --port-base 9545
    """
    from ..engine.prover_worker import ProverUnavailable, resolve_backend

    try:
        resolve_backend(prover)
    except ProverUnavailable as e:
        raise CliError(str(e)) from None
    chosen = load_profile(profile)
    if port_base is not None:
        chosen = with_port_base(chosen, port_base)
    directory = data_dir if data_dir is not None else default_data_dir(chosen.name)
    typer.echo(f"atlasdev: starting network {chosen.name} in {directory}", err=True)
    stop = threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        if headless or json_out or not _interactive():
            serve(chosen, directory, stop, json_out, prover=prover, autorelay=autorelay)
        else:
            dashboard(chosen, directory, stop, prover=prover, autorelay=autorelay)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ---- reset, profiles ------------------------------------------------------------------------------


def reset(
    profile: ProfileOpt = "default",
    data_dir: DataDirOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete a network's chain data so that the next `atlasdev up` starts from genesis.

    Refuses while a node runs on the data dir.

    Example: atlasdev reset --profile solo --yes
    """
    import fcntl

    directory = data_dir if data_dir is not None else default_data_dir(load_profile(profile).name)
    files = [directory / name for name in DB_FILES if (directory / name).exists()]
    if not files:
        emit(
            json_out, {"dataDir": str(directory), "deleted": []}, f"nothing to reset in {directory}"
        )
        return
    lock_fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise CliError(
                f"a node is running on {directory}: stop it (Ctrl-C where `atlasdev up` runs) "
                "and run `atlasdev reset` again"
            ) from None
        if not yes:
            typer.confirm(
                f"Delete the network in {directory} ({', '.join(f.name for f in files)})?",
                abort=True,
                err=True,
            )
        for path in files:
            path.unlink(missing_ok=True)
    finally:
        os.close(lock_fd)
    emit(
        json_out,
        {"dataDir": str(directory), "deleted": [str(f) for f in files]},
        f"deleted the network in {directory}",
    )


def profiles(json_out: JsonOpt = False) -> None:
    """List the builtin network profiles and their chains.

    Example: atlasdev profiles --json
    """
    data = []
    lines: list[str] = []
    for name in builtin_profiles():
        prof = load_profile(name)
        data.append(
            {
                "name": prof.name,
                "description": prof.description,
                "chains": [
                    {
                        "name": c.name,
                        "chainId": c.chain_id,
                        "rpcPort": c.rpc_port,
                        "blockTimeMs": c.block_time_ms,
                        "private": c.private,
                        "l1": c is prof.l1,
                    }
                    for c in prof.all_chains
                ],
            }
        )
        lines.append(f"{prof.name}  {prof.description}".rstrip())
        lines += table(
            (
                (
                    c.name,
                    f"id {c.chain_id}",
                    f"port {c.rpc_port}",
                    f"{c.block_time_ms} ms blocks",
                    "L1" if c is prof.l1 else "private" if c.private else "public",
                )
                for c in prof.all_chains
            ),
            "  ",
        )
    emit(json_out, data, lines)


def doctor(json_out: JsonOpt = False) -> None:
    """Report what this machine offers atlasdev: Python, the compilers, CPU cores, and the GPU
    the prover could use (name, memory, CUDA version) or why none is usable.

    Example: atlasdev doctor --json
    """
    import platform

    import llvmlite
    import numba

    from ..engine.airbender.device import probe, segment_log

    found = probe()
    gpu = None if found.gpu is None else dataclasses.asdict(found.gpu)
    auto = "gpu" if found.gpu else "cpu"
    if found.gpu is not None:
        gpu_backend = f"available, segments of 2^{segment_log(found.gpu.memory_bytes)} rows"
    else:
        gpu_backend = "no usable GPU"
    data = {
        "atlasdev": _version(),
        "python": platform.python_version(),
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "cpuCores": os.cpu_count(),
        "gpu": gpu,
        "gpuReason": found.reason or None,
        "proverBackends": {
            "cpu": "available",
            "gpu": gpu_backend,
            "auto": auto,
        },
    }
    if found.gpu is None:
        gpu_line = f"gpu       none: {found.reason}"
    else:
        g = found.gpu
        gpu_line = (
            f"gpu       {g.name}, {g.memory_bytes / 2**30:.1f} GiB, compute {g.compute_capability}, "
            f"CUDA {g.cuda_runtime} (driver {g.cuda_driver}), CuPy {g.cupy_version}, "
            f"NVRTC {g.nvrtc}"
        )
    lines = [
        f"atlasdev  {data['atlasdev']} on Python {data['python']} "
        f"(numba {data['numba']}, llvmlite {data['llvmlite']})",
        f"cpu       {data['cpuCores']} cores",
        gpu_line,
        f"prover    --prover cpu: available; --prover gpu: {gpu_backend}; --prover auto: {auto}",
    ]
    emit(json_out, data, lines)
