"""``python -m atlasdev``: the same as the ``atlasdev`` command."""

from atlasdev.cli import main

if __name__ == "__main__":  # spawned worker processes (engine/recovery.py) re-import this module
    raise SystemExit(main())
