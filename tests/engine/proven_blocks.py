"""Proofs of empty zkOS blocks, made once per test process and shared by the modules that need
real block proofs (each costs about 12 s on two cores)."""

from functools import cache

from atlasdev.engine.airbender import block_prover
from atlasdev.engine.zkos.block import BlockHeader, BlockResult, execute
from atlasdev.engine.zkos.image import load_image
from atlasdev.engine.zkos.tree import StateTree

CHAIN_ID = 271


@cache
def program() -> block_prover.Program:
    return block_prover.Program.of(load_image())


@cache
def empty_block(number: int = 1) -> tuple[block_prover.BlockProof, BlockResult]:
    """Block ``number`` of a chain whose state is the empty tree: its proof and native run."""
    native = execute(BlockHeader(CHAIN_ID, number, 1000, 10**9), [], StateTree())
    return block_prover.prove_block(program(), native.input_words), native
