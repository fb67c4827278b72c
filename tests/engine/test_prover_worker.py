"""The node's prover: an in-process node with `--prover cpu` proves its blocks in order, stores
proofs that verify against the sealed blocks, and `--prover` choices fail with one line."""

import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from atlasdev.cli import app
from atlasdev.engine.airbender import block_prover
from atlasdev.engine.monitor import Monitor
from atlasdev.engine.prover_worker import ProverUnavailable, resolve_backend
from atlasdev.engine.zkos.image import load_image
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base
from tests.conftest import free_port_base


def test_backend_choices() -> None:
    assert resolve_backend("off") is None
    assert resolve_backend("cpu") == "cpu"
    assert resolve_backend("auto") == "cpu"  # no GPU backend yet
    with pytest.raises(ProverUnavailable, match="not implemented yet"):
        resolve_backend("gpu")
    with pytest.raises(ProverUnavailable, match="must be one of"):
        resolve_backend("fast")


@pytest.mark.parametrize(("choice", "message"), [("gpu", "not implemented"), ("fast", "one of")])
def test_up_refuses_a_bad_prover_choice_in_one_line(
    choice: str, message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["up", "--headless", "--prover", choice, "--data-dir", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_node_proves_its_blocks_in_order(tmp_path: Path) -> None:
    profile = with_port_base(load_profile("solo"), free_port_base(1))
    node = Node(profile, tmp_path, prover="cpu")
    node.start()
    try:
        assert node.store is not None and node.prover is not None
        chain_id = profile.chains[0].chain_id
        deadline = (
            time.monotonic() + 600
        )  # a generous bound on a cold numba cache, not a timing test
        while node.store.last_settled_proof(chain_id) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        rows = [node.store.proof(chain_id, n) for n in (1, 2)]
        blocks = [node.store.block(chain_id, n) for n in (1, 2)]
        monitor = Monitor(node)
        summary = monitor.chains()[0]
        pipeline = monitor.proofs()
        statuses = {b.number: b.proof_status for b in monitor.recent_blocks(chain_id, 500)}
        monitor.close()
    finally:
        node.stop()
    # what the dashboard shows: the backend, a queue, the jobs, each block's status
    assert summary.prover_backend == "cpu" and summary.proof_queue is not None
    assert pipeline is not None and pipeline.backend == "cpu"
    assert {(j.block_number, j.stage) for j in pipeline.jobs} >= {(1, "proven"), (2, "proven")}
    assert statuses[1] == statuses[2] == "proven"
    program = block_prover.Program.of(load_image())
    for row, block in zip(rows, blocks, strict=True):
        assert row is not None and block is not None
        assert row.status == "proven", row.error
        assert row.backend == "cpu" and row.cycles > 1000 and row.size == len(row.proof)
        report = [int(w) for w in np.frombuffer(row.report, dtype="<u4")]
        block_prover.verify_block(program, row.proof, report, row.trace_rows.bit_length() - 1)
        public = block_prover.BlockProof(row.proof, report, row.cycles, 0).public
        assert (public.number, public.post_root) == (block.number, block.state_root)
