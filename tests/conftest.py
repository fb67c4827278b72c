"""Shared fixtures: free ports, and `atlasdev up --headless` running on a temp data dir."""

import contextlib
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from atlasdev.engine.airbender import heap
from atlasdev.profiles import Profile, load_profile, with_port_base

heap.keep_freed()  # the allocator policy of `atlasdev`'s command line, before any thread starts

# No wall-clock limits in tests (the machines are shared): hypothesis's per-example deadline
# would fail a property test whenever numba compiles or the machine is busy.
settings.register_profile("atlasdev", deadline=None)
settings.load_profile("atlasdev")


def _ephemeral_low() -> int:
    """The lowest port the kernel hands out for outgoing connections and port-0 binds."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; the IANA range starts higher still


def free_port_base(count: int = 2) -> int:
    """A port p such that p .. p+count are free on 127.0.0.1 right now: ``count`` L2s and the
    L1 after them, as `with_port_base` places them.

    Drawn at random below the ephemeral range: a port that the kernel picked for a port-0 bind
    and that was then released can be handed to another socket (an outgoing connection, another
    test's bind) before the node binds it, which made `address already in use` flakes."""
    low = _ephemeral_low()
    for _ in range(200):
        base = random.randrange(10_000, max(10_001, low - count - 1))
        try:
            with contextlib.ExitStack() as stack:
                for p in range(base, base + count + 1):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


@dataclass
class RunningNode:
    """`atlasdev up --headless` in a subprocess, as a user starts it."""

    profile: Profile
    data_dir: Path
    process: subprocess.Popen


def start_up(profile_name: str, data_dir: Path, port_base: int) -> subprocess.Popen:
    """Start `atlasdev up --headless` and wait until every chain answers JSON-RPC."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atlasdev",
            "up",
            "--headless",
            "--profile",
            profile_name,
            "--data-dir",
            str(data_dir),
            "--port-base",
            str(port_base),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    n_chains = len(load_profile(profile_name).all_chains)  # the L2s, then the L1
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'
    for _ in range(1200):
        if proc.poll() is not None:
            raise AssertionError(f"atlasdev up exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            for i in range(n_chains):
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port_base + i}",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                urllib.request.urlopen(req, timeout=5).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("atlasdev up did not answer within 120 s")


def stop_up(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    base = free_port_base(2)
    profile = with_port_base(load_profile("default"), base)
    data_dir = Path(tmp_path_factory.mktemp("node"))
    proc = start_up("default", data_dir, base)
    yield RunningNode(profile, data_dir, proc)
    stop_up(proc)
