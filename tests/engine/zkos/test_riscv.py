"""The second target: the STF's own IR re-targeted to RV32IM must compute what the host computes.

The image is built once per session from a fresh numba compile (about a minute) and run under
Debian's qemu-riscv32, an emulator nobody here wrote; the public values it reports must equal the
native STF's byte for byte.
"""

import hashlib
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from eth_abi import encode
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlasdev.engine.store import Store
from atlasdev.engine.zkos import image, keys, linker, riscv
from atlasdev.engine.zkos.block import BlockHeader, PublicValues, TxInput, execute
from atlasdev.engine.zkos.system import (
    MESSENGER_ADDRESS,
    ORACLE_ADDRESS,
    SEL_SEND_MESSAGE,
    SEL_SET_PRICE,
    SEL_TRANSFER,
    STABLECOIN_ADDRESS,
    selector,
)
from atlasdev.engine.zkos.tree import StateTree
from atlasdev.engine.zkos.u256 import from_int

QEMU = shutil.which("qemu-riscv32")
ALICE = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
BOB = bytes(19) + b"\x07"


@pytest.fixture(scope="module")
def host_ir() -> str:
    return riscv.dump_stf_ir()


@pytest.fixture(scope="module")
def guest(host_ir: str) -> image.Image:
    return linker.link(riscv.compile_object(riscv.guest_ir(host_ir)), image.MEMORY)


def _value(amount: int) -> np.ndarray:
    v = np.zeros(16, np.uint32)
    v[:8] = from_int(amount)
    return v


def _genesis() -> StateTree:
    tree = StateTree()
    tree.set_value(keys.account_key(ALICE), _value(10**22))
    tree.set_value(keys.token_balance_key(ALICE), _value(10**21))
    tree.set_value(keys.token_minter_key(ALICE), _value(1))
    tree.set_value(keys.oracle_feeder_key(ALICE), _value(1))
    return tree


def _run_qemu(img: image.Image, words: np.ndarray, tmp_path: Path) -> tuple[int, np.ndarray]:
    payload = struct.pack("<I", len(words)) + words.astype("<u4").tobytes()
    elf = tmp_path / "block.elf"
    elf.write_bytes(linker.to_elf(img, payload))
    os.chmod(elf, 0o755)
    proc = subprocess.run([QEMU, str(elf)], capture_output=True, timeout=300, check=False)
    return proc.returncode, np.frombuffer(proc.stdout, dtype="<u4")


def _blocks() -> list[list[TxInput]]:
    def call(to: bytes, data: bytes, nonce: int, value: int = 0) -> TxInput:
        return TxInput(ALICE, to, nonce, value, 200_000, 2 * 10**9, 10**9, data)

    transfer = SEL_TRANSFER.to_bytes(4, "big") + encode(["address", "uint256"], [BOB, 5])
    price = SEL_SET_PRICE.to_bytes(4, "big") + encode(["bytes32", "uint256"], [b"E" * 32, 7])
    message = SEL_SEND_MESSAGE.to_bytes(4, "big") + encode(
        ["uint256", "address", "bytes"], [272, BOB, b"hello riscv"]
    )
    return [
        [],
        [TxInput(ALICE, BOB, 0, 10**18, 21_000, 2 * 10**9, 10**9)],
        [
            TxInput(ALICE, BOB, 0, 1, 21_000, 2 * 10**9, 10**9),
            call(STABLECOIN_ADDRESS, transfer, 1),
            call(ORACLE_ADDRESS, price, 2),
            call(MESSENGER_ADDRESS, message, 3, value=9),
            call(STABLECOIN_ADDRESS, b"\x01\x02", 4),  # fails: unknown selector
            TxInput(ALICE, BOB, 9, 1, 21_000, 2 * 10**9, 10**9),  # invalid: nonce too high
        ],
    ]


def _header(index: int) -> BlockHeader:
    """Block 1 + index; the last one also imports an interop root."""
    root = hashlib.blake2s(b"an interop root").digest() if index == 2 else bytes(32)
    return BlockHeader(271, 1 + index, 1000, 10**9, interop_root=root)


@pytest.mark.skipif(QEMU is None, reason="qemu-riscv32 (Debian qemu-user) is not installed")
@pytest.mark.parametrize("index", range(3))
def test_riscv_image_computes_the_native_public_values(
    guest: image.Image, index: int, tmp_path: Path
) -> None:
    txs = _blocks()[index]
    native = execute(_header(index), txs, _genesis())
    code, report = _run_qemu(guest, native.input_words, tmp_path)
    assert code == 0, f"guest exit code {code}, report {report[:2]}"
    assert report[0] == 0 and report[1] == 0
    assert PublicValues.from_words(report[2:]) == native.public


