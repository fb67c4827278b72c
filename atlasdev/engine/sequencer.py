"""The sequencer loop of one chain: seal a block every block time, nothing else.

Ordering and execution happen in Chain.seal; this thread only keeps the beat. A block that takes
longer than the block time to seal simply delays the next tick (no backlog of empty blocks).
"""

import logging
import threading
import time

from .chain import Chain

log = logging.getLogger("atlasdev.sequencer")


class Sequencer:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"sequencer-{chain.config.name}", daemon=True
        )
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        interval = self.chain.config.block_time_ms / 1000
        next_tick = time.monotonic() + interval
        while not self._stop.wait(max(0.0, next_tick - time.monotonic())):
            try:
                self.chain.seal()
            except Exception as exc:  # a sealing bug must not kill the node silently
                log.exception("chain %s: sealing failed", self.chain.config.name)
                self.error = exc
                return
            next_tick = max(next_tick + interval, time.monotonic())
