/* The GPU backend's hot loops (issue 8) in CUDA C, compiled two ways from this one file:
 * by NVRTC through cupy.RawModule on an NVIDIA GPU, and by the host C++ compiler into a
 * shared library (kernels.py's HostKernels), so every kernel also runs, and is tested, on a CPU.
 *
 * Every kernel is a grid-stride loop over independent items. On the GPU, thread FIRST takes
 * items FIRST, FIRST + STRIDE, ...; on the host a launch runs the threads one after another,
 * FIRST and STRIDE set by host_threads before each (kernels.py's HostKernels: one thread taking
 * every item in order, or several, the last first, which changes the values wherever an item
 * reads what another item of the same launch writes). No kernel uses atomics, and only the NTT's
 * tile passes use shared memory and barriers, written so that the host runs a block's threads
 * phase by phase between its barriers (EACH_THREAD, below): all these runs compute the same
 * values, and those must equal the CPU backend's (cpu.py) bit for bit.
 *
 * kernels.py puts a prelude before this file: the integer types, P and W (field.py), and the
 * Blake2s tables IV, SIGMA and PARAM0 (zkos/blake2s.py), so no constant is typed twice. The
 * quotient and the LogUp rows are evaluation programs written out as C (straight_line.py) and
 * compiled after this file, one module per program. NOINLINE marks their per-point functions.
 *
 * Layouts: a matrix of `rows` columns over `m` points is row-major (column c, point j) at
 * [c * m + j]; an extension array is 4 such rows (the coefficients of 1, x, x^2, x^3). */

#ifdef __CUDACC__
#define KERNEL extern "C" __global__
#define DEVICE static __device__ __forceinline__
#define NOINLINE static __device__ __noinline__
#define FIRST ((u64)blockIdx.x * blockDim.x + threadIdx.x)
#define STRIDE ((u64)gridDim.x * blockDim.x)
#else
#define KERNEL extern "C"
#define DEVICE static inline
#define NOINLINE static __attribute__((noinline))
static thread_local u64 host_first = 0, host_stride = 1;
#define FIRST host_first
#define STRIDE host_stride
extern "C" void host_threads(u64 first, u64 stride) {
    host_first = first;
    host_stride = stride;
}
#endif

/* ---- BabyBear: canonical u32 values below P ------------------------------------------------ */

DEVICE u32 fadd(u32 a, u32 b) {
    u32 s = a + b; /* both below P < 2^31: no wrap */
    return s >= P ? s - P : s;
}

DEVICE u32 fsub(u32 a, u32 b) { return a >= b ? a - b : a + (P - b); }

DEVICE u32 fneg(u32 a) { return a ? P - a : 0u; }

/* Montgomery's reduction: x 2^-32 mod P, canonical, for x < P 2^32 (x + m P is a multiple of
 * 2^32 below 2^64, and its quotient below 2P). Five instructions on a GPU, where a 64-bit
 * remainder by P takes sixteen (no divide unit for it). */
DEVICE u32 redc(u64 x) {
    u32 m = (u32)x * P_NEG_INV;
    u32 t = (u32)((x + (u64)m * P) >> 32);
    return t >= P ? t - P : t;
}

/* x 2^-32 mod P for any u64 x (field.redc64): the high word times 2^32 mod P (R1, below 2^28)
 * plus the low word stays below P 2^32 */
DEVICE u32 redc64(u64 x) { return redc((x >> 32) * R1 + (x & 0xFFFFFFFFull)); }

/* a c, for a factor known ahead and handed over as cm = c 2^32 mod P (its Montgomery form;
 * KernelArrays makes the NTT's twiddles and the scaling factors so): one reduction. */
DEVICE u32 fmul_by(u32 a, u32 cm) { return redc((u64)a * cm); }

/* a b in two reductions, a b 2^-32 and then times 2^32 (R2 = 2^64 mod P, 2^32 in Montgomery
 * form): twelve instructions on a GPU against the sixteen of a 64-bit remainder after the
 * product (field.fmul_lanes, the CPU's vectorized twin). */
DEVICE u32 fmul(u32 a, u32 b) { return fmul_by(redc((u64)a * b), R2); }