@pytest.mark.parametrize("index", range(3))
def test_emulator_runs_the_image_like_the_native_stf(guest: image.Image, index: int) -> None:
    from atlasdev.engine.airbender.guest import run_block

    txs = _blocks()[index]
    native = execute(_header(index), txs, _genesis())
    run = run_block(guest, native.input_words, max_cycles=200_000_000)
    assert run.stf_status == 0
    assert run.public == native.public
    assert run.cycles > 1000


def test_guest_module_has_no_host_parts(host_ir: str) -> None:
    ir = riscv.guest_ir(host_ir)
    assert "cpython" not in ir and "PyErr" not in ir and "numba.dynamic.globals" not in ir
    assert "inttoptr (i64" not in ir  # no host addresses
    assert 'target triple = "riscv32-unknown-elf"' in ir


def test_build_is_deterministic(host_ir: str, guest: image.Image) -> None:
    # numba's IR carries no host addresses once guest_ir is done (checked above), so the same
    # sources give the same IR; compiling and linking it again must give the same bytes
    again = linker.link(riscv.compile_object(riscv.guest_ir(host_ir)), image.MEMORY)
    assert again.image_id == guest.image_id
    assert again.to_json() == guest.to_json()


def test_image_survives_its_cache_format(guest: image.Image) -> None:
    assert image.Image.from_json(guest.to_json()).image_id == guest.image_id


# ---- random blocks and a real devnet run ---------------------------------------------------------
CAROL = bytes(19) + b"\x09"
PEOPLE = (ALICE, BOB, CAROL)


@st.composite
def random_block(draw: st.DrawFn) -> list[TxInput]:
    """Transfers (some failing or to new accounts), token moves, prices and messages."""
    txs = []
    for nonce in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["eth", "token", "price", "message", "bad"]))
        to = draw(st.sampled_from([*PEOPLE, draw(st.binary(min_size=20, max_size=20))]))
        amount = draw(st.sampled_from([0, 1, 10**18, 10**30]))  # 10**30 fails: too much
        if kind == "eth":
            txs.append(TxInput(ALICE, to, nonce, amount, 21_000, 2 * 10**9, 10**9))
            continue
        if kind == "token":
            target, data = (
                STABLECOIN_ADDRESS,
                SEL_TRANSFER.to_bytes(4, "big") + encode(["address", "uint256"], [to, amount]),
            )
        elif kind == "price":
            target, data = (
                ORACLE_ADDRESS,
                SEL_SET_PRICE.to_bytes(4, "big")
                + encode(
                    ["bytes32", "uint256"], [draw(st.binary(min_size=32, max_size=32)), amount]
                ),
            )
        elif kind == "message":
            target, data = (
                MESSENGER_ADDRESS,
                SEL_SEND_MESSAGE.to_bytes(4, "big")
                + encode(["uint256", "address", "bytes"], [272, to, draw(st.binary(max_size=70))]),
            )
        else:
            target, data = STABLECOIN_ADDRESS, draw(st.binary(max_size=40))
        txs.append(TxInput(ALICE, target, nonce, 0, 300_000, 2 * 10**9, 10**9, data))
    return txs


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(txs=random_block())
def test_random_blocks_agree_on_both_targets(guest: image.Image, txs: list[TxInput]) -> None:
    from atlasdev.engine.airbender.guest import run_block

    native = execute(BlockHeader(271, 7, 1000, 10**9), txs, _genesis())
    run = run_block(guest, native.input_words, max_cycles=500_000_000)
    assert run.stf_status == 0
    assert run.public == native.public  # the post-state root commits to every leaf


def test_every_block_of_a_devnet_run_replays_on_riscv(guest: image.Image, tmp_path: Path) -> None:
    import time

    from eth_account import Account

    from atlasdev.engine.accounts import dev_accounts
    from atlasdev.engine.airbender.guest import run_block
    from atlasdev.engine.replay import replay_block
    from atlasdev.node import Node
    from atlasdev.profiles import load_profile, with_port_base
    from tests.conftest import free_port_base

    node = Node(with_port_base(load_profile("solo"), free_port_base(1)), tmp_path)
    node.start()
    try:
        chain = node.chains[271]
        acct = Account.from_key(dev_accounts()[0].private_key)
        transfer = SEL_TRANSFER.to_bytes(4, "big") + encode(["address", "uint256"], [BOB, 3])
        message = SEL_SEND_MESSAGE.to_bytes(4, "big") + encode(
            ["uint256", "address", "bytes"], [272, BOB, b"to beta"]
        )
        fields = [
            {"to": "0x" + BOB.hex(), "value": 5, "gas": 21_000},
            {"to": "0x" + STABLECOIN_ADDRESS.hex(), "data": transfer, "gas": 100_000},
            {"to": "0x" + MESSENGER_ADDRESS.hex(), "data": message, "gas": 100_000},
            {"to": "0x" + STABLECOIN_ADDRESS.hex(), "data": b"\xde\xad", "gas": 100_000},
        ]
        for nonce, f in enumerate(fields):
            tx = {
                "nonce": nonce,
                "chainId": 271,
                "maxFeePerGas": 3 * 10**9,
                "maxPriorityFeePerGas": 10**9,
                "value": 0,
                **f,
            }
            tx["to"] = to_checksum_address(tx["to"])
            chain.submit(bytes(acct.sign_transaction(tx).raw_transaction))
        for _ in range(200):
            if len(chain.mempool) == 0 and chain.head.number >= 3:
                break
            time.sleep(0.05)
    finally:
        node.stop()
    store = Store(tmp_path)
    head = store.head(271).number
    with_txs = 0
    for number in range(1, head + 1):
        replay = replay_block(store, 271, number)
        assert replay.matches_sealed, number
        run = run_block(guest, replay.result.input_words, max_cycles=500_000_000)
        assert run.public == replay.result.public, number
        assert run.public.post_root == replay.block.state_root, number
        with_txs += replay.block.tx_count > 0
    assert with_txs >= 1


