"""The node's prover and gateway: an in-process node with `--prover cpu` proves its blocks in
order, stores proofs that verify against the sealed blocks, its gateway verifies them in order,
the dashboard and `atlasdev proof` show both, and `--prover` choices fail with one line."""

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from atlasdev.cli import app
from atlasdev.engine.airbender import block_prover
from atlasdev.engine.monitor import Monitor
from atlasdev.engine.prover_worker import ProverUnavailable, airbender_backend, resolve_backend
from atlasdev.engine.zkos.image import load_image
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base
from tests.conftest import free_port_base


def test_backend_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    from atlasdev.engine.airbender import device, gpu
    from atlasdev.engine.airbender.kernel_backend import KernelBackend
    from atlasdev.engine.airbender.kernels import CudaKernels

    assert resolve_backend("off") is None
    assert resolve_backend("cpu") == "cpu"
    with pytest.raises(ProverUnavailable, match="must be one of"):
        resolve_backend("fast")
    monkeypatch.setattr(device, "probe", lambda: device.Probe(None, "CuPy finds no CUDA device"))
    assert resolve_backend("auto") == "cpu"
    with pytest.raises(ProverUnavailable, match=r"no usable GPU \(CuPy finds no CUDA device\)"):
        resolve_backend("gpu")
    card = device.Gpu("NVIDIA RTX 4070", 8 << 30, "8.9", "12.4", "12.8", "14.2.0", "12.9")
    monkeypatch.setattr(device, "probe", lambda: device.Probe(card, ""))
    assert resolve_backend("gpu") == "gpu"
    assert resolve_backend("auto") == "gpu"

    # what the backend needs of CuPy until the kernels' first launch
    fake = SimpleNamespace(__name__="cupy", RawModule=lambda code, options: object())
    monkeypatch.setattr(gpu, "cupy_module", lambda: fake)
    made = airbender_backend("gpu")
    assert isinstance(made, KernelBackend) and isinstance(made.kernels, CudaKernels)
    assert made.name == "gpu"
    assert airbender_backend("cpu").name == "cpu"
    with pytest.raises(ValueError, match="no prover backend named 'auto'"):
        airbender_backend("auto")  # resolved to cpu or gpu before a backend is made