DEVICE u32 finv(u32 a) { /* a^(P-2); 0 stays 0 */
    u32 result = 1u, base = a, e = P - 2u;
    while (e) {
        if (e & 1u) result = fmul(result, base);
        base = fmul(base, base);
        e >>= 1;
    }
    return result;
}

/* ---- the quartic extension, x^4 = W --------------------------------------------------------- */

struct Ext {
    u32 v[4];
};

DEVICE Ext ext4(u32 a, u32 b, u32 c, u32 d) {
    Ext r;
    r.v[0] = a, r.v[1] = b, r.v[2] = c, r.v[3] = d;
    return r;
}

DEVICE Ext eload(const u32* rows, u64 m, u64 j) {
    return ext4(rows[j], rows[m + j], rows[2 * m + j], rows[3 * m + j]);
}

DEVICE void estore(u32* rows, u64 m, u64 j, Ext a) {
    rows[j] = a.v[0], rows[m + j] = a.v[1], rows[2 * m + j] = a.v[2], rows[3 * m + j] = a.v[3];
}

DEVICE Ext eword(const u32* words) { return ext4(words[0], words[1], words[2], words[3]); }

DEVICE Ext eadd(Ext a, Ext b) {
    return ext4(fadd(a.v[0], b.v[0]), fadd(a.v[1], b.v[1]), fadd(a.v[2], b.v[2]), fadd(a.v[3], b.v[3]));
}

DEVICE Ext esub(Ext a, Ext b) {
    return ext4(fsub(a.v[0], b.v[0]), fsub(a.v[1], b.v[1]), fsub(a.v[2], b.v[2]), fsub(a.v[3], b.v[3]));
}

DEVICE Ext escale(Ext a, u32 k) {
    return ext4(fmul(a.v[0], k), fmul(a.v[1], k), fmul(a.v[2], k), fmul(a.v[3], k));
}

DEVICE Ext emul(Ext a, Ext b) {
    /* extension.kmul_lanes: each coefficient's products summed (below 2^64) and reduced to the
     * sum times 2^-32 (redc for up to two products, redc64 for more), 2^32 put back at the end */
    u64 a0 = a.v[0], a1 = a.v[1], a2 = a.v[2], a3 = a.v[3];
    u64 b0 = b.v[0], b1 = b.v[1], b2 = b.v[2], b3 = b.v[3];
    u32 c0 = fadd(redc(a0 * b0), fmul_by(redc64(a1 * b3 + a2 * b2 + a3 * b1), W_MONTGOMERY));
    u32 c1 = fadd(redc(a0 * b1 + a1 * b0), fmul_by(redc(a2 * b3 + a3 * b2), W_MONTGOMERY));
    u32 c2 = fadd(redc64(a0 * b2 + a1 * b1 + a2 * b0), fmul_by(redc(a3 * b3), W_MONTGOMERY));
    u32 c3 = redc64(a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0);
    return ext4(fmul_by(c0, R2), fmul_by(c1, R2), fmul_by(c2, R2), fmul_by(c3, R2));
}

DEVICE Ext einv(Ext a) {
    /* extension.kinv: through the norm, a(-x) b(-y) / (b(y) b(-y)) with b = a(x) a(-x) */
    Ext c = ext4(a.v[0], fneg(a.v[1]), a.v[2], fneg(a.v[3]));
    Ext b = emul(a, c);
    u32 norm = fsub(fmul(b.v[0], b.v[0]), fmul(fmul(b.v[2], b.v[2]), W));
    Ext d = emul(c, ext4(b.v[0], 0u, fneg(b.v[2]), 0u));
    return escale(d, finv(norm));
}

/* ---- NTT: butterfly stages of every column, up to four per pass over memory ------------------ */

/* A pass runs K stages (K <= 4) at once: each item loads a group of 2^K values into registers,
 * runs the K stages among them and stores them, so the matrix crosses memory once per pass, not
 * once per stage (the stages are bound by memory, not arithmetic). The stages have half-lengths
 * 2^lo .. 2^(lo+K-1): a group is the 2^K values base + t 2^lo of one block of 2^(lo+K). A
 * butterfly at position j of the stage of half-length 2^l takes the twiddle tw[j 2^(log_n-1-l)]
 * (tw: powers of the n-th root of unity, Montgomery form: fmul_by). FUSED (4): the prelude. */

