"""Where atlasdev keeps a network's files: light enough for every CLI command to import."""

from pathlib import Path

import platformdirs


def default_data_dir(profile_name: str) -> Path:
    """Where a profile's network lives unless --data-dir says otherwise."""
    return Path(platformdirs.user_data_dir("atlasdev")) / profile_name
