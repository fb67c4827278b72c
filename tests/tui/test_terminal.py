"""`atlasdev up` in a real terminal (tmux): the dashboard draws, the chains grow, q or Ctrl-C
exits 0 (Ctrl-C reaches the app as a key: the terminal is in raw mode)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port_base

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"
)


def heights(screen: str) -> list[int]:
    return [int(h.replace(",", "")) for h in re.findall(r"height\s+#([\d,]+)", screen)]


class Tmux:
    """One tmux server of our own (-L), so that a user's sessions are never touched."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", self.name)


@pytest.mark.parametrize("quit_key", ["q", "C-c"])
def test_up_shows_the_dashboard_and_quits_cleanly(tmp_path: Path, quit_key: str) -> None:
    base = free_port_base(2)
    rc_file = tmp_path / "exit-code"
    up = shlex.join(
        [
            sys.executable,
            "-m",
            "atlasdev",
            "up",
            "--profile",
            "default",
            "--data-dir",
            str(tmp_path / "data"),
            "--port-base",
            str(base),
        ]
    )
    # COLUMNS/LINES leak in from the test session (80x24) and would override the pane's size
    script = (
        f"cd {shlex.quote(str(ROOT))} && "
        f"env -u COLUMNS -u LINES PYTHONPATH={shlex.quote(str(ROOT))} {up}; "
        f"echo $? > {shlex.quote(str(rc_file))}"
    )
    tmux = Tmux(f"atlasdev-test-{os.getpid()}-{base}")
    tmux("new-session", "-d", "-s", tmux.name, "-x", "160", "-y", "48", script)
    try:
        screen = ""
        for _ in range(1200):  # the node starts (numba may compile), the dashboard draws
            screen = tmux.screen()
            if "alpha · id 271" in screen and "beta · id 272" in screen and heights(screen):
                break
            assert not rc_file.exists(), f"atlasdev up exited early:\n{screen}"
            time.sleep(0.1)
        else:
            raise AssertionError(f"the overview never showed both chains:\n{screen}")
        first = heights(screen)[0]
        for _ in range(600):
            screen = tmux.screen()
            if heights(screen) and heights(screen)[0] > first:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"alpha's height stayed at {first}:\n{screen}")
        assert "not running" in screen  # the prover and gateway fields say so plainly

        tmux("send-keys", "-t", tmux.name, quit_key)
        for _ in range(600):
            if rc_file.exists() and rc_file.read_text().strip():
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"{quit_key} did not end atlasdev up:\n{tmux.screen()}")
        assert rc_file.read_text().strip() == "0"
    finally:
        tmux("kill-server")