DEVICE u64 group_base(u64 g, u64 log_n, u64 lo, u64 k) {
    u64 r = g >> (log_n - k), q = g & ((1ull << (log_n - k)) - 1);
    u64 o = q & ((1ull << lo) - 1), b = q >> lo;
    return (r << log_n) + (b << (lo + k)) + o;
}

/* Cooley-Tukey (ntt._dit): half-lengths rising; o = the group's offset below 2^lo */
template <int K> DEVICE void dit_stages(u32* x, const u32* tw, u64 log_n, u64 lo, u64 o) {
#pragma unroll
    for (int q = 0; q < K; q++) { /* half-length 2^(lo+q): values 2^q apart in x */
        u64 l = lo + q;
#pragma unroll
        for (int t = 0; t < (1 << K); t++) {
            if (t & (1 << q)) continue;
            u64 j = (o + ((u64)t << lo)) & ((1ull << l) - 1);
            u32 u = x[t], v = fmul_by(x[t + (1 << q)], tw[j << (log_n - 1 - l)]);
            x[t] = fadd(u, v);
            x[t + (1 << q)] = fsub(u, v);
        }
    }
}

/* Gentleman-Sande (ntt._dif): half-lengths falling */
template <int K> DEVICE void dif_stages(u32* x, const u32* tw, u64 log_n, u64 lo, u64 o) {
#pragma unroll
    for (int q = K - 1; q >= 0; q--) {
        u64 l = lo + q;
#pragma unroll
        for (int t = 0; t < (1 << K); t++) {
            if (t & (1 << q)) continue;
            u64 j = (o + ((u64)t << lo)) & ((1ull << l) - 1);
            u32 u = x[t], v = x[t + (1 << q)];
            x[t] = fadd(u, v);
            x[t + (1 << q)] = fmul_by(fsub(u, v), tw[j << (log_n - 1 - l)]);
        }
    }
}

/* One pass in place over `rows` columns of 2^log_n values; a DIT pass multiplies its outputs by
 * factor_m (an interpolation's last pass: n^-1; R1, Montgomery's one, leaves them as they are). */
template <int K, bool DIT> DEVICE void ntt_pass(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo, u32 factor_m) {
    u64 total = rows << (log_n - K), s = 1ull << lo;
    for (u64 g = FIRST; g < total; g += STRIDE) {
        u64 base = group_base(g, log_n, lo, K), o = base & (s - 1);
        u32 x[1 << K];
#pragma unroll
        for (int t = 0; t < (1 << K); t++) x[t] = a[base + t * s];
        if (DIT) {
            dit_stages<K>(x, tw, log_n, lo, o);
            if (factor_m != R1) {
#pragma unroll
                for (int t = 0; t < (1 << K); t++) x[t] = fmul_by(x[t], factor_m);
            }
        } else {
            dif_stages<K>(x, tw, log_n, lo, o);
        }
#pragma unroll
        for (int t = 0; t < (1 << K); t++) a[base + t * s] = x[t];
    }
}

KERNEL void ntt_dit_stages1(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo, u64 factor_m) { ntt_pass<1, true>(a, tw, rows, log_n, lo, (u32)factor_m); }
KERNEL void ntt_dit_stages2(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo, u64 factor_m) { ntt_pass<2, true>(a, tw, rows, log_n, lo, (u32)factor_m); }
KERNEL void ntt_dit_stages3(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo, u64 factor_m) { ntt_pass<3, true>(a, tw, rows, log_n, lo, (u32)factor_m); }
KERNEL void ntt_dit_stages4(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo, u64 factor_m) { ntt_pass<4, true>(a, tw, rows, log_n, lo, (u32)factor_m); }
KERNEL void ntt_dif_stages1(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo) { ntt_pass<1, false>(a, tw, rows, log_n, lo, R1); }
KERNEL void ntt_dif_stages2(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo) { ntt_pass<2, false>(a, tw, rows, log_n, lo, R1); }
KERNEL void ntt_dif_stages3(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo) { ntt_pass<3, false>(a, tw, rows, log_n, lo, R1); }
KERNEL void ntt_dif_stages4(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo) { ntt_pass<4, false>(a, tw, rows, log_n, lo, R1); }

