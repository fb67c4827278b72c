"""The engine is a headless core: it never imports the UI or CLI frameworks."""

import subprocess
import sys


def test_engine_imports_no_ui_or_cli_framework() -> None:
    code = (
        "import sys, atlasdev.node, atlasdev.engine.chain, atlasdev.engine.rpc.server\n"
        "bad = [m for m in ('textual', 'rich', 'typer') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
