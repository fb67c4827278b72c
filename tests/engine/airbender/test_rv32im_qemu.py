"""The emulator against an independent reference: the same ELF under qemu-riscv32 and under the
emulator must print the same bytes and exit with the same code.

Programs are built by Debian's riscv64-unknown-elf-gcc (-march=rv32im -mabi=ilp32, static, no
libc). Each ends by writing its final registers and a memory region to stdout, so "same output"
means same architectural state. Skipped when the toolchain or QEMU is missing.
"""

import random
from pathlib import Path

import pytest

from atlasdev.engine.airbender import isa
from atlasdev.engine.airbender.elf import load_elf
from tests.engine.airbender.rv_toolchain import build, needs_qemu, run_qemu

pytestmark = needs_qemu

M = 0xFFFFFFFF
EDGE = [
    0,
    1,
    2,
    M,
    M - 1,
    0x80000000,
    0x7FFFFFFF,
    0x80000001,
    31,
    32,
    33,
    63,
    0x7F,
    0x80,
    0xFF,
    0x7FFF,
    0x8000,
    0xFFFF,
    0xFFFF8000,
]
IMM_EDGE = [0, 1, -1, 2047, -2048, 31, 32, -32]
SCRATCH = 256  # bytes; x31 points at its middle, so offsets are -128..127
FREE = list(range(1, 30))  # x30 is the jalr base, x31 the scratch base


def _value(rng: random.Random) -> int:
    return rng.choice(EDGE) if rng.random() < 0.7 else rng.getrandbits(32)


def _reg(rng: random.Random, src: bool = False) -> str:
    if src and rng.random() < 0.05:
        return "x0"
    if not src and rng.random() < 0.03:
        return "x0"  # writes to x0 are discarded
    return f"x{rng.choice(FREE)}"