DEVICE u64 bitrev(u64 x, u64 bits) { /* x's low `bits` bits reversed */
#ifdef __CUDACC__
    return bits ? __brevll(x) >> (64 - bits) : 0ull;
#else
    u64 r = 0;
    for (u64 i = 0; i < bits; i++, x >>= 1) r = (r << 1) | (x & 1);
    return r;
#endif
}

/* An interpolation's first pass (log_n >= 4), reading `values` in natural order where ntt._dit
 * takes them bit-reversed, so no reordered copy is written first: item i of a column runs the
 * group at bit-reversed positions 16 rev(i) + t, whose values are values[i + rev4(t) n/16]
 * (rev over log_n bits of 16 rev(i) + t), so a warp's threads read neighbouring words and each
 * writes 16 neighbouring ones. Times factor_m as ntt_pass. */
KERNEL void ntt_dit_gather4(u32* out, const u32* values, const u32* tw, u64 rows, u64 log_n, u64 factor_m) {
    u64 log_groups = log_n - FUSED, total = rows << log_groups, n = 1ull << log_n;
    for (u64 g = FIRST; g < total; g += STRIDE) {
        u64 r = g >> log_groups, i = g & ((1ull << log_groups) - 1);
        const u32* column = values + r * n;
        u32 x[1 << FUSED];
#pragma unroll
        for (int t = 0; t < (1 << FUSED); t++) {
            u64 rev4 = ((t & 1) << 3) | ((t & 2) << 1) | ((t & 4) >> 1) | ((t & 8) >> 3);
            x[t] = column[i + (rev4 << log_groups)];
        }
        dit_stages<FUSED>(x, tw, log_n, 0, 0);
        if ((u32)factor_m != R1) {
#pragma unroll
            for (int t = 0; t < (1 << FUSED); t++) x[t] = fmul_by(x[t], (u32)factor_m);
        }
        u32* dst = out + r * n + (bitrev(i, log_groups) << FUSED);
#pragma unroll
        for (int t = 0; t < (1 << FUSED); t++) dst[t] = x[t];
    }
}

/* A coset LDE's first pass: the four top stages of a DIF over 2^log_m values whose first
 * 2^log_n are the coefficients times the coset shift's powers (shift_m, Montgomery form) and
 * the rest zeros, read from `coeffs` (2^log_n a column) as they are needed: no padded copy,
 * no scaling pass, and only the group's nonzero part (half at blowup 2) is read. */
KERNEL void ntt_dif_coeffs4(u32* out, const u32* coeffs, const u32* shift_m, const u32* tw, u64 rows, u64 log_n, u64 log_m) {
    u64 lo = log_m - FUSED, s = 1ull << lo, total = rows << lo, n = 1ull << log_n;
    u64 live = n >> lo; /* how many of a group's 16 values are coefficients (16 >> log blowup) */
    for (u64 g = FIRST; g < total; g += STRIDE) {
        u64 r = g >> lo, o = g & (s - 1);
        u32 x[1 << FUSED];
#pragma unroll
        for (int t = 0; t < (1 << FUSED); t++) {
            u64 p = o + ((u64)t << lo);
            x[t] = (u64)t < live ? fmul_by(coeffs[r * n + p], shift_m[p]) : 0u;
        }
        dif_stages<FUSED>(x, tw, log_m, lo, o);
        u32* dst = out + (r << log_m) + o;
#pragma unroll
        for (int t = 0; t < (1 << FUSED); t++) dst[(u64)t << lo] = x[t];
    }
}

/* ---- NTT passes of up to twelve stages, through a tile in shared memory --------------------- */

/* A block of BLOCK_THREADS threads takes a tile of 2^12 values into shared memory: the 2^k
 * values of a group of k stages (half-lengths 2^lo .. 2^(lo+k-1)) times 2^c neighbouring offsets
 * (c = 12 - k <= lo), so that its loads and stores run along 2^c neighbouring words (8 at least:
 * a 32-byte sector) or along whole runs where lo = 0. The k stages run in the tile four at a time
 * (each thread: 16 values into registers, four stages, back), with a barrier between, and the
 * tile goes back to memory: a 2^24-point LDE crosses memory in three passes instead of six.
 *
 * On the host (kernels.py's HostKernels) a block's threads run one after another between
 * barriers, the last first, each EACH_THREAD phase in full before the next: the same values,
 * and a phase whose threads read what another writes in that phase gives different ones. The
 * tile's index v has its c offset bits at the bottom, then the k stage bits; TILE_AT pads a word
 * in every 32 so that threads reading 16 or 2 words apart hit different banks. */
