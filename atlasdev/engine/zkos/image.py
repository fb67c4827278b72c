"""The zkOS program image: the linked RV32IM guest, its memory map, and its image ID.

The image ID (Blake2s-256 over the memory map and every loaded segment) names the STF version a
proof is for. Building the image takes a fresh numba compile (about a minute), so the image is
cached in the user cache dir, keyed by the zkOS sources and the numba and llvmlite versions; a
rebuild from the same inputs gives the same bytes.
"""

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class MemoryMap:
    """Fixed guest addresses (bytes). Regions do not overlap; everything fits below `end`."""

    text_base: int = 0x0001_0000
    stack_top: int = 0x0080_0000  # the stack grows down from here, above code and data
    input_base: int = 0x0080_0000
    input_size: int = 0x0100_0000  # 16 MiB
    work_base: int = 0x0180_0000
    work_size: int = 0x0200_0000  # 32 MiB
    output_base: int = 0x0380_0000
    output_size: int = 0x0080_0000  # 8 MiB
    end: int = 0x0400_0000  # 64 MiB address space


MEMORY = MemoryMap()


@dataclass(frozen=True)
class Segment:
    name: str
    address: int
    data: bytes  # loaded bytes; bss is zeros up to `size`
    size: int


@dataclass(frozen=True)
class Image:
    entry: int
    segments: tuple[Segment, ...]
    memory: MemoryMap = MEMORY
    # (address, size, name) of each function, for cycle profiles; not part of the image ID
    symbols: tuple[tuple[int, int, str], ...] = ()

    def symbol_at(self, address: int) -> str:
        for start, size, name in self.symbols:
            if start <= address < start + max(size, 1):
                return name
        return "?"

    @property
    def image_id(self) -> bytes:
        h = hashlib.blake2s()
        m = self.memory
        h.update(
            struct.pack(
                "<10I",
                self.entry,
                m.text_base,
                m.stack_top,
                m.input_base,
                m.input_size,
                m.work_base,
                m.work_size,
                m.output_base,
                m.output_size,
                m.end,
            )
        )
        for seg in self.segments:
            h.update(struct.pack("<III", seg.address, seg.size, len(seg.data)))
            h.update(seg.data)
        return h.digest()

    @property
    def size(self) -> int:
        return sum(s.size for s in self.segments)

    def to_json(self) -> str:
        return json.dumps(
            {
                "entry": self.entry,
                "segments": [
                    {"name": s.name, "address": s.address, "size": s.size, "data": s.data.hex()}
                    for s in self.segments
                ],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "Image":
        raw = json.loads(text)
        return cls(
            raw["entry"],
            tuple(
                Segment(s["name"], s["address"], bytes.fromhex(s["data"]), s["size"])
                for s in raw["segments"]
            ),
        )


def source_key() -> str:
    """What the image depends on: the zkOS sources and the compiler versions."""
    import llvmlite
    import numba

    h = hashlib.blake2s(f"{numba.__version__}/{llvmlite.__version__}".encode())
    for src in sorted(Path(__file__).parent.glob("*.py")):
        h.update(src.name.encode() + src.read_bytes())
    return h.hexdigest()


def cache_path() -> Path:
    return Path(platformdirs.user_cache_dir("atlasdev")) / "zkos" / f"image-{source_key()}.json"


def build_image() -> Image:
    """Build the guest image from the STF's IR (slow: a fresh numba compile)."""
    from .linker import link
    from .riscv import compile_object, dump_stf_ir, guest_ir

    return link(compile_object(guest_ir(dump_stf_ir())), MEMORY)


def load_image(rebuild: bool = False) -> Image:
    """The cached image for these sources, building it first if needed."""
    path = cache_path()
    if not rebuild and path.is_file():
        return Image.from_json(path.read_text())
    img = build_image()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(img.to_json())
    tmp.replace(path)
    return img
