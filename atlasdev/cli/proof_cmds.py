"""`atlasdev proof`: a block's proof as the node's prover recorded it — show, export, verify.

`show` and `export` ask the running node (atlasdev_getProof); `verify` checks a proof here, with
the verifier and the zkOS image of this installation, either from a file written by `export` or
fetched from the node. A proof file is JSON: chain id, block number, trace rows, the report
words the proof makes public, and the proof bytes (hex).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ._app import DEFAULT_RPC, ChainOpt, CliError, JsonOpt, RpcOpt, connect, emit

__all__ = ["proof_app"]

proof_app = typer.Typer(
    name="proof",
    help="Block proofs from the node's prover: show, export to a file, verify.",
    no_args_is_help=True,
)

BlockOpt = Annotated[int, typer.Option("--block", min=1, help="Block number.")]


def _fetch(rpc: str, chain: str | None, block: int, with_bytes: bool) -> dict[str, Any]:
    target = connect(rpc, chain)
    found = target.client.call("atlasdev_getProof", hex(block), with_bytes)
    if found is None:
        raise CliError(f"{target.label} has no block {block}")
    return found


def _lines(p: dict[str, Any]) -> list[str]:
    lines = [f"chain {p['chainId']} block {p['number']}: {p['status']}"]
    if p.get("status") == "proven":
        lines += [
            f"  backend     {p['backend']}",
            f"  cycles      {p['cycles']:,}",
            f"  trace rows  {p['traceRows']:,}",
            f"  prove time  {p['proveMs'] / 1000:.1f} s",
            f"  size        {p['size']:,} bytes",
            f"  gateway     {p.get('gateway', 'not verified yet')}",
        ]
    if p.get("gatewayReason"):
        lines.append(f"  rejected    {p['gatewayReason']}")
    if p.get("error"):
        lines.append(f"  error       {p['error']}")
    return lines


@proof_app.command("show")
def show(
    block: BlockOpt, chain: ChainOpt = None, rpc: RpcOpt = DEFAULT_RPC, json_out: JsonOpt = False
) -> None:
    """Show a block's proof status, backend, cycles, trace rows, time and size.

    Example: atlasdev proof show --chain alpha --block 12
    """
    found = _fetch(rpc, chain, block, False)
    emit(json_out, found, _lines(found))


@proof_app.command("export")
def export(
    block: BlockOpt,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="File to write (default proof-CHAIN-BLOCK.json)."),
    ] = None,
    chain: ChainOpt = None,
    rpc: RpcOpt = DEFAULT_RPC,
    json_out: JsonOpt = False,
) -> None:
    """Write a proven block's proof to a JSON file that `atlasdev proof verify` reads.

    Example: atlasdev proof export --chain alpha --block 12 -o block12.proof.json
    """
    found = _fetch(rpc, chain, block, True)
    if found["status"] != "proven":
        raise CliError(f"block {block} is not proven (status: {found['status']})")
    path = out if out is not None else Path(f"proof-{found['chainId']}-{block}.json")
    path.write_text(json.dumps(_file(found), indent=1) + "\n")
    emit(json_out, {"file": str(path), "size": found["size"]}, f"wrote {path}")


def _file(found: dict[str, Any]) -> dict[str, Any]:
    keys = ("chainId", "number", "traceRows", "cycles", "backend", "report", "proof")
    return {"format": "atlasdev-block-proof/1", **{k: found[k] for k in keys}}


@proof_app.command("verify")
def verify(
    file: Annotated[
        Path | None, typer.Argument(help="A proof file written by `proof export`.")
    ] = None,
    block: Annotated[
        int | None, typer.Option("--block", min=1, help="Fetch this block's proof from the node.")
    ] = None,
    chain: ChainOpt = None,
    rpc: RpcOpt = DEFAULT_RPC,
    json_out: JsonOpt = False,
) -> None:
    """Verify a block proof here (independent verifier, this installation's zkOS image) and print
    what it proves. Exits non-zero with the reason if it does not verify.

    Example: atlasdev proof verify proof-271-12.json
    """
    if (file is None) == (block is None):
        raise CliError("give either a proof FILE or --block N (with --chain)")
    if file is not None:
        data = _read_file(file)
    else:
        assert block is not None
        found = _fetch(rpc, chain, block, True)
        if found["status"] != "proven":
            raise CliError(f"block {block} is not proven (status: {found['status']})")
        data = _file(found)
    public = _verify(data)
    result = {"valid": True, "chainId": public.chain_id, "number": public.number,
              "preRoot": "0x" + public.pre_root.hex(), "postRoot": "0x" + public.post_root.hex(),
              "txCommitment": "0x" + public.tx_commitment.hex(),
              "messageRoot": "0x" + public.message_root.hex(),
              "interopRoot": "0x" + public.interop_root.hex()}  # fmt: skip
    lines = [f"valid proof of chain {public.chain_id} block {public.number}"]
    lines += [
        f"  {k:<13} {v}" for k, v in result.items() if k.endswith("Root") or k == "txCommitment"
    ]
    emit(json_out, result, lines)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CliError(f"{path} is not a proof file (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != "atlasdev-block-proof/1":
        raise CliError(f"{path} is not an atlasdev block proof file")
    return data


def _verify(data: dict[str, Any]) -> Any:
    import numpy as np

    from ..engine.airbender import block_prover
    from ..engine.airbender.proof import MalformedProof
    from ..engine.airbender.verifier import InvalidProof

    try:
        proof = bytes.fromhex(str(data["proof"]).removeprefix("0x"))
        report_bytes = bytes.fromhex(str(data["report"]).removeprefix("0x"))
    except (KeyError, ValueError, TypeError):
        raise CliError("the proof file lacks a field or has a malformed one") from None
    if len(report_bytes) % 4:
        raise CliError("the proof file's report is malformed")
    report = [int(w) for w in np.frombuffer(report_bytes, dtype="<u4")]
    program = block_prover.installed_program()
    try:
        block_prover.verify_block(program, proof, report)
    except (InvalidProof, MalformedProof) as e:
        raise CliError(f"invalid proof: {e}") from None
    except ValueError as e:
        raise CliError(f"invalid proof: {e}") from None
    if report[0] != 0 or report[1] != 0:
        raise CliError(
            f"the proof is valid but the block failed in the guest (status {report[:2]})"
        )
    return block_prover.BlockProof(proof, report, 0, 0).public
