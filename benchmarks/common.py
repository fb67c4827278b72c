"""What the benchmark scripts share: free local ports for in-process nodes, and the result file."""

from __future__ import annotations

import json
import os
import platform
import socket
import time
from pathlib import Path
from typing import Any

from atlasdev.engine.airbender import heap

heap.keep_freed()  # as `atlasdev`'s command line does: the prover's arrays reuse freed memory


def free_port_base(count: int = 2) -> int:
    """A port p with p .. p+count free on 127.0.0.1 now: ``count`` L2s and the L1 after them,
    as `with_port_base` places them."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        try:
            for port in range(base, base + count + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port range")


def write_result(out: Path, result: dict[str, Any], echo: bool = True) -> None:
    """Stamp ``result`` with the machine and the date, write it to ``out`` and print it (unless
    not ``echo``)."""
    result = {
        **result,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    if echo:
        print(json.dumps(result, indent=2))
