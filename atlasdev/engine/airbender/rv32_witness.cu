/* The RV32IM AIR's main columns, one trace row per item: rv32_trace.segment_witness as a kernel
 * (issue 8), so that a GPU proof builds its witness on the device from the replayed run, and
 * uploads ~50 bytes a row instead of the ~800 of the built columns.
 *
 * Compiled with kernels.cu (same rules: a grid-stride loop, whose threads the host runs one
 * after another) and checked byte for byte against segment_witness (NumPy), which stays the
 * reference and the CPU's builder. One exception to kernels.cu's rule: the table multiplicities
 * are counted with atomic increments. Integer additions commute, so the counts do not depend
 * on the order; on the host COUNT is a plain increment.
 *
 * The prelude (rv32_witness.py) defines: C_<COLUMN> (slots of `col`, which maps them to the
 * AIR's column indices), IN_<STEP> and N_INPUTS (the words of a row of `in`), ROM_<FIELD> (rows
 * of `rom`), OP_<OP>, N_FIELDS, N_REGS, TS_PER_ROW, TABLE_ROWS (the byte tables' rows, 2^16),
 * ROW_PAST_ROM.
 * Every value is written as a field element (fe: v mod P), as
 * segment_witness's _column does. status[j] = 1: the emulator's result differs from the AIR's;
 * 2: a register access's timestamp gap is out of range; 3: a lookup key outside its table (the
 * caller has segment_witness say which); ROW_PAST_ROM (4): a step's ROM row past the ROM. */

#ifdef __CUDACC__
#define COUNT(p) atomicAdd((p), 1u)
#else
#define COUNT(p) (*(p) += 1u)
#endif

#define BYTE(v, k) ((((i64)(v)) >> (8 * (k))) & 0xFF)
#define PUT(slot, v) m[(u64)col[slot] * n + j] = (u32)fe((i64)(v))
#define TALLY(slot, key) tally(m, col, n, (slot), (key), TABLE_ROWS, status + j)

DEVICE i64 fe(i64 v) {
    i64 r = v % (i64)P;
    return r < 0 ? r + (i64)P : r;
}

/* One lookup of `key` in the table whose multiplicities are column slot; a key outside the
 * table (which segment_witness would refuse too) is reported, not written out of bounds. */
DEVICE void tally(u32* m, const i64* col, u64 n, u64 slot, i64 key, i64 limit, u32* status) {
    if (key < 0 || key >= limit) {
        *status = 3;
        return;
    }
    COUNT(m + (u64)col[slot] * n + (u64)key);
}

/* rv32_trace._quotients: RISC-V division's quotient, remainder and signed-overflow flag. */
DEVICE void quotients(i64 op, i64 x, i64 z, i64* q, i64* r, i64* ovf) {
    const i64 mask = 0xFFFFFFFFll;
    int is_signed = op == OP_DIV || op == OP_REM;
    i64 xs = x - ((x >> 31) << 32), zs = z - ((z >> 31) << 32);
    i64 safe_z = z == 0 ? 1 : z;
    *ovf = is_signed && x == 0x80000000ll && z == 0xFFFFFFFFll;
    i64 safe_zs = (zs == 0 || *ovf) ? 1 : zs;
    i64 ax = xs < 0 ? -xs : xs, az = safe_zs < 0 ? -safe_zs : safe_zs;
    i64 sign = ((xs > 0) - (xs < 0)) * ((safe_zs > 0) - (safe_zs < 0));
    i64 q_s = sign * (ax / az); /* rounds toward zero */
    i64 r_s = xs - q_s * safe_zs;
    *q = is_signed ? q_s & mask : x / safe_z;
    *r = is_signed ? r_s & mask : x % safe_z;
    if (z == 0) *q = mask, *r = x;
    else if (*ovf) *q = 0x80000000ll, *r = 0;
}