@pytest.mark.parametrize(
    ("choice", "message"),
    [("gpu", "--prover gpu: no usable GPU (CuPy finds no CUDA device)"), ("fast", "one of")],
)
def test_up_refuses_a_bad_prover_choice_in_one_line(
    choice: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlasdev.engine.airbender import device

    monkeypatch.setattr(device, "probe", lambda: device.Probe(None, "CuPy finds no CUDA device"))
    args = ["up", "--headless", "--prover", choice, "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def proving_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, str]]:
    """A solo node proving its blocks, once blocks 1 and 2 are settled."""
    port = free_port_base(1)
    profile = with_port_base(load_profile("solo"), port)
    # empty blocks, which the prover otherwise records as "empty" (the identity), are proven
    # here: a block with a transaction takes minutes on two cores
    node = Node(
        profile, tmp_path_factory.mktemp("prover-node"), prover="cpu", prove_empty_blocks=True
    )
    node.start()
    try:
        assert node.store is not None
        chain_id = profile.chains[0].chain_id
        while node.store.verified_head(chain_id) < 2:  # pytest-timeout ends a hang
            time.sleep(0.5)
        yield node, f"http://127.0.0.1:{port}"
    finally:
        node.stop()


def test_a_node_proves_its_blocks_in_order(proving_node: tuple[Node, str]) -> None:
    node, _ = proving_node
    assert node.store is not None
    chain_id = next(iter(node.chains))
    program = block_prover.Program.of(load_image())
    for n in (1, 2):
        row, block = node.store.proof(chain_id, n), node.store.block(chain_id, n)
        assert row is not None and block is not None
        assert row.status == "proven", row.error
        assert row.backend == "cpu" and row.cycles > 1000 and row.size == len(row.proof)
        report = [int(w) for w in np.frombuffer(row.report, dtype="<u4")]
        block_prover.verify_block(program, row.proof, report)
        public = block_prover.BlockProof(row.proof, report, row.cycles, 0).public
        assert (public.number, public.post_root) == (block.number, block.state_root)


def test_a_block_too_big_for_the_gpu_is_proven_on_the_cpu(
    proving_node: tuple[Node, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlasdev.engine import prover_worker
    from atlasdev.engine.airbender.cpu import CpuBackend

    class OutOfMemoryError(Exception):
        """Named like cupy.cuda.memory.OutOfMemoryError, which the worker recognises."""

    class TooSmall(CpuBackend):
        released = False

        def commit_values(self, values, log_blowup):  # type: ignore[no-untyped-def]
            raise OutOfMemoryError("Out of memory allocating 4,294,967,296 bytes")

        def release(self) -> None:
            TooSmall.released = True

    node, _ = proving_node
    assert node.store is not None
    chain_id = next(iter(node.chains))
    made = {"gpu": TooSmall(), "cpu": CpuBackend()}
    monkeypatch.setattr(prover_worker, "airbender_backend", lambda name: made[name])
    _lend_a_gpu(monkeypatch, 12 << 30)
    worker = prover_worker.ProverWorker(node.store, [chain_id], backend="gpu")
    row = worker._prove(chain_id, 1)
    stored = node.store.proof(chain_id, 1)
    assert stored is not None and TooSmall.released
    assert row.backend == "cpu" and row.proof == stored.proof  # the same proof, on the CPU
    assert worker.backend == "gpu" and worker.max_log_n == 18  # 2^19 rows on 12 GiB, then less


def test_a_segment_too_big_for_the_memory_is_taken_as_out_of_memory() -> None:
    """block_prover refuses such a segment before proving it: a GPU worker then proves the block
    on the CPU and later ones in smaller segments, as for CuPy's out-of-memory error."""
    from atlasdev.engine import prover_worker
    from atlasdev.engine.airbender.block_prover import SegmentTooBig

    assert prover_worker.out_of_memory(SegmentTooBig("a segment of 2^22 rows needs about 40 GiB"))
    assert not prover_worker.out_of_memory(ValueError("a segment of 2^22 rows"))


def _lend_a_gpu(monkeypatch: pytest.MonkeyPatch, memory: int) -> None:
    from atlasdev.engine.airbender import device

    card = device.Gpu("NVIDIA RTX 4070", memory, "8.9", "12.4", "12.8", "14.2.0", "12.9")
    monkeypatch.setattr(device, "probe", lambda: device.Probe(card, ""))


def test_gpu_segments_are_as_big_as_its_memory_holds(
    proving_node: tuple[Node, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlasdev.engine import prover_worker
    from atlasdev.engine.airbender.cpu import CpuBackend

    node, _ = proving_node
    assert node.store is not None
    chain_id = next(iter(node.chains))
    asked = []
    real = block_prover.prove_block
    here = threading.current_thread()

    def prove_block(program, words, max_log_n, backend):  # type: ignore[no-untyped-def]
        if threading.current_thread() is here:  # not the node's own prover, proving meanwhile
            asked.append(max_log_n)
        return real(program, words, max_log_n=max_log_n, backend=backend)

    monkeypatch.setattr(block_prover, "prove_block", prove_block)
    monkeypatch.setattr(prover_worker, "airbender_backend", lambda name: CpuBackend())
    for memory, log_n in ((80 << 30, 22), (8 << 30, 19)):
        _lend_a_gpu(monkeypatch, memory)
        worker = prover_worker.ProverWorker(node.store, [chain_id], backend="gpu")
        assert worker._prove(chain_id, 1).backend == "gpu"
        assert asked[-1] == log_n


def test_a_gpu_that_fails_is_dropped_for_the_cpu(
    proving_node: tuple[Node, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A GPU proof the CPU verifier rejects is never stored: the block is proven on the CPU and
    so is every later one; so too when the GPU backend cannot even be made."""
    from atlasdev.engine import prover_worker
    from atlasdev.engine.airbender.cpu import CpuBackend

    class Wrong(CpuBackend):
        """A backend whose row openings are off by one: the prover does not notice, the
        verifier does."""

        def open(self, matrix, positions):  # type: ignore[no-untyped-def]
            return [
                dataclasses.replace(opening, values=[v + 1 for v in opening.values])
                for opening in super().open(matrix, positions)
            ]

    def no_kernels() -> CpuBackend:
        raise RuntimeError("NVRTC_ERROR_COMPILATION")

    class NoProgram(CpuBackend):
        """kernels.cu builds, the AIR's programs do not."""

        def warm_up(self, air=None, logup=None) -> None:  # type: ignore[no-untyped-def]
            assert air is not None and logup is not None  # the zkOS AIR's
            raise RuntimeError("NVRTC_ERROR_COMPILATION: quotient_program")

    node, _ = proving_node
    assert node.store is not None
    chain_id = next(iter(node.chains))
    stored = node.store.proof(chain_id, 1)
    assert stored is not None
    _lend_a_gpu(monkeypatch, 8 << 30)  # segments of 2^18 rows, as on the CPU
    cases = ((Wrong, "InvalidProof"), (no_kernels, "RuntimeError: NVRTC"))
    for make, reason in (*cases, (NoProgram, "RuntimeError: NVRTC_ERROR_COMPILATION: q")):
        made = {"gpu": make, "cpu": CpuBackend}
        monkeypatch.setattr(prover_worker, "airbender_backend", lambda name: made[name]())  # noqa: B023
        worker = prover_worker.ProverWorker(node.store, [chain_id], backend="gpu")
        caplog.clear()
        row = worker._prove(chain_id, 1)
        assert row.backend == "cpu" and row.proof == stored.proof
        assert worker.backend == "cpu"  # and every later block
        assert f"the GPU backend failed ({reason}" in caplog.text


def test_a_block_that_cannot_be_proven_keeps_the_gpu(
    proving_node: tuple[Node, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its run faults or outlasts a proof: it would fail on the CPU too, so the GPU stays."""
    from atlasdev.engine import prover_worker
    from atlasdev.engine.airbender.cpu import CpuBackend

    def unprovable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise block_prover.BlockProofError("the block's run is longer than 4,000 cycles")

    node, _ = proving_node
    assert node.store is not None
    chain_id = next(iter(node.chains))
    _lend_a_gpu(monkeypatch, 8 << 30)
    monkeypatch.setattr(prover_worker, "airbender_backend", lambda name: CpuBackend())
    monkeypatch.setattr(block_prover, "prove_block", unprovable)
    worker = prover_worker.ProverWorker(node.store, [chain_id], backend="gpu")
    with pytest.raises(block_prover.BlockProofError, match="longer than 4,000 cycles"):
        worker._prove(chain_id, 1)
    assert worker.backend == "gpu"


def test_the_gateway_verifies_the_proofs_in_order(proving_node: tuple[Node, str]) -> None:
    node, _ = proving_node
    assert node.store is not None
    chain_id = next(iter(node.chains))
    for n in (1, 2):
        verdict, block = node.store.verification(chain_id, n), node.store.block(chain_id, n)
        assert verdict is not None and block is not None
        assert verdict.status == "verified", verdict.reason
        assert (verdict.post_root, verdict.message_root) == (block.state_root, block.message_root)


def test_the_dashboard_sees_the_prover(proving_node: tuple[Node, str]) -> None:
    node, _ = proving_node
    chain_id = next(iter(node.chains))
    monitor = Monitor(node)
    try:
        summary = monitor.chains()[0]
        pipeline = monitor.proofs()
        statuses = {b.number: b.proof_status for b in monitor.recent_blocks(chain_id, 10_000)}
        gateway = monitor.gateway()
    finally:
        monitor.close()
    assert summary.prover_backend == "cpu" and summary.proof_queue is not None
    assert summary.verified_height is not None and summary.verified_height >= 2
    assert gateway is not None and gateway.verified_proofs >= 2
    assert pipeline is not None and pipeline.backend == "cpu"
    assert {(j.block_number, j.stage) for j in pipeline.jobs} >= {(1, "verified"), (2, "verified")}
    assert all(j.verify_ms is not None for j in pipeline.jobs if j.stage == "verified")
    assert statuses[1] == statuses[2] == "proven"


def test_proof_show_export_and_verify(proving_node: tuple[Node, str], tmp_path: Path) -> None:
    _, rpc = proving_node
    runner = CliRunner()
    shown = runner.invoke(app, ["proof", "show", "--block", "1", "--rpc", rpc, "--json"])
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.output)
    assert info["status"] == "proven" and info["backend"] == "cpu" and info["cycles"] > 1000
    assert info["gateway"] == "verified"
    path = tmp_path / "p.json"
    exported = runner.invoke(
        app, ["proof", "export", "--block", "1", "-o", str(path), "--rpc", rpc]
    )
    assert exported.exit_code == 0, exported.output
    checked = runner.invoke(app, ["proof", "verify", str(path), "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["number"] == 1
    fetched = runner.invoke(app, ["proof", "verify", "--block", "2", "--rpc", rpc])
    assert fetched.exit_code == 0 and "valid proof" in fetched.output

    data = json.loads(path.read_text())
    report = bytearray(bytes.fromhex(data["report"][2:]))
    report[8] ^= 1  # the block number in the report
    path.write_text(json.dumps({**data, "report": "0x" + report.hex()}))
    bad = runner.invoke(app, ["proof", "verify", str(path)])
    assert bad.exit_code != 0 and "invalid proof" in bad.output and "Traceback" not in bad.output
    path.write_text("{not json")
    bad = runner.invoke(app, ["proof", "verify", str(path)])
    assert bad.exit_code != 0 and "not JSON" in bad.output
    later = runner.invoke(app, ["proof", "show", "--block", "999999", "--rpc", rpc])
    assert later.exit_code != 0 and "not found" in later.output


def test_empty_blocks_are_recorded_and_verified_as_the_identity(tmp_path: Path) -> None:
    """Without prove_empty_blocks a block with no transaction and no import is not proven:
    its record says "empty" and the gateway verifies it by rule (post-state = pre-state)."""
    profile = with_port_base(load_profile("solo"), free_port_base(1))
    node = Node(profile, tmp_path, prover="cpu")
    node.start()
    try:
        assert node.store is not None
        chain_id = profile.chains[0].chain_id
        while node.store.verified_head(chain_id) < 4:  # pytest-timeout ends a hang
            time.sleep(0.05)
        genesis = node.store.block(chain_id, 0)
        assert genesis is not None
        for n in range(1, 5):
            row, verdict = node.store.proof(chain_id, n), node.store.verification(chain_id, n)
            assert row is not None and row.status == "empty" and row.proof == b""
            assert verdict is not None and verdict.status == "verified"
            assert verdict.post_root == genesis.state_root  # nothing happened
    finally:
        node.stop()


def test_the_prover_gives_its_kept_memory_back_once_it_goes_idle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from atlasdev.engine.airbender import heap
    from atlasdev.engine.prover_worker import ProverWorker

    given_back = threading.Event()
    monkeypatch.setattr(heap, "give_back", given_back.set)
    work = iter([True, True, False])  # two rounds with a block to prove, then none
    worker = ProverWorker(SimpleNamespace(), [1])  # type: ignore[arg-type]
    worker.idle_s, worker.idle_after_s = 0.01, 0.3
    last_work = 0.0

    def step(chain_id: int) -> bool:
        nonlocal last_work
        worked = next(work, False)
        last_work = time.monotonic() if worked else last_work
        return worked

    worker.step = step  # type: ignore[method-assign]
    calls: list[float] = []
    went_idle = worker.went_idle
    worker.went_idle = lambda: (calls.append(time.monotonic() - last_work), went_idle())  # type: ignore[method-assign]
    worker.start()
    assert given_back.wait(30)
    time.sleep(0.5)  # more idle rounds: nothing more to give back
    worker.stop()
    assert len(calls) == 1 and calls[0] >= 0.3  # once, and only after idle_after_s