#define TILE (1u << TILE_LOG) /* TILE_LOG (12): the prelude */
#define TILE_AT(v) ((v) + ((v) >> 5))
#ifdef __CUDACC__
#define TILE_ARRAY __shared__ u32 tile[TILE_AT(TILE)]
#define EACH_THREAD(t) { const u32 t = threadIdx.x;
#define END_EACH_THREAD __syncthreads(); }
#define TILES_FIRST ((u64)blockIdx.x)
#define TILES_STRIDE ((u64)gridDim.x)
#else
#define TILE_ARRAY u32 tile[TILE_AT(TILE)]
#define EACH_THREAD(t) for (u32 t##_ = BLOCK_THREADS; t##_-- > 0;) { const u32 t = t##_;
#define END_EACH_THREAD }
#define TILES_FIRST FIRST
#define TILES_STRIDE STRIDE
#endif

/* Q stages (s0 .. s0+Q-1 of the pass) among the tile's values, by thread t */
template <int Q, bool DIT>
DEVICE void tile_stages(u32* tile, u32 t, const u32* tw, u64 log_n, u64 lo, u64 c, u64 s0, u64 offset) {
    u32 low = (u32)(c + s0); /* the tile bit of stage s0 */
    for (u32 g = t; g < (TILE >> Q); g += BLOCK_THREADS) {
        u32 v0 = (g & ((1u << low) - 1)) | ((g >> low) << (low + Q)), x[1 << Q];
#pragma unroll
        for (int u = 0; u < (1 << Q); u++) x[u] = tile[TILE_AT(v0 + ((u32)u << low))];
#pragma unroll
        for (int i = 0; i < Q; i++) {
            int q = DIT ? i : Q - 1 - i;
            u64 s = s0 + q, l = lo + s;
#pragma unroll
            for (int u = 0; u < (1 << Q); u++) {
                if (u & (1 << q)) continue;
                u32 v = v0 + ((u32)u << low);
                u64 j = ((u64)((v >> c) & ((1u << s) - 1)) << lo) + offset + (v & ((1u << c) - 1));
                u32 w = tw[j << (log_n - 1 - l)];
                if (DIT) {
                    u32 a = x[u], b = fmul_by(x[u + (1 << q)], w);
                    x[u] = fadd(a, b), x[u + (1 << q)] = fsub(a, b);
                } else {
                    u32 a = x[u], b = x[u + (1 << q)];
                    x[u] = fadd(a, b), x[u + (1 << q)] = fmul_by(fsub(a, b), w);
                }
            }
        }
#pragma unroll
        for (int u = 0; u < (1 << Q); u++) tile[TILE_AT(v0 + ((u32)u << low))] = x[u];
    }
}

template <bool DIT>
DEVICE void tile_run(u32* tile, u32 t, const u32* tw, u64 log_n, u64 lo, u64 c, u64 s0, u64 q, u64 offset) {
    if (q == 4) tile_stages<4, DIT>(tile, t, tw, log_n, lo, c, s0, offset);
    else if (q == 3) tile_stages<3, DIT>(tile, t, tw, log_n, lo, c, s0, offset);
    else if (q == 2) tile_stages<2, DIT>(tile, t, tw, log_n, lo, c, s0, offset);
    else tile_stages<1, DIT>(tile, t, tw, log_n, lo, c, s0, offset);
}

/* A pass of k stages from half-length 2^lo over `rows` columns of 2^log_n values in `a`, its
 * values read from `src` (a itself), or with COEFFS from 2^log_src coefficients a column times
 * the coset shift's powers (the zeros above them not read: ntt_dif_coeffs4). A DIT pass
 * multiplies by factor_m on the way out (R1: by one). */
/* Where the tile's value v sits in its column: c offset bits at the bottom, the stage bits at lo */
DEVICE u64 tile_position(u64 base, u32 v, u64 c, u64 lo) {
    return base + (v & ((1u << c) - 1)) + ((u64)(v >> c) << lo);
}

