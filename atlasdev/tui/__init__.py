"""The Textual dashboard: it reads the node through `atlasdev.engine.monitor.Monitor` only.

`make_app(monitor)` builds the app for `atlasdev up` and for the tests.
"""

from .app import AtlasApp, make_app

__all__ = ["AtlasApp", "make_app"]