def test_the_image_executes_a_relayed_message_like_the_native_stf(guest: image.Image) -> None:
    """A message sent on chain 271 and relayed on 272 against an imported interop root: the
    guest checks the same proof and reaches the same public values (and the same failure for a
    second relay)."""
    from atlasdev.engine.airbender.guest import run_block
    from atlasdev.engine.zkos import relay as rl

    send = SEL_SEND_MESSAGE.to_bytes(4, "big") + encode(
        ["uint256", "address", "bytes"], [272, BOB, b"to beta"]
    )
    source = execute(
        BlockHeader(271, 1, 1000, 10**9),
        [TxInput(ALICE, MESSENGER_ADDRESS, 0, 5, 300_000, 2 * 10**9, 10**9, send)],
        _genesis(),
    )
    (message,) = source.messages
    entries = [(271, 1, rl.list_root([message.hash])), (273, 4, b"\x44" * 32)]
    leaves = [rl.leaf(*e) for e in entries]
    relay = rl.Relay(
        271, 1, message.nonce, message.sender, message.to, message.value, b"to beta",
        entries[0][2], 0, [], 0, 2, rl.list_path(leaves, 0),
    )  # fmt: skip
    dest = _genesis()
    imported = execute(
        BlockHeader(272, 1, 1000, 10**9, interop_root=rl.interop_root(leaves)), [], dest
    )
    dest.apply(imported.changed_positions, imported.changed_leaves)
    txs = [
        TxInput(ALICE, MESSENGER_ADDRESS, n, 0, 400_000, 2 * 10**9, 10**9, relay.calldata())
        for n in range(2)
    ]
    native = execute(BlockHeader(272, 2, 1001, 10**9), txs, dest)
    assert [r.status for r in native.receipts] == [1, 0]  # executed once
    run = run_block(guest, native.input_words, max_cycles=400_000_000)
    assert run.stf_status == 0
    assert run.public == native.public


def test_the_image_burns_and_mints_token_messages_like_the_native_stf(guest: image.Image) -> None:
    from atlasdev.engine.airbender.guest import run_block
    from atlasdev.engine.zkos import relay as rl

    send = selector("sendToken(uint256,address,uint256)").to_bytes(4, "big") + encode(
        ["uint256", "address", "uint256"], [272, BOB, 10**18]
    )
    source_tree = _genesis()
    tx = TxInput(ALICE, MESSENGER_ADDRESS, 0, 0, 300_000, 2 * 10**9, 10**9, send)
    source = execute(BlockHeader(271, 1, 1000, 10**9), [tx], source_tree)
    (message,) = source.messages
    leaves = [rl.leaf(271, 1, rl.list_root([message.hash]))]
    relay = rl.Relay(
        271, 1, message.nonce, message.sender, message.to, 0, ALICE + (10**18).to_bytes(32, "big"),
        rl.list_root([message.hash]), 0, [], 0, 1, [],
    )  # fmt: skip
    dest = _genesis()
    imported = execute(
        BlockHeader(272, 1, 1000, 10**9, interop_root=rl.interop_root(leaves)), [], dest
    )
    dest.apply(imported.changed_positions, imported.changed_leaves)
    relayed = TxInput(ALICE, MESSENGER_ADDRESS, 0, 0, 400_000, 2 * 10**9, 10**9, relay.calldata())
    native = execute(BlockHeader(272, 2, 1001, 10**9), [relayed], dest)
    assert native.receipts[0].status == 1
    for block in (source, native):
        run = run_block(guest, block.input_words, max_cycles=400_000_000)
        assert run.stf_status == 0 and run.public == block.public
