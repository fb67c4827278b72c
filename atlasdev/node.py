"""The node: one process running every chain of a profile — store, chains, sequencers, RPC.

`Node.start()` opens (or creates) the network in the data dir, starts one sequencer thread per
chain (the L2s and the model L1) and one JSON-RPC server per chain on 127.0.0.1, the gateway (it
verifies whatever proofs the prover stores, and settles to the L1), the relayer and, with
`prover`, the prover of the L2s; `stop()` stops proving and verifying, then
sealing, then serving, then closes the store. A lock file keeps two nodes off one data dir.
"""

import fcntl
import gc
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from .engine.chain import Chain
from .engine.gateway.relayer import Relayer
from .engine.gateway.service import Gateway
from .engine.prover_worker import ProverWorker, resolve_backend
from .engine.rpc.server import RpcServer
from .engine.sequencer import Sequencer
from .engine.store import BlockRow, Store, TxRow
from .paths import default_data_dir
from .profiles import Profile

__all__ = ["Node", "NodeError", "default_data_dir"]

log = logging.getLogger("atlasdev.node")


def tune_gc() -> None:
    """Keep Python's cyclic GC off the sealing path: freeze the long-lived startup objects and
    collect young objects less often (a 10k-tx block creates ~100k short-lived objects, and
    full collections over the state index cost more than sealing itself)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class NodeError(RuntimeError):
    """The node cannot start as asked; the message says why and what to do."""


class Node:
    def __init__(
        self,
        profile: Profile,
        data_dir: Path,
        on_block: Callable[[Chain, BlockRow, list[TxRow]], None] | None = None,
        prover: str = "off",
        autorelay: bool = True,
        prove_empty_blocks: bool = False,
    ) -> None:
        self.profile = profile
        self.prover_backend = resolve_backend(prover)  # raises ProverUnavailable early
        self.prover: ProverWorker | None = None
        self.gateway: Gateway | None = None
        self.autorelay = autorelay
        self.prove_empty_blocks = prove_empty_blocks
        self.relayer: Relayer | None = None
        self.data_dir = data_dir
        self.on_block = on_block
        self.chains: dict[int, Chain] = {}  # every chain, the L1 included
        self.l1: Chain | None = None
        self.sequencers: list[Sequencer] = []
        self.rpc: RpcServer | None = None
        self.store: Store | None = None
        self._lock_fd: int | None = None
        self.stopped = threading.Event()

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self.store = Store(self.data_dir)
        self._check_profile()
        for cfg in self.profile.all_chains:  # the L2s, then the L1
            chain = Chain(cfg, self.store, is_l1=cfg is self.profile.l1)
            if self.on_block is not None:
                chain.listeners.append(lambda b, t, c=chain: self.on_block(c, b, t))
            self.chains[cfg.chain_id] = chain
        l1 = self.l1 = self.chains[self.profile.l1.chain_id]
        for chain in self.chains.values():
            chain.warm_up()  # compile zkOS before clients can wait on a chain lock
        tune_gc()
        self.rpc = RpcServer(self)
        self.rpc.start()  # fails fast (port in use) before any block is sealed
        for chain in self.chains.values():
            seq = Sequencer(chain)
            seq.start()
            self.sequencers.append(seq)
        self.gateway = Gateway(
            self.store,
            self.l2_ids,
            on_root=self._offer_interop_root,
            l1=l1.chain_id,
            settle_interval_s=self.profile.settle_interval_ms / 1000,
            on_settle=lambda root: l1.offer_interop_root(root, again=True),
        )
        latest = self.store.latest_interop()
        if latest is not None:  # a root published before a restart that a chain has not imported
            self._offer_interop_root(latest.root)
        self.gateway.start()
        if self.autorelay:
            self.relayer = Relayer(self.store, self.chains)
            self.relayer.start()
        if self.prover_backend is not None:
            self.prover = ProverWorker(
                self.store, self.l2_ids, self.prover_backend, self.prove_empty_blocks
            )
            self.prover.start()
            log.info("prover: %s backend, proving every L2's blocks in order", self.prover_backend)
        log.info(
            "network %s started: %s",
            self.profile.name,
            ", ".join(f"{c.name} ({c.chain_id}) on :{c.rpc_port}" for c in self.profile.all_chains),
        )

    @property
    def l2_ids(self) -> list[int]:
        return [c.chain_id for c in self.profile.chains]

    def _offer_interop_root(self, root: bytes) -> None:
        """Every L2 imports each interop root the gateway publishes, in its next block; the L1
        imports roots only when the gateway settles."""
        for chain_id in self.l2_ids:
            self.chains[chain_id].offer_interop_root(root)

    def stop(self) -> None:
        if self.prover is not None:
            self.prover.stop()
        if self.relayer is not None:
            self.relayer.stop()
        if self.gateway is not None:
            self.gateway.stop()
        for seq in self.sequencers:
            seq.stop()
        if self.rpc is not None:
            self.rpc.stop()
        if self.store is not None:
            self.store.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self.stopped.set()

    def failure(self) -> BaseException | None:
        """The error that stopped a sequencer, if one did (the CLI stops the node on it)."""
        return next((s.error for s in self.sequencers if s.error is not None), None)

    def chain_by_name_or_id(self, ref: str) -> Chain | None:
        for chain in self.chains.values():
            if ref in (chain.config.name, str(chain.chain_id)):
                return chain
        return None

    def _take_lock(self) -> None:
        fd = os.open(self.data_dir / "node.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise NodeError(f"another atlasdev node is running on {self.data_dir}") from None
        self._lock_fd = fd

    def _check_profile(self) -> None:
        assert self.store is not None
        wanted = ",".join(f"{c.name}:{c.chain_id}" for c in self.profile.chains)
        found = self.store.get_meta("chains")
        if found is None:
            self.store.set_meta("chains", wanted)
            self.store.set_meta("profile", self.profile.name)
        elif found != wanted:
            raise NodeError(
                f"{self.data_dir} holds a network with chains {found}, not {wanted}: "
                "use another --data-dir or run `atlasdev reset`"
            )
        l1 = self.store.l1_chain_id()
        if l1 is None:  # a new network, or one made before the L1 existed: it gets one now
            self.store.set_meta("l1_chain", str(self.profile.l1.chain_id))
        elif l1 != self.profile.l1.chain_id:
            raise NodeError(
                f"{self.data_dir} holds a network whose L1 is chain {l1}, not "
                f"{self.profile.l1.chain_id}: use another --data-dir or run `atlasdev reset`"
            )