/* rv32_trace._results: the row's result as the AIR defines it. */
DEVICE i64 result(i64 op, i64 x, i64 z, i64 s, i64 logic, i64 lt, i64 c1, i64 k, i64 old) {
    const i64 mask = 0xFFFFFFFFll;
    i64 xs = x - ((x >> 31) << 32), zs = z - ((z >> 31) << 32);
    i64 sh = z & 31, off = s & 3;
    i64 byte = (old >> (8 * off)) & 0xFF, half = (old >> (8 * (off & 2))) & 0xFFFF;
    u64 xu = (u64)x, zu = (u64)z;
    i64 q, r, ovf;
    switch (op) {
    case OP_ADD: case OP_SUB: return s;
    case OP_AND: case OP_OR: case OP_XOR: return logic;
    case OP_SLT: return lt;
    case OP_SLTU: return c1;
    case OP_LUI: case OP_AUIPC: case OP_JAL: case OP_JALR: return k;
    case OP_LW: return old;
    case OP_LBU: return byte;
    case OP_LHU: return half;
    case OP_LB: return (byte - ((byte >> 7) << 8)) & mask;
    case OP_LH: return (half - ((half >> 15) << 16)) & mask;
    case OP_MUL: return (i64)((xu * zu) & (u64)mask);
    case OP_MULHU: return (i64)((xu * zu) >> 32);
    case OP_MULH: return ((xs * zs) >> 32) & mask;
    case OP_MULHSU: return ((xs * z) >> 32) & mask;
    case OP_SLL: return (x << sh) & mask;
    case OP_SRL: return x >> sh;
    case OP_SRA: return (xs >> sh) & mask;
    case OP_DIV: case OP_DIVU: quotients(op, x, z, &q, &r, &ovf); return q;
    case OP_REM: case OP_REMU: quotients(op, x, z, &q, &r, &ovf); return r;
    default: return 0;
    }
}