def random_program(seed: int, n: int = 200) -> str:
    """An assembly program of n random RV32IM instructions with edge-case operands.

    Control flow only goes forward (branches, JAL, JALR to a later label), so it terminates.
    """
    rng = random.Random(seed)
    lines = [".option norelax", ".text", ".globl _start", "_start:"]
    lines.append(f"la x31, scratch+{SCRATCH // 2}")  # no gp: keep la as auipc + addi
    lines += [f"li x{r}, {_value(rng)}" for r in range(1, 31)]
    labels: dict[int, list[str]] = {}
    n_labels = 0

    def forward_label(i: int) -> str:
        nonlocal n_labels
        n_labels += 1
        name = f"L{n_labels}"
        labels.setdefault(min(n, i + rng.randint(1, 6)), []).append(name)
        return name

    kinds = ["r", "r", "r", "i", "shift", "u", "load", "store", "branch", "jal", "jalr", "li"]
    for i in range(n):
        lines += [f"{lab}:" for lab in labels.pop(i, [])]
        kind = rng.choice(kinds)
        if kind == "r":
            mn = rng.choice(isa.R_MNEMONICS)
            lines.append(f"{mn} {_reg(rng)}, {_reg(rng, True)}, {_reg(rng, True)}")
        elif kind == "i":
            mn = rng.choice(isa.I_ALU_MNEMONICS)
            imm = rng.choice(IMM_EDGE) if rng.random() < 0.5 else rng.randint(-2048, 2047)
            lines.append(f"{mn} {_reg(rng)}, {_reg(rng, True)}, {imm}")
        elif kind == "shift":
            mn = rng.choice(isa.SHIFT_IMM_MNEMONICS)
            lines.append(
                f"{mn} {_reg(rng)}, {_reg(rng, True)}, {rng.choice([0, 1, 31, rng.randint(0, 31)])}"
            )
        elif kind == "u":
            mn = rng.choice(["lui", "auipc"])
            lines.append(
                f"{mn} {_reg(rng)}, {rng.choice([0, 0xFFFFF, 0x80000, rng.getrandbits(20)])}"
            )
        elif kind in ("load", "store"):
            table = isa.LOAD_MNEMONICS if kind == "load" else isa.STORE_MNEMONICS
            mn = rng.choice(table)
            width = {"b": 1, "h": 2, "w": 4}[mn[1]]
            off = rng.randrange(-SCRATCH // 2, SCRATCH // 2 - width + 1, width)
            reg = _reg(rng) if kind == "load" else _reg(rng, True)
            lines.append(f"{mn} {reg}, {off}(x31)")
        elif kind == "branch":
            mn = rng.choice(isa.BRANCH_MNEMONICS)
            lines.append(f"{mn} {_reg(rng, True)}, {_reg(rng, True)}, {forward_label(i)}")
        elif kind == "jal":
            lines.append(f"jal {_reg(rng)}, {forward_label(i)}")
        elif kind == "jalr":
            # the +1 is cleared by JALR: target bit 0 is ignored
            bias = rng.choice([0, 1])
            lines += [f"la x30, {forward_label(i)}-{bias}", f"jalr {_reg(rng)}, {bias}(x30)"]
        else:
            lines.append(f"li {_reg(rng)}, {_value(rng)}")
    for i in sorted(labels):
        lines += [f"{lab}:" for lab in labels[i]]
    # dump x1..x30 after the scratch buffer, write buffer + dump, exit with x5's low byte
    dump = SCRATCH // 2
    lines += [f"sw x{r}, {dump + 4 * r}(x31)" for r in range(1, 31)]
    lines += [
        "li a0, 1",
        f"addi a1, x31, -{SCRATCH // 2}",
        f"li a2, {SCRATCH + 128}",
        "li a7, 64",
        "ecall",
        f"lw a0, {dump + 4 * 5}(x31)",
        "li a7, 93",
        "ecall",
        ".data",
        ".balign 4",
        "scratch:",
        ".byte " + ", ".join(str(rng.getrandbits(8)) for _ in range(SCRATCH)),
        "dump:",
        ".space 128",
    ]
    return "\n".join(lines) + "\n"


def check_same(exe: Path) -> tuple[bytes, int]:
    want_out, want_rc = run_qemu(exe)
    res = load_elf(exe).run(max_cycles=50_000_000)
    assert res.exit_code == want_rc
    assert res.output == want_out
    return res.output, res.cycles


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rv32im")


@pytest.mark.parametrize("seed", range(20))
def test_random_instruction_sequences(build_dir: Path, seed: int) -> None:
    exe = build(random_program(seed), build_dir, f"random{seed}", lang="asm")
    out, cycles = check_same(exe)
    assert len(out) == SCRATCH + 128
    assert cycles > 200


def test_random_programs_cover_every_opcode() -> None:
    text = "".join(random_program(seed) for seed in range(20))
    words = {line.split()[0] for line in text.splitlines() if line and not line.endswith(":")}
    every = {
        *isa.R_MNEMONICS,
        *isa.I_ALU_MNEMONICS,
        *isa.SHIFT_IMM_MNEMONICS,
        *isa.LOAD_MNEMONICS,
        *isa.STORE_MNEMONICS,
        *isa.BRANCH_MNEMONICS,
        "lui",
        "auipc",
        "jal",
        "jalr",
        "ecall",
    }
    assert every <= words, every - words


# C programs: freestanding, each prints a binary result block and returns an exit code.
C_PROGRAMS = {
    "arith": r"""
static volatile u32 V[] = {0, 1, 2, 3, 7, 31, 32, 33, 0x7f, 0x80, 0xff, 0x7fff, 0x8000,
    0xffff, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0x9abcdef0};
#define N (sizeof(V) / sizeof(V[0]))
static u32 out[N * N * 12];

int main(void) {
    u32 k = 0;
    for (u32 i = 0; i < N; i++) for (u32 j = 0; j < N; j++) {
        u32 a = V[i], b = V[j];
        i32 sa = (i32)a, sb = (i32)b;
        out[k++] = a * b;
        out[k++] = (u32)(((i64)sa * (i64)sb) >> 32);
        out[k++] = (u32)(((u64)a * (u64)b) >> 32);
        out[k++] = (u32)(((i64)sa * (i64)(u64)b) >> 32);
        out[k++] = b ? a / b : 0xffffffffu;
        out[k++] = b ? a % b : a;
        out[k++] = (b && !(sa == (i32)0x80000000 && sb == -1)) ? (u32)(sa / sb) : 0;
        out[k++] = (b && !(sa == (i32)0x80000000 && sb == -1)) ? (u32)(sa % sb) : 0;
        out[k++] = (a << (b & 31)) ^ (a >> (b & 31));
        out[k++] = (u32)(sa >> (b & 31));
        out[k++] = (u32)((u64)a * b / ((u64)b + 3));  /* libgcc 64-bit division */
        out[k++] = (u32)((i64)sa * 1000003 % ((i64)sb | 1));
    }
    sys_write(1, out, sizeof(out));
    return (int)(out[77] & 0x7f);
}
""",
    "sort_crc": r"""
static u32 a[700];
static unsigned char bytes[301];

static u32 crc32(const unsigned char *p, u32 n) {
    u32 c = 0xffffffffu;
    while (n--) { c ^= *p++; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1)); }
    return ~c;
}

static void quicksort(u32 *v, int lo, int hi) {
    while (lo < hi) {
        u32 p = v[(lo + hi) / 2]; int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) { u32 t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quicksort(v, lo, j); lo = i; } else { quicksort(v, i, hi); hi = j; }
    }
}

int main(void) {
    u32 x = 12345;
    for (int i = 0; i < 700; i++) { x = x * 1103515245u + 12345u; a[i] = x ^ (x >> 7); }
    for (int i = 0; i < 301; i++) bytes[i] = (unsigned char)(a[i] >> 3);
    quicksort(a, 0, 699);
    u32 r[3] = {crc32((unsigned char *)a, sizeof(a)), crc32(bytes, 301), crc32(bytes + 1, 299)};
    sys_write(1, a, sizeof(a));
    sys_write(1, r, sizeof(r));
    return (int)(r[0] % 200);
}
""",
    "sieve_recursion": r"""
static unsigned char composite[20000];

static u32 ackermann(u32 m, u32 n) {
    if (m == 0) return n + 1;
    if (n == 0) return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static u32 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void) {
    u32 count = 0, sum = 0;
    for (u32 i = 2; i < 20000; i++) {
        if (composite[i]) continue;
        count++; sum += i;
        for (u32 j = i * i; j < 20000; j += i) composite[j] = 1;
    }
    u32 r[4] = {count, sum, ackermann(2, 3), fib(18)};
    sys_write(1, r, sizeof(r));
    return (int)count & 0xff;
}
""",
    "bytes_switch": r"""
static volatile signed char sc[8] = {-128, -1, 0, 1, 127, -2, 64, -65};
static volatile short ss[8] = {-32768, -1, 0, 1, 32767, -2, 256, -257};
static volatile unsigned short us[8] = {0x8000, 0xffff, 0, 1, 0x7fff, 0xfffe, 0x100, 0xfeff};
static char text[64];

static u32 op(u32 k, u32 v) {
    switch (k % 9) {  /* a jump table through .rodata */
    case 0: return v + 1; case 1: return v * 3; case 2: return v ^ 0x5555;
    case 3: return v >> 3; case 4: return (u32)((i32)v >> 3); case 5: return ~v;
    case 6: return v - 100; case 7: return v << 5; default: return v | 0x80000000u;
    }
}

int main(void) {
    i32 s = 0; u32 u = 0, h = 0;
    for (int i = 0; i < 8; i++) { s += sc[i] * 3 + ss[i]; u += us[i] + (unsigned char)sc[i]; }
    for (u32 k = 0; k < 1000; k++) h = op(k, h + k);
    const char *msg = "rv32im says hello";
    int n = 0;
    while (msg[n]) { text[n] = msg[n]; n++; }
    for (int i = 0; i < 8; i++) text[n++] = "0123456789abcdef"[(h >> (28 - 4 * i)) & 15];
    text[n++] = '\n';
    sys_write(1, text, n);
    u32 r[3] = {(u32)s, u, h};
    sys_write(1, r, sizeof(r));
    return 3;
}
""",
}


@pytest.mark.parametrize("name", sorted(C_PROGRAMS))
def test_c_programs(build_dir: Path, name: str) -> None:
    exe = build(C_PROGRAMS[name], build_dir, name)
    out, _ = check_same(exe)
    assert out


def test_exit_code_is_low_byte(build_dir: Path) -> None:
    src = ".globl _start\n_start:\nli a0, 0x1234\nli a7, 93\necall\n"
    out, _ = check_same(build(src, build_dir, "exit", lang="asm"))
    assert out == b""
