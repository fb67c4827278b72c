"""The allocator policy (heap.py), in fresh processes: the policy is the whole process's."""

import json
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)

_SCRIPT = """
import json, os, sys
import numpy as np
from atlasdev.engine.airbender import heap

kept = heap.keep_freed() if sys.argv[1] == "keep" else False
page = os.sysconf("SC_PAGE_SIZE")
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * page
a = np.ones(64 << 20, np.uint32)  # 256 MiB, every page touched
held = rss()
del a
freed = rss()
reusable = heap.reusable_bytes()
heap.give_back()
print(json.dumps(dict(kept=kept, held=held, freed=freed, reusable=reusable, given_back=rss())))
"""
MIB = 1 << 20


def _run(policy: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, policy], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_a_freed_array_stays_mapped_for_the_next_until_given_back() -> None:
    r = _run("keep")
    assert r["kept"]
    assert r["freed"] > r["held"] - 16 * MIB  # still resident: the next array reuses it
    assert r["reusable"] >= 256 * MIB  # and counted as free for the prover's budget
    assert r["given_back"] < r["held"] - 200 * MIB


def test_without_the_policy_a_freed_array_is_unmapped_at_once() -> None:
    r = _run("default")
    assert r["freed"] < r["held"] - 200 * MIB
    assert r["reusable"] < 64 * MIB
