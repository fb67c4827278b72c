"""``python -m atlasdev``: the same as the ``atlasdev`` command."""

from atlasdev.cli import main

raise SystemExit(main())
