"""A chain imports each interop root the gateway publishes: in its next block, once, recorded
by the messenger in state and carried in the block's public values; a restarted node offers the
latest root again to chains that missed it."""

import hashlib
import time
from pathlib import Path

from atlasdev.engine.chain import Chain
from atlasdev.engine.store import InteropEntry, Store, VerificationRow
from atlasdev.engine.zkos import keys
from atlasdev.engine.zkos.u256 import to_int
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base
from tests.conftest import free_port_base

ROOT = hashlib.blake2s(b"root 1").digest()
NEWER = hashlib.blake2s(b"root 2").digest()


def _slot(chain: Chain, root: bytes) -> int:
    leaf = chain.tree.leaf(keys.interop_root_key(root))
    return 0 if leaf is None else to_int(leaf[16:])


def test_an_offered_root_is_imported_once_in_the_next_block(tmp_path: Path) -> None:
    chain = Chain(load_profile("solo").chains[0], Store(tmp_path))
    chain.offer_interop_root(ROOT)
    block, _ = chain.seal()
    assert block.interop_root == ROOT and _slot(chain, ROOT) == 1
    assert chain.store.last_imported_root(chain.chain_id) == ROOT
    block, _ = chain.seal()
    assert block.interop_root == bytes(32)  # nothing new to import
    chain.offer_interop_root(ROOT)  # already the last imported: not again
    assert chain.seal()[0].interop_root == bytes(32)
    chain.offer_interop_root(NEWER)
    assert chain.seal()[0].interop_root == NEWER and _slot(chain, NEWER) == 1


def test_a_restarted_node_offers_the_latest_root(tmp_path: Path) -> None:
    profile = with_port_base(load_profile("solo"), free_port_base(1))
    node = Node(profile, tmp_path)
    node.start()
    node.stop()
    store = Store(tmp_path)  # the gateway published a root while no chain was running
    entry = InteropEntry(0, 999, 1, b"\x01" * 32, ROOT, time.time())
    store.put_verification(
        VerificationRow(999, 1, "verified", b"\x02" * 32, b"\x01" * 32, 0.0, 1, "", time.time()),
        entry,
    )
    store.close()
    node = Node(profile, tmp_path)
    node.start()
    try:
        chain = next(iter(node.chains.values()))
        for _ in range(400):  # a few blocks; bounded, not timed
            if chain.store.last_imported_root(chain.chain_id) == ROOT:
                break
            time.sleep(0.05)
        with chain.lock:  # the store and the tree as one sealed block left them, not mid-seal
            assert chain.store.last_imported_root(chain.chain_id) == ROOT
            assert _slot(chain, ROOT) == 1
    finally:
        node.stop()