template <bool DIT, bool COEFFS>
DEVICE void tile_pass(u32* a, const u32* src, const u32* shift_m, const u32* tw, u64 rows, u64 log_n, u64 log_src, u64 lo, u64 k, u32 factor_m) {
    u64 c = TILE_LOG - k, log_high = lo - c, log_blocks = log_n - lo - k;
    u64 tiles = rows << (log_blocks + log_high);
    TILE_ARRAY;
    for (u64 id = TILES_FIRST; id < tiles; id += TILES_STRIDE) {
        u64 r = id >> (log_blocks + log_high);
        u64 b = (id >> log_high) & ((1ull << log_blocks) - 1);
        u64 offset = (id & ((1ull << log_high) - 1)) << c; /* the offset bits above the tile's */
        u64 base = (b << (lo + k)) + offset;                /* value 0's position in its column */
        EACH_THREAD(t)
            for (u32 v = t; v < TILE; v += BLOCK_THREADS) {
                u64 p = tile_position(base, v, c, lo);
                if (COEFFS)
                    tile[TILE_AT(v)] = p < (1ull << log_src) ? fmul_by(src[(r << log_src) + p], shift_m[p]) : 0u;
                else
                    tile[TILE_AT(v)] = src[(r << log_n) + p];
            }
        END_EACH_THREAD
        for (u64 done = 0; done < k; done += FUSED) { /* DIT: stages from the bottom; DIF: the top */
            u64 q = k - done < FUSED ? k - done : FUSED, s0 = DIT ? done : k - done - q;
            EACH_THREAD(t)
                tile_run<DIT>(tile, t, tw, log_n, lo, c, s0, q, offset);
            END_EACH_THREAD
        }
        EACH_THREAD(t)
            for (u32 v = t; v < TILE; v += BLOCK_THREADS) {
                u64 p = tile_position(base, v, c, lo);
                u32 x = tile[TILE_AT(v)];
                a[(r << log_n) + p] = DIT && factor_m != R1 ? fmul_by(x, factor_m) : x;
            }
        END_EACH_THREAD
    }
}

KERNEL void ntt_dit_tile(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo, u64 k, u64 factor_m) {
    tile_pass<true, false>(a, a, tw, tw, rows, log_n, log_n, lo, k, (u32)factor_m);
}

KERNEL void ntt_dif_tile(u32* a, const u32* tw, u64 rows, u64 log_n, u64 lo, u64 k) {
    tile_pass<false, false>(a, a, tw, tw, rows, log_n, log_n, lo, k, R1);
}

KERNEL void ntt_dif_coeffs_tile(u32* out, const u32* coeffs, const u32* shift_m, const u32* tw, u64 rows, u64 log_n, u64 log_m, u64 lo, u64 k) {
    tile_pass<false, true>(out, coeffs, shift_m, tw, rows, log_m, log_n, lo, k, R1);
}

/* a[i] *= factors[i % period] over `count` values, in place: scaling by n^-1 (period 1) or by
 * powers of the coset shift along each column (period n), with no wide temporary. The factors
 * (and the NTTs' twiddles) come in Montgomery form, for fmul_by. */
KERNEL void scale(u32* a, u64 count, const u32* factors, u64 period) {
    for (u64 i = FIRST; i < count; i += STRIDE) a[i] = fmul_by(a[i], factors[i % period]);
}

/* ---- Blake2s-256 (zkos/blake2s.py), one message per item ------------------------------------- */

DEVICE u32 rotr(u32 x, u32 n) { return (x >> n) | (x << (32u - n)); }

#define G(a, b, c, d, x, y)               \
    do {                                  \
        v[a] = v[a] + v[b] + (x);         \
        v[d] = rotr(v[d] ^ v[a], 16u);    \
        v[c] = v[c] + v[d];               \
        v[b] = rotr(v[b] ^ v[c], 12u);    \
        v[a] = v[a] + v[b] + (y);         \
        v[d] = rotr(v[d] ^ v[a], 8u);     \
        v[c] = v[c] + v[d];               \
        v[b] = rotr(v[b] ^ v[c], 7u);     \
    } while (0)

DEVICE void blake2s_init(u32* h) {
    for (int i = 0; i < 8; i++) h[i] = IV[i];
    h[0] ^= PARAM0;
}

