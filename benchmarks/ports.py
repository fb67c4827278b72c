"""Free local ports for the benchmarks' in-process nodes."""

from __future__ import annotations

import socket


def free_port_base(count: int = 2) -> int:
    """A port p with p .. p+count-1 free on 127.0.0.1 now."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port range")
