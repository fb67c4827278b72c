"""Shared fixtures: free ports, and a running in-process node on a temp data dir."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port_base(count: int = 2) -> int:
    """A port p such that p .. p+count-1 are free on 127.0.0.1 right now."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count > 65535:
            continue
        ok = True
        for p in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator["object"]:
    from atlasdev.node import Node
    from atlasdev.profiles import load_profile, with_port_base

    profile = with_port_base(load_profile("default"), free_port_base(2))
    n = Node(profile, Path(tmp_path_factory.mktemp("node")))
    n.start()
    yield n
    n.stop()