/* rv32_trace._multiplier and _multiplier_multiplicities, on a row that uses the multiplier. */
DEVICE void multiplier(u32* m, const i64* col, u64 n, u64 j, const u32* inv_table, u32* status,
                       i64 op, i64 x, i64 z, i64 d, i64 sx, i64 sz) {
    int is_mul = op == OP_MUL || op == OP_MULH || op == OP_MULHSU || op == OP_MULHU;
    int is_shift = op == OP_SLL || op == OP_SRL || op == OP_SRA;
    int is_div = op == OP_DIV || op == OP_DIVU || op == OP_REM || op == OP_REMU;
    int is_sdiv = op == OP_DIV || op == OP_REM, is_shr = op == OP_SRL || op == OP_SRA;
    int divlike = is_shr || is_div;
    i64 q, r_div, ovf;
    quotients(op, x, z, &q, &r_div, &ovf);
    i64 sh = is_shift ? z & 31 : 0;
    i64 v = (is_mul || is_div) ? z : (is_shift ? (1ll << sh) : 0);
    i64 u = (is_mul || op == OP_SLL) ? x : (is_shr ? d : (is_div ? q : 0));
    i64 sd = (op == OP_SRA || is_sdiv) ? u >> 31 : 0;
    i64 su = ((op == OP_MULH || op == OP_MULHSU) ? sx : 0) + sd;
    i64 sv = (op == OP_MULH || is_sdiv) ? sz : 0;
    i64 ub[8], vb[8], p[8], carry = 0;
    for (int k = 0; k < 4; k++) ub[k] = BYTE(u, k), vb[k] = BYTE(v, k), ub[k + 4] = su * 255, vb[k + 4] = sv * 255;
    for (int t = 0; t < 8; t++) {
        i64 acc = carry;
        for (int i = 0; i <= t; i++) acc += ub[i] * vb[t - i];
        p[t] = acc & 0xFF;
        carry = acc >> 8;
        PUT(C_K0 + t, carry);
        PUT(C_P0 + t, p[t]);
        TALLY(C_MULT_RANGE, carry);
    }
    i64 r = is_shr ? x & (v - 1) : (is_div ? r_div : 0);
    i64 sr = is_sdiv ? r >> 31 : 0, nr = sr, ny = is_sdiv ? sz : 0;
    i64 xh = (op == OP_SRA || is_sdiv) ? sx : 0;
    i64 ar = nr == 1 ? (1ll << 32) - r : r, ay = ny == 1 ? (1ll << 32) - v : v;
    i64 v_sum = BYTE(v, 0) + BYTE(v, 1) + BYTE(v, 2) + BYTE(v, 3);
    i64 yz = v_sum == 0;
    i64 w = divlike && !yz ? ay - 1 - ar : 0;
    PUT(C_SU, su), PUT(C_SV, sv), PUT(C_SD, sd), PUT(C_SH, sh), PUT(C_SR, sr), PUT(C_NR, nr);
    PUT(C_NY, ny), PUT(C_XH, xh), PUT(C_YZ, yz), PUT(C_OVF, ovf);
    PUT(C_INV_V, inv_table[v_sum]);
    PUT(C_G0, nr == 1 ? ((ar & 0xFFFF) + (r & 0xFFFF)) >> 16 : 0);
    PUT(C_G2, ny == 1 ? ((ay & 0xFFFF) + (v & 0xFFFF)) >> 16 : 0);
    for (int k = 0; k < 4; k++) {
        PUT(C_U0 + k, BYTE(u, k)), PUT(C_V0 + k, BYTE(v, k));
        PUT(C_R0 + k, BYTE(r, k)), PUT(C_W0 + k, BYTE(w, k));
        PUT(C_AR0 + k, divlike ? BYTE(ar, k) : 0), PUT(C_AY0 + k, divlike ? BYTE(ay, k) : 0);
    }
    i64 ext = 65535 * (nr - xh);
    i64 e0 = (p[0] + 256 * p[1] + (r & 0xFFFF)) >> 16;
    i64 e1 = (p[2] + 256 * p[3] + (r >> 16) + e0) >> 16;
    i64 e2 = (p[4] + 256 * p[5] + e1 + ext) >> 16;
    i64 e3 = (p[6] + 256 * p[7] + e2 + ext) >> 16;
    i64 e4 = ((ar & 0xFFFF) + (w & 0xFFFF) + 1) >> 16;
    PUT(C_E0, divlike ? e0 : 0), PUT(C_E1, divlike ? e1 : 0);
    PUT(C_E2, divlike && !ovf ? e2 : 0), PUT(C_E3, divlike && !ovf ? e3 : 0);
    PUT(C_E4, divlike && !yz ? e4 : 0);
    /* the lookups (_multiplier_multiplicities) */
    if (is_shift) TALLY(C_MULT_AND, (z & 0xFF) * 256 + 31), TALLY(C_MULT_POW, sh);
    if (op == OP_SRA || is_sdiv) TALLY(C_MULT_AND, BYTE(u, 3) * 256 + 128);
    if (is_sdiv) TALLY(C_MULT_AND, BYTE(r, 3) * 256 + 128);
    for (int i = 0; i < 8; i += 2) TALLY(C_MULT_BYTES, p[i] * 256 + p[i + 1]);
    if (divlike)
        for (int k = 0; k < 4; k++) {
            TALLY(C_MULT_BYTES, BYTE(r, k) * 256 + BYTE(w, k));
            TALLY(C_MULT_BYTES, BYTE(ar, k) * 256 + BYTE(ay, k));
        }
    if (is_div) TALLY(C_MULT_BYTES, BYTE(u, 0) * 256 + BYTE(u, 1)), TALLY(C_MULT_BYTES, BYTE(u, 2) * 256 + BYTE(u, 3));
    if (is_shift) TALLY(C_MULT_BYTES, BYTE(v, 0) * 256 + BYTE(v, 1)), TALLY(C_MULT_BYTES, BYTE(v, 2) * 256 + BYTE(v, 3));
}

/* Row j of a segment of n rows starting at cycle `base`; rows t_rows.. are inactive. `in` holds
 * the run's per-cycle values for the segment (t_rows rows of N_INPUTS words: rv32_trace.STEP,
 * the replay's Run.steps), `rom` the ROM's columns, inv_table 1/0..1/1020 (0 for 0); m (the main columns, zeroed) gets the columns and the
 * per-row table lookups; the last segment's memory table is added by the caller. */