/* One compression of the 16-word block m; `done` bytes hashed so far, this block included. */
DEVICE void blake2s_compress(u32* h, const u32* m, u64 done, int last) {
    u32 v[16];
    for (int i = 0; i < 8; i++) v[i] = h[i], v[i + 8] = IV[i];
    v[12] ^= (u32)done;
    v[13] ^= (u32)(done >> 32);
    if (last) v[14] = ~v[14];
    for (int r = 0; r < 10; r++) {
        const unsigned char* s = SIGMA[r];
        G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/* Merkle leaves (merkle.hash_rows): digest i, as 8 rows of `count`, is the Blake2s of row i's
 * `width` words; a message of 0 words is one empty block. */
KERNEL void blake2s_leaves(const u32* cols, u64 width, u64 count, u32* out) {
    u64 blocks = width ? (width + 15) / 16 : 1;
    for (u64 i = FIRST; i < count; i += STRIDE) {
        u32 h[8], m[16];
        blake2s_init(h);
        for (u64 b = 0; b < blocks; b++) {
            for (u64 k = 0; k < 16; k++) {
                u64 w = b * 16 + k;
                m[k] = w < width ? cols[w * count + i] : 0u;
            }
            u64 done = 4 * (width < (b + 1) * 16 ? width : (b + 1) * 16);
            blake2s_compress(h, m, done, b + 1 == blocks);
        }
        for (int k = 0; k < 8; k++) out[k * count + i] = h[k];
    }
}

/* A Merkle layer (merkle.hash_layer): parent i = Blake2s(child 2i || child 2i + 1). */
KERNEL void blake2s_nodes(const u32* children, u64 parents, u32* out) {
    u64 stride = 2 * parents;
    for (u64 i = FIRST; i < parents; i += STRIDE) {
        u32 h[8], m[16];
        for (int k = 0; k < 8; k++) {
            m[k] = children[k * stride + 2 * i];
            m[8 + k] = children[k * stride + 2 * i + 1];
        }
        blake2s_init(h);
        blake2s_compress(h, m, 64, 1);
        for (int k = 0; k < 8; k++) out[k * parents + i] = h[k];
    }
}

/* ---- LogUp's auxiliary columns (lookup.AuxTrace.build) ---------------------------------------- */

/* Item t: rows [t chunk, (t + 1) chunk) of n. fm holds per interaction k its fingerprint (rows
 * FM_ROWS k .. + 3) and its multiplicity (row FM_ROWS k + 4); helper column k/2 (rows
 * first + 4 (k/2) ..) of `out` gets m_k / f_k, added to its pair's. One inversion per chunk and interaction (prefix
 * products kept in `prefix`, 4 rows of n): inverses are unique, so any chunking gives the CPU's
 * values. */
KERNEL void logup_helpers(const u32* fm, u64 count, u64 n, u64 chunk, u64 first, u32* prefix,
                          u32* out) {
    u64 chunks = (n + chunk - 1) / chunk;
    for (u64 t = FIRST; t < chunks; t += STRIDE) {
        u64 lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
        for (u64 k = 0; k < count; k++) {
            const u32* f = fm + FM_ROWS * k * n;
            u32* h = out + (first + 4 * (k / 2)) * n;
            Ext a = ext4(1u, 0u, 0u, 0u);
            for (u64 j = lo; j < hi; j++) {
                estore(prefix, n, j, a);
                a = emul(a, eload(f, n, j));
            }
            a = einv(a); /* 1 / (f_lo ... f_(hi-1)) */
            for (u64 j = hi; j-- > lo;) {
                Ext inv = emul(eload(prefix, n, j), a);
                a = emul(a, eload(f, n, j));
                Ext term = escale(inv, f[4 * n + j]);
                estore(h, n, j, k % 2 ? eadd(eload(h, n, j), term) : term);
            }
        }
    }
}

DEVICE Ext row_sum(const u32* out, u64 first, u64 helpers, u64 n, u64 j) {
    Ext s = ext4(0u, 0u, 0u, 0u);
    for (u64 k = 0; k < helpers; k++) s = eadd(s, eload(out + (first + 4 * k) * n, n, j));
    return s;
}

/* Item t: the sum of every helper over chunk t's rows, into partial[4 t ..]. */
KERNEL void logup_partial(const u32* out, u64 first, u64 helpers, u64 n, u64 chunk, u32* partial) {
    u64 chunks = (n + chunk - 1) / chunk;
    for (u64 t = FIRST; t < chunks; t += STRIDE) {
        u64 lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
        Ext s = ext4(0u, 0u, 0u, 0u);
        for (u64 j = lo; j < hi; j++) s = eadd(s, row_sum(out, first, helpers, n, j));
        for (int c = 0; c < 4; c++) partial[4 * t + c] = s.v[c];
    }
}

/* Item t: the running sum (rows `sum` ..) over chunk t, from before[4 t ..], the sum of every
 * row before the chunk. */
KERNEL void logup_sums(u32* out, u64 first, u64 helpers, u64 sum, u64 n, u64 chunk,
                       const u32* before) {
    u64 chunks = (n + chunk - 1) / chunk;
    for (u64 t = FIRST; t < chunks; t += STRIDE) {
        u64 lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
        Ext s = eword(before + 4 * t);
        for (u64 j = lo; j < hi; j++) {
            s = eadd(s, row_sum(out, first, helpers, n, j));
            estore(out + sum * n, n, j, s);
        }
    }
}

/* ---- DEEP and FRI ------------------------------------------------------------------------------ */

/* acc[:, j] += sum_c gpows[c] * mat[c, j] (cpu._accumulate), over the columns' coefficients. */
KERNEL void deep_accumulate(const u32* mat, u64 cols, u64 m, const u32* gpows, u32* acc) {
    for (u64 j = FIRST; j < m; j += STRIDE) {
        Ext s = eload(acc, m, j);
        for (u64 c = 0; c < cols; c++) s = eadd(s, escale(eword(gpows + 4 * c), mat[c * m + j]));
        estore(acc, m, j, s);
    }
}

/* cpu._deep_kernel: (F(x) - F(z)) / (x - z) + gn (F_t(x) - F_t(zn)) / (x - zn); `par` holds
 * z, zn, F(z), F_t(zn), gn as 4 words each. */
KERNEL void deep_combine(const u32* f_all, const u32* f_trace, const u32* points, u64 m,
                         const u32* par, u32* out) {
    Ext z = eword(par), zn = eword(par + 4), fz = eword(par + 8), ftzn = eword(par + 12);
    Ext gn = eword(par + 16);
    for (u64 j = FIRST; j < m; j += STRIDE) {
        Ext x = ext4(points[j], 0u, 0u, 0u);
        Ext first = emul(esub(eload(f_all, m, j), fz), einv(esub(x, z)));
        Ext second = emul(esub(eload(f_trace, m, j), ftzn), einv(esub(x, zn)));
        estore(out, m, j, eadd(first, emul(second, gn)));
    }
}

/* fri.fold_once: the pair (2k, 2k+1) of a bit-reversed layer of m points into position k;
 * par holds beta (4 words) and 1/2. */
KERNEL void fri_fold(const u32* values, u64 m, const u32* inv_x, const u32* par, u32* out) {
    Ext beta = eword(par);
    u32 inv2 = par[4];
    u64 half = m / 2;
    for (u64 k = FIRST; k < half; k += STRIDE) {
        Ext even = eload(values, m, 2 * k), odd = eload(values, m, 2 * k + 1);
        Ext total = escale(eadd(even, odd), inv2);
        Ext diff = escale(esub(even, odd), fmul(inv_x[k], inv2));
        estore(out, half, k, eadd(total, emul(diff, beta)));
    }
}

/* ---- out-of-domain values: sum_k c_k x^k, in partial sums over chunks of coefficients -------- */

/* Item t = (column c, chunk s): partial[4 t + e] = sum over the chunk of coeffs[c, k] pows[e, k]. */
KERNEL void evaluate_partial(const u32* coeffs, u64 cols, u64 n, const u32* pows, u64 chunk,
                             u32* partial) {
    u64 chunks = (n + chunk - 1) / chunk;
    for (u64 t = FIRST; t < cols * chunks; t += STRIDE) {
        u64 c = t / chunks, lo = (t % chunks) * chunk, hi = lo + chunk < n ? lo + chunk : n;
        u64 s[4] = {0, 0, 0, 0};
        for (u64 k = lo; k < hi; k++) {
            u64 v = coeffs[c * n + k];
            for (int e = 0; e < 4; e++) s[e] = (s[e] + v * pows[e * n + k]) % P;
        }
        for (int e = 0; e < 4; e++) partial[4 * t + e] = (u32)s[e];
    }
}
