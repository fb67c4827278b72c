"""`atlasdev zkos`: the STF's RISC-V target — build the program image, re-execute sealed blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import CliError, JsonOpt, emit
from .node_cmds import DataDirOpt, ProfileOpt, default_data_dir

__all__ = ["zkos_app"]

zkos_app = typer.Typer(
    name="zkos",
    help="zkOS on RISC-V: build the program image, re-execute a sealed block on the emulator.",
    no_args_is_help=True,
)


@zkos_app.command("build")
def build(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Build even if the cached image is current.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Build (or load from the cache) the RV32IM program image of the STF; print its image ID.

    Example: atlasdev zkos build --json
    """
    from ..engine.zkos.image import cache_path, load_image

    typer.echo("building the zkOS image (a fresh compile takes about a minute)...", err=True)
    img = load_image(rebuild=rebuild)
    data = {
        "imageId": "0x" + img.image_id.hex(),
        "entry": img.entry,
        "size": img.size,
        "segments": [{"name": s.name, "address": s.address, "size": s.size} for s in img.segments],
        "cache": str(cache_path()),
    }
    lines = [
        f"image ID  0x{img.image_id.hex()}",
        f"entry     {img.entry:#010x}",
        f"size      {img.size:,} bytes",
    ]
    lines += [f"  {s.name:<7} {s.address:#010x}  {s.size:>9,} bytes" for s in img.segments]
    lines.append(f"cached in {cache_path()}")
    emit(json_out, data, lines)


@zkos_app.command("run")
def run(
    chain: Annotated[str, typer.Option("--chain", help="Chain name or id.")],
    block: Annotated[int, typer.Option("--block", min=1, help="Sealed block number.")],
    profile: ProfileOpt = "default",
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-execute a sealed block on RISC-V (the emulator); compare with what was sealed.

    Example: atlasdev zkos run --chain alpha --block 12
    """
    from ..engine.airbender.guest import run_block
    from ..engine.replay import ReplayError, replay_block
    from ..engine.store import DB_NAME, Store
    from ..engine.zkos.image import load_image
    from ..profiles import load_profile

    prof = load_profile(profile)
    found = next((c for c in prof.all_chains if chain in (c.name, str(c.chain_id))), None)
    if found is None:
        names = ", ".join(c.name for c in prof.all_chains)
        raise CliError(f"no chain '{chain}' in profile {prof.name}: choose one of {names}")
    directory = Path(data_dir) if data_dir is not None else default_data_dir(prof.name)
    if not (directory / DB_NAME).is_file():
        raise CliError(f"no network data in {directory}: run `atlasdev up` first")
    store = Store(directory)
    try:
        replay = replay_block(store, found.chain_id, block)
    except ReplayError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    img = load_image()
    guest = run_block(img, replay.result.input_words)
    same = guest.public == replay.result.public
    sealed = replay.matches_sealed and guest.public.post_root == replay.block.state_root
    data = {
        "chain": found.name,
        "block": block,
        "imageId": "0x" + img.image_id.hex(),
        "cycles": guest.cycles,
        "stfStatus": guest.stf_status,
        "equalsNative": same,
        "equalsSealed": sealed,
        "postStateRoot": "0x" + guest.public.post_root.hex(),
    }
    emit(
        json_out,
        data,
        [
            f"{found.name} block {block}: {guest.cycles:,} RISC-V cycles",
            f"public values equal the native STF's: {'yes' if same else 'NO'}",
            f"post-state root equals the sealed block's: {'yes' if sealed else 'NO'}",
        ],
    )
    if not (same and sealed):
        raise typer.Exit(1)
