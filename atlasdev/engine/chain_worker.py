"""A background thread that works on every chain in turn: the prover's and the gateway's loop.

Each round calls `step(chain_id)` for every chain; a round in which no step did anything is
followed by a short sleep (and, some time after a busy spell, by `went_idle`). An exception in
a step is logged and the loop goes on after a pause (at shutdown the store closes under a
step: then the loop just ends). `stop()` ends the loop
between steps; a step in flight finishes or is abandoned with the daemon thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from abc import ABC, abstractmethod


class ChainWorker(ABC):
    """Subclasses define `step`; `name` names the thread and the log lines."""

    name = "worker"
    idle_s = 0.5  # the sleep after a round with nothing to do
    idle_after_s = 0.0  # how long without work before `went_idle`
    nice = 0  # the thread's CPU priority (19: the lowest; numba's worker threads inherit it)

    def __init__(self, chain_ids: list[int]) -> None:
        self.chain_ids = list(chain_ids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._log = logging.getLogger(f"atlasdev.{self.name}")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @abstractmethod
    def step(self, chain_id: int) -> bool:
        """Do the next piece of work for one chain; True if there was any."""

    def went_idle(self) -> None:  # noqa: B027 (optional: most workers have nothing to do)
        """Called once a spell of work has been followed by ``idle_after_s`` with nothing to do."""

    def _run(self) -> None:
        if self.nice:
            with contextlib.suppress(OSError, AttributeError):  # not Linux: the OS decides
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        last_work: float | None = None  # when a round last had work, until went_idle
        while not self._stop.is_set():
            worked = False
            for chain_id in self.chain_ids:
                if self._stop.is_set():
                    return
                try:
                    worked |= self.step(chain_id)
                except Exception as exc:  # the store closing under us at shutdown
                    if self._stop.is_set():
                        return
                    self._log.error("%s: %s: %s", self.name, type(exc).__name__, exc)
                    self._stop.wait(1.0)
            now = time.monotonic()
            if worked:
                last_work = now
            elif last_work is not None and now - last_work >= self.idle_after_s:
                last_work = None
                self.went_idle()
            if not worked:
                self._stop.wait(self.idle_s)