KERNEL void rv32_witness(const u32* in, u64 t_rows, u64 n, u64 base, const u32* rom, u64 rom_len,
                         const u32* inv_table, const i64* col, u32* m, u32* status) {
    for (u64 j = FIRST; j < n; j += STRIDE) {
        if (j < N_REGS) PUT(C_M_KEY, j);
        if (j >= t_rows) { /* inactive: S = 0 and V = 0, so both zero tests say 1 */
            PUT(C_IS_ZERO, 1), PUT(C_YZ, 1);
            continue;
        }
#define IN(k) ((i64)in[(u64)j * N_INPUTS + (k)])
        i64 rr = IN(IN_ROM_ROW), x = IN(IN_X), b = IN(IN_B), d = IN(IN_D);
        if (rr >= (i64)rom_len) { /* not a ROM row: reported, never read (a GPU would fault) */
            status[j] = ROW_PAST_ROM;
            continue;
        }
        i64 f[N_FIELDS];
        for (int k = 0; k < N_FIELDS; k++) f[k] = rom[(u64)k * rom_len + (u64)rr];
        i64 pc = f[ROM_PC], op = f[ROM_OP];
        int is_ecall = op == OP_ECALL;
        PUT(C_ACTIVE, 1), PUT(C_PC, pc);
        for (int k = 1; k < N_FIELDS; k++) PUT(C_OP + k - 1, f[k]);
        PUT(C_F_ADD + op - OP_ADD, 1);
        tally(m, col, n, C_MULT_ROM, rr, (i64)n, status + j);

        i64 imm = f[ROM_IMM0] | f[ROM_IMM1] << 8 | f[ROM_IMM2] << 16 | f[ROM_IMM3] << 24;
        i64 z = f[ROM_USE_IMM] == 1 ? imm : b;
        int is_load = op == OP_LB || op == OP_LH || op == OP_LW || op == OP_LBU || op == OP_LHU;
        int is_store = op == OP_SB || op == OP_SH || op == OP_SW;
        int is_mem = is_load || is_store;
        int adds = op == OP_ADD || op == OP_JALR || is_mem;
        int branch = op == OP_BEQ || op == OP_BNE || op == OP_BLT || op == OP_BGE || op == OP_BLTU
                  || op == OP_BGEU;
        int subs = op == OP_SUB || op == OP_SLT || op == OP_SLTU || branch;
        const i64 mask = 0xFFFFFFFFll;
        i64 s = adds ? (x + z) & mask : (subs ? (x - z) & mask : 0);
        i64 c0 = adds ? ((x & 0xFFFF) + (z & 0xFFFF)) >> 16 : (subs ? ((s & 0xFFFF) + (z & 0xFFFF)) >> 16 : 0);
        i64 c1 = adds ? (x + z) >> 32 : (subs ? (s + z) >> 32 : 0);
        i64 sx = x >> 31, sz = z >> 31;
        i64 lt = sx * (1 - sz) + (1 - sx - sz + 2 * sx * sz) * c1;
        i64 s_sum = BYTE(s, 0) + BYTE(s, 1) + BYTE(s, 2) + BYTE(s, 3);
        i64 is_zero = s_sum == 0;
        i64 taken = op == OP_BEQ ? is_zero : op == OP_BNE ? 1 - is_zero : op == OP_BLT ? lt
                  : op == OP_BGE ? 1 - lt : op == OP_BLTU ? c1 : op == OP_BGEU ? 1 - c1 : 0;
        int tag_or = op == OP_OR, tag_xor = op == OP_XOR;
        i64 logic = tag_or ? x | z : (tag_xor ? x ^ z : x & z);
        i64 j0 = op == OP_JALR ? s & 1 : 0;
        i64 k = f[ROM_KLO] | (f[ROM_KHI] << 16);
        i64 semantic = result(op, x, z, s, logic, lt, c1, k, IN(IN_MEM_OLD));
        int writes = f[ROM_WR] == 1;
        if (writes && !is_ecall && semantic != d) status[j] = 1;
        d = (writes || is_ecall) ? d : semantic; /* rd = x0: the result is computed, not written */
        i64 imm_signed = imm - ((imm >> 31) << 32);
        i64 target = op == OP_JAL ? pc + imm_signed
                   : op == OP_JALR ? s - j0 : (taken == 1 ? pc + imm_signed : pc + 4);
        for (int i = 0; i < 4; i++) {
            PUT(C_X0 + i, BYTE(x, i)), PUT(C_B0 + i, BYTE(b, i)), PUT(C_Z0 + i, BYTE(z, i));
            PUT(C_D0 + i, BYTE(d, i)), PUT(C_S0 + i, BYTE(s, i)), PUT(C_L0 + i, BYTE(logic, i));
        }
        PUT(C_C0, c0), PUT(C_C1, c1), PUT(C_SX, sx), PUT(C_SZ, sz), PUT(C_LT, lt);
        PUT(C_IS_ZERO, is_zero), PUT(C_INV_S, inv_table[s_sum]), PUT(C_TAKEN, taken);
        PUT(C_J0, j0), PUT(C_NEXT_PC, target);

        /* loads and stores */
        i64 off = is_mem ? s & 3 : 0, old_word = is_mem ? IN(IN_MEM_OLD) : 0;
        i64 mb[4], bb[4];
        for (int i = 0; i < 4; i++) mb[i] = BYTE(old_word, i), bb[i] = BYTE(b, i);
        for (int i = 0; i < 4; i++) {
            int sb_ = op == OP_SB && off == i, half = op == OP_SH && off == (i < 2 ? 0 : 2);
            i64 nb = op == OP_SW ? bb[i] : (sb_ ? bb[0] : (half ? bb[i % 2] : mb[i]));
            PUT(C_O0 + i, is_mem && off == i), PUT(C_M0 + i, mb[i]), PUT(C_N0 + i, nb);
        }
        i64 sel0 = mb[off], sel1 = off == 0 ? mb[1] : (off == 2 ? mb[3] : 0);
        i64 top = op == OP_LB ? sel0 : (op == OP_LH ? sel1 : 0);
        PUT(C_SEL0, is_mem ? sel0 : 0), PUT(C_SEL1, is_mem ? sel1 : 0);
        PUT(C_TOP, top), PUT(C_SGN, top >> 7);

        int unit = op == OP_MUL || op == OP_MULH || op == OP_MULHSU || op == OP_MULHU
                || op == OP_SLL || op == OP_SRL || op == OP_SRA
                || op == OP_DIV || op == OP_DIVU || op == OP_REM || op == OP_REMU;
        if (unit) multiplier(m, col, n, j, inv_table, status, op, x, z, d, sx, sz);
        else PUT(C_YZ, 1);

        /* the register accesses' timestamps (rs1, rs2, rd) and the memory access's */
        const i64 now_offset[3] = {1, 2, 4};
        for (int a = 0; a < 3; a++) {
            int used = a < 2 || writes;
            i64 prev = IN(IN_PREV0 + a);
            i64 gap = used ? TS_PER_ROW * ((i64)base + (i64)j) + now_offset[a] - prev - 1 : 0;
            if (gap < 0 || gap >= (1ll << 30)) status[j] = 2;
            PUT(C_PREV_TS0 + a, used ? prev : 0), PUT(C_DLO0 + a, gap & 0xFFFF);
            PUT(C_DHI0 + a, gap >> 16);
            if (used) TALLY(C_MULT_RANGE, gap & 0xFFFF), TALLY(C_MULT_RANGE, 4 * (gap >> 16));
        }
        i64 old = IN(IN_OLD);
        PUT(C_OLD_LO, writes ? old & 0xFFFF : 0), PUT(C_OLD_HI, writes ? old >> 16 : 0);
        i64 mem_prev = IN(IN_MEM_PREV); /* the replay refused gaps of 2^30 and more */
        i64 mem_gap = is_mem ? TS_PER_ROW * ((i64)base + (i64)j) + 3 - mem_prev - 1 : 0;
        PUT(C_DLOM, mem_gap & 0xFFFF), PUT(C_DHIM, mem_gap >> 16), PUT(C_PREV_TSM, mem_prev);

        /* the lookups of the logic, comparison and memory rows (_multiplicities and
         * _memory_multiplicities; the multiplier's are counted in multiplier()) */
        u64 logic_table = tag_or ? C_MULT_OR : (tag_xor ? C_MULT_XOR : C_MULT_AND);
        for (int i = 0; i < 4; i++) {
            TALLY(logic_table, BYTE(x, i) * 256 + BYTE(z, i));
            TALLY(C_MULT_BYTES, BYTE(d, i) * 256 + BYTE(s, i));
            TALLY(C_MULT_BYTES, bb[i] * 256 + mb[i]);
        }
        TALLY(C_MULT_AND, BYTE(x, 3) * 256 + 128), TALLY(C_MULT_AND, BYTE(z, 3) * 256 + 128);
        if (op == OP_JALR) TALLY(C_MULT_AND, BYTE(s, 0) * 256 + 1), TALLY(C_MULT_AND, BYTE(s, 2) * 256 + 252);
        if (is_mem) {
            TALLY(C_MULT_AND, BYTE(s, 0) * 256 + 3);
            TALLY(C_MULT_RANGE, mem_gap & 0xFFFF), TALLY(C_MULT_RANGE, 4 * (mem_gap >> 16));
        }
        if (op == OP_LB || op == OP_LH) TALLY(C_MULT_AND, top * 256 + 128);
#undef IN
    }
}
