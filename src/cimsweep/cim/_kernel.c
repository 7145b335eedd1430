/* Fused CPU kernel of the CIM read path: DAC slicing, partial sums, read noise, ADC and the
 * input- and weight-slice shift-adds (cim_read; cim_read_sums from partial sums formed by BLAS,
 * both split over threads by read rows with the same numbers on any thread count); plus the
 * noise stream alone, the slice statistics of dense reads and im2col.
 *
 * Built at first use by cimsweep.cim.kernel (plain C99, no Python or torch headers) and called
 * through ctypes. Every operation is integer or a single IEEE-754 float32 operation in a fixed
 * order, compiled with -ffp-contract=off, so the AVX2 and generic builds give bit-identical
 * results, and so does the torch mirror in kernel.py (whose batched matmul adds the partial sums
 * in its own order: identical whenever they are exact, as with integer cell levels).
 *
 * Noise stream, in blocks of NB = 2048 normals: Philox4x32-10 (Salmon et al., SC'11) with key
 * (k0, k1) and counter (block * 32 + l, 0, call_lo, call_hi) gives the 128-bit state of
 * xoshiro128++ lane l (Blackman & Vigna; an all-zero state gets s0 = 1), l < 32. Word i of the
 * block is output i / 32 of lane i % 32; its low and high 16 bits h give normals 2i and 2i + 1
 * from kernel.normal_table: the mean of N(0, 1) in quantile bin h >> 4 of 4096, except in the
 * outermost two of those bins, where h picks the mean of its own 1/65536 bin (|z| <= 4.39).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#define LANES 32            /* xoshiro128++ lanes per block, one Philox call each */
#define STEPS 32            /* outputs per lane */
#define NW (LANES * STEPS)  /* 32-bit words per block */
#define NB (2 * NW)         /* normals per block */
#define COARSE 4096         /* equiprobable bins of the normal table (16 KB: stays in L1) */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(CIM_GENERIC) /* CIM_GENERIC: tests */
#include <immintrin.h>
#define HAVE_X86 1
#endif

static inline float as_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t as_uint(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Philox words of one block: w[k * LANES + b] = word k of call b (counter first + b). */
static void philox_generic(uint32_t k0, uint32_t k1, uint32_t first, uint32_t c2, uint32_t c3,
                           uint32_t *restrict w)
{
    for (int b = 0; b < LANES; b++) {
        uint32_t x0 = first + (uint32_t)b, x1 = 0, x2 = c2, x3 = c3, a0 = k0, a1 = k1;
        for (int r = 0; r < 10; r++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * x0, p1 = (uint64_t)0xCD9E8D57u * x2;
            uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ a0, y2 = (uint32_t)(p0 >> 32) ^ x3 ^ a1;
            x1 = (uint32_t)p1;
            x3 = (uint32_t)p0;
            x0 = y0;
            x2 = y2;
            a0 += 0x9E3779B9u;
            a1 += 0xBB67AE85u;
        }
        w[b] = x0;
        w[LANES + b] = x1;
        w[2 * LANES + b] = x2;
        w[3 * LANES + b] = x3;
    }
}

#ifdef HAVE_X86
__attribute__((target("avx2"))) static inline void mulhilo8(__m256i m, __m256i x, __m256i *hi,
                                                              __m256i *lo)
{
    __m256i pe = _mm256_mul_epu32(m, x);
    __m256i po = _mm256_mul_epu32(m, _mm256_srli_epi64(x, 32));
    *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

__attribute__((target("avx2"))) static void philox_avx2(uint32_t k0, uint32_t k1, uint32_t first,
                                                        uint32_t c2, uint32_t c3,
                                                        uint32_t *restrict w)
{
    const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u), m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int b = 0; b < LANES; b += 8) {
        __m256i x0 = _mm256_add_epi32(_mm256_set1_epi32((int)(first + (uint32_t)b)), lane);
        __m256i x1 = _mm256_setzero_si256();
        __m256i x2 = _mm256_set1_epi32((int)c2), x3 = _mm256_set1_epi32((int)c3);
        uint32_t a0 = k0, a1 = k1;
        for (int r = 0; r < 10; r++) {
            __m256i h0, l0, h1, l1;
            mulhilo8(m0, x0, &h0, &l0);
            mulhilo8(m1, x2, &h1, &l1);
            x0 = _mm256_xor_si256(_mm256_xor_si256(h1, x1), _mm256_set1_epi32((int)a0));
            x2 = _mm256_xor_si256(_mm256_xor_si256(h0, x3), _mm256_set1_epi32((int)a1));
            x1 = l1;
            x3 = l0;
            a0 += 0x9E3779B9u;
            a1 += 0xBB67AE85u;
        }
        _mm256_storeu_si256((__m256i *)(w + b), x0);
        _mm256_storeu_si256((__m256i *)(w + LANES + b), x1);
        _mm256_storeu_si256((__m256i *)(w + 2 * LANES + b), x2);
        _mm256_storeu_si256((__m256i *)(w + 3 * LANES + b), x3);
    }
}
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

static inline uint32_t rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

/* xoshiro128++ words of one block from the lane states st[k * LANES + l]: w[t * LANES + l]. */
static void xoshiro_generic(const uint32_t *restrict st, uint32_t *restrict w)
{
    for (int l = 0; l < LANES; l++) {
        uint32_t s0 = st[l], s1 = st[LANES + l], s2 = st[2 * LANES + l], s3 = st[3 * LANES + l];
        s0 |= (s0 | s1 | s2 | s3) == 0;
        for (int t = 0; t < STEPS; t++) {
            w[t * LANES + l] = rotl32(s0 + s3, 7) + s0;
            uint32_t u = s1 << 9;
            s2 ^= s0;
            s3 ^= s1;
            s1 ^= s2;
            s0 ^= s3;
            s2 ^= u;
            s3 = rotl32(s3, 11);
        }
    }
}

#ifdef HAVE_X86
__attribute__((target("avx2"))) static inline __m256i rotl8x32(__m256i x, int k)
{
    return _mm256_or_si256(_mm256_slli_epi32(x, k), _mm256_srli_epi32(x, 32 - k));
}

__attribute__((target("avx2"))) static void xoshiro_avx2(const uint32_t *restrict st,
                                                         uint32_t *restrict w)
{
    const __m256i one = _mm256_set1_epi32(1), zero = _mm256_setzero_si256();
    for (int l = 0; l < LANES; l += 8) {
        __m256i s0 = _mm256_loadu_si256((const __m256i *)(st + l));
        __m256i s1 = _mm256_loadu_si256((const __m256i *)(st + LANES + l));
        __m256i s2 = _mm256_loadu_si256((const __m256i *)(st + 2 * LANES + l));
        __m256i s3 = _mm256_loadu_si256((const __m256i *)(st + 3 * LANES + l));
        __m256i all = _mm256_or_si256(_mm256_or_si256(s0, s1), _mm256_or_si256(s2, s3));
        s0 = _mm256_or_si256(s0, _mm256_and_si256(_mm256_cmpeq_epi32(all, zero), one));
        for (int t = 0; t < STEPS; t++) {
            __m256i r = _mm256_add_epi32(rotl8x32(_mm256_add_epi32(s0, s3), 7), s0);
            _mm256_storeu_si256((__m256i *)(w + t * LANES + l), r);
            __m256i u = _mm256_slli_epi32(s1, 9);
            s2 = _mm256_xor_si256(s2, s0);
            s3 = _mm256_xor_si256(s3, s1);
            s1 = _mm256_xor_si256(s1, s2);
            s0 = _mm256_xor_si256(s0, s3);
            s2 = _mm256_xor_si256(s2, u);
            s3 = rotl8x32(s3, 11);
        }
    }
}
#endif

/* The normal of a 16-bit value h: table entry h >> 4 (a 1/4096 quantile bin), or, in the two
 * outermost of those bins, the entry of h's own 1/65536 bin (low tail, then high tail). */
static inline float table_normal(uint32_t h, const float *restrict T)
{
    const uint32_t c = h >> 4;
    if (__builtin_expect(c - 1u >= COARSE - 2u, 0))
        return T[COARSE + (c ? 16u : 0u) + (h & 15u)];
    return T[c];
}

/* Table normals of NW words: normals 2i and 2i + 1 from the low and high half of word i
 * (scalar loads from a table that stays in L1: AVX2 gathers are slower). */
__attribute__((optimize("no-tree-vectorize"))) static void
table_normals(const uint32_t *restrict w, const float *restrict T, float *restrict out)
{
    for (int i = 0; i < NW; i++) {
        uint32_t v = w[i];
        out[2 * i] = table_normal(v & 0xffffu, T);
        out[2 * i + 1] = table_normal(v >> 16, T);
    }
}

static void normal_block(uint64_t key, uint64_t call, int64_t block, const float *T,
                         uint32_t *words, float *out)
{
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32), states[4 * LANES];
    uint32_t c2 = (uint32_t)call, c3 = (uint32_t)(call >> 32), first = (uint32_t)(block * LANES);
#ifdef HAVE_X86
    if (__builtin_cpu_supports("avx2")) {
        philox_avx2(k0, k1, first, c2, c3, states);
        xoshiro_avx2(states, words);
    } else
#endif
    {
        philox_generic(k0, k1, first, c2, c3, states);
        xoshiro_generic(states, words);
    }
    table_normals(words, T, out);
}

/* The first n normals of stream (key, call); n need not be a multiple of NB. */
void cim_normals(uint64_t key, uint64_t call, int64_t n, const float *T, float *out)
{
    uint32_t words[NW];
    float buf[NB];
    for (int64_t i = 0; i < n; i += NB) {
        int64_t len = n - i < NB ? n - i : NB;
        normal_block(key, call, i / NB, T, words, buf);
        memcpy(out + i, buf, (size_t)len * sizeof(float));
    }
}

int64_t cim_read(const float *restrict codes, int64_t G, int64_t M, int64_t P, int64_t sg,
                 int64_t sm, int64_t NX, int dac, const float *restrict wts, int64_t W,
                 int64_t PC, const float *restrict inv, const float *restrict inv2, float rs2,
                 float os2, int noisy, uint64_t key, uint64_t call, const float *restrict T,
                 float kmax, const float *restrict coef, const float *restrict d,
                 float *restrict z, float *restrict out, int nthreads);

/* One chunk of reads of cells perturbed once per call or per input cycle (NeuroSim V1.5's read
 * noise: one draw per cell, shared by the batch), from the programmed levels to cim_read.
 *
 * n0: programmed normalised levels (W, R, PC) float32; rows: (G, P) int64 crossbar row of each
 * read group's inputs; eps: the call's normals (W, R, PC), eps_ref: (W, R) normals of the
 * subtracted off-state reference cell of each row (NULL: none). Cell (g, p, w * PC + c) of row
 * r = rows[g, p] reads, in float32 and in this order (as cimsweep.cim.per_call.perturbed):
 *   gc = n0 * k + cc;  u = (gc - cc) + c;  s = mult ? max(gc, 0) * sig : sig;
 *   v = u + eps * s;   v = v - eps_ref * sref (with a reference).
 * shift >= 0: the reads take the single DAC slice (codes >> shift) & (2**dac - 1) (one input
 * cycle, NX must be 1, coef ignored); shift < 0: all NX slices with coef, as cim_read. buf:
 * scratch of G * P * (W * PC) floats, plus G * M * P with shift >= 0 (NULL: allocated here). The
 * other arguments are cim_read's (noise: output noise only, per read; nthreads: its threads).
 * Returns the clipped-read count, or -1 when out of memory.
 */
CLONES int64_t cim_cycle_read(const float *restrict codes, int64_t G, int64_t M, int64_t P,
                              int64_t sg, int64_t sm, int64_t NX, int dac, int shift,
                              const float *restrict n0, const int64_t *restrict rows, int64_t R,
                              int64_t W, int64_t PC, float k, float cc, float c, int mult,
                              float sig, const float *restrict eps,
                              const float *restrict eps_ref, float sref,
                              const float *restrict inv, const float *restrict inv2, float rs2,
                              float os2, int noisy, uint64_t key, uint64_t call,
                              const float *restrict T, float kmax, const float *restrict coef,
                              const float *restrict d, float *restrict z, float *restrict out,
                              float *restrict buf, int nthreads)
{
    const int64_t N = W * PC;
    const int sliced = shift >= 0;
    float *wts = buf ? buf : malloc((size_t)(G * P * N + (sliced ? G * M * P : 0)) * sizeof(float));
    if (!wts)
        return -1;
    for (int64_t g = 0; g < G; g++)
        for (int64_t p = 0; p < P; p++) {
            const int64_t r = rows[g * P + p];
            for (int64_t w = 0; w < W; w++) {
                const float *restrict nr = n0 + (w * R + r) * PC;
                const float *restrict er = eps + (w * R + r) * PC;
                float *restrict v = wts + (g * P + p) * N + w * PC;
                if (mult)
                    for (int64_t j = 0; j < PC; j++) {
                        const float gj = nr[j] * k + cc;
                        v[j] = ((gj - cc) + c) + er[j] * ((gj > 0.0f ? gj : 0.0f) * sig);
                    }
                else
                    for (int64_t j = 0; j < PC; j++)
                        v[j] = ((nr[j] * k + cc - cc) + c) + er[j] * sig;
                if (eps_ref) {
                    const float ref = eps_ref[w * R + r] * sref;
                    for (int64_t j = 0; j < PC; j++)
                        v[j] = v[j] - ref;
                }
            }
        }
    int64_t clipped;
    if (sliced) {
        const int32_t mask = (1 << dac) - 1;
        float *x = wts + G * P * N, one = 1.0f;
        for (int64_t g = 0; g < G; g++)
            for (int64_t m = 0; m < M; m++) {
                const float *restrict row = codes + g * sg + m * sm;
                float *restrict xr = x + (g * M + m) * P;
                for (int64_t j = 0; j < P; j++)
                    xr[j] = (float)(((int32_t)row[j] >> shift) & mask);
            }
        clipped = cim_read(x, G, M, P, M * P, P, 1, dac, wts, W, PC, inv, inv2, rs2, os2, noisy,
                           key, call, T, kmax, &one, d, z, out, nthreads);
    } else
        clipped = cim_read(codes, G, M, P, sg, sm, NX, dac, wts, W, PC, inv, inv2, rs2, os2,
                           noisy, key, call, T, kmax, coef, d, z, out, nthreads);
    if (!buf)
        free(wts);
    return clipped;
}

/* ADC code of a read v (in ADC steps): rounded half to even (rint, default rounding mode),
 * clamped to [0, kmax]; *clip += 1 when the rounded read falls outside. */
static inline float adc_code(float v, float kmax, int32_t *clip)
{
    const float q = __builtin_rintf(v);
    float code = q < 0.0f ? 0.0f : q;
    code = code > kmax ? kmax : code;
    *clip += q != code;
    return code;
}

/* z[c] += cx * code(y[c] * s + eps[c] * sd) (s, sd: one weight slice's); returns the clipped
 * count. */
static inline int32_t adc_noisy(const float *restrict y, const float *restrict eps, float s,
                                float sd, float kmax, float cx, float *restrict z, int64_t n)
{
    int32_t clip = 0;
    for (int64_t c = 0; c < n; c++)
        z[c] += cx * adc_code(y[c] * s + eps[c] * sd, kmax, &clip);
    return clip;
}

/* z[c] += cx * code(y[c] * s); returns the clipped count. */
static inline int32_t adc_exact(const float *restrict y, float s, float kmax, float cx,
                                float *restrict z, int64_t n)
{
    int32_t clip = 0;
    for (int64_t c = 0; c < n; c++)
        z[c] += cx * adc_code(y[c] * s, kmax, &clip);
    return clip;
}

/* DAC slices of integer input codes, least significant first, and their per-read input power.
 *
 * codes: int32 (G, M, P) with element strides (sg, sm, 1); x: (G, NX, M, P) float32 slices
 * (codes >> (ix * dac)) & (2**dac - 1); sx2: (G, NX, M) sum over P of x**2, or NULL.
 */
CLONES void cim_slices(const int32_t *restrict codes, int64_t G, int64_t M, int64_t P, int64_t sg,
                       int64_t sm, int64_t NX, int dac, float *restrict x, float *restrict sx2)
{
    const int32_t mask = (1 << dac) - 1;
    for (int64_t g = 0; g < G; g++)
        for (int64_t ix = 0; ix < NX; ix++) {
            const int shift = (int)ix * dac;
            for (int64_t m = 0; m < M; m++) {
                const int32_t *restrict row = codes + g * sg + m * sm;
                float *restrict xr = x + ((g * NX + ix) * M + m) * P;
                int32_t acc = 0;
                for (int64_t j = 0; j < P; j++) {
                    int32_t v = (row[j] >> shift) & mask;
                    xr[j] = (float)v;
                    acc += v * v;
                }
                if (sx2)
                    sx2[(g * NX + ix) * M + m] = (float)acc;
            }
        }
}


/* Nonzero DAC slice values of one input row: their row indices nz and values val (both with
 * room for P + 8 entries); *sq = sum of squared slice values. Returns their count. */
static int64_t slice_row_generic(const float *restrict row, int64_t P, int shift, int32_t mask,
                                 int32_t *restrict nz, float *restrict val, int32_t *sq)
{
    int64_t cnt = 0;
    int32_t acc = 0;
    for (int64_t k = 0; k < P; k++) {
        int32_t v = ((int32_t)row[k] >> shift) & mask;
        acc += v * v;
        nz[cnt] = (int32_t)k;
        val[cnt] = (float)v;
        cnt += v != 0;
    }
    *sq = acc;
    return cnt;
}

/* y[n] = sum over t (ascending) of val[t] * wg[nz[t] * N + n], from y = +0; unit: all val 1. */
static void partial_sums_generic(const float *restrict wg, int64_t N, const int32_t *restrict nz,
                                 const float *restrict val, int64_t cnt, int unit,
                                 float *restrict y)
{
    memset(y, 0, (size_t)N * sizeof(float));
    for (int64_t t = 0; t < cnt; t++) {
        const float v = val[t];
        const float *restrict wr = wg + (int64_t)nz[t] * N;
        if (unit)
            for (int64_t n = 0; n < N; n++)
                y[n] += wr[n];
        else
            for (int64_t n = 0; n < N; n++)
                y[n] += v * wr[n];
    }
}

#ifdef HAVE_X86
static int32_t compress_lanes[256][8]; /* lanes of the set bits of each 8-bit mask, packed low */

__attribute__((constructor)) static void init_compress_lanes(void)
{
    for (int m = 0; m < 256; m++) {
        int c = 0;
        for (int b = 0; b < 8; b++)
            if (m >> b & 1)
                compress_lanes[m][c++] = b;
        while (c < 8)
            compress_lanes[m][c++] = 0;
    }
}

__attribute__((target("avx2,popcnt"))) static int64_t
slice_row_avx2(const float *restrict row, int64_t P, int shift, int32_t mask,
               int32_t *restrict nz, float *restrict val, int32_t *sq)
{
    const __m128i sh = _mm_cvtsi32_si128(shift);
    const __m256i mk = _mm256_set1_epi32(mask), lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i acc = _mm256_setzero_si256();
    int64_t cnt = 0, k = 0;
    for (; k + 8 <= P; k += 8) {
        __m256i c = _mm256_cvttps_epi32(_mm256_loadu_ps(row + k));
        __m256i v = _mm256_and_si256(_mm256_srl_epi32(c, sh), mk);
        acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(v, v));
        int bits = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(v, _mm256_setzero_si256())));
        __m256i perm = _mm256_loadu_si256((const __m256i *)compress_lanes[bits]);
        __m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int)k), lane);
        _mm256_storeu_si256((__m256i *)(nz + cnt), _mm256_permutevar8x32_epi32(idx, perm));
        _mm256_storeu_ps(val + cnt, _mm256_permutevar8x32_ps(_mm256_cvtepi32_ps(v), perm));
        cnt += __builtin_popcount((unsigned)bits);
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    int32_t total = 0;
    for (int b = 0; b < 8; b++)
        total += lanes[b];
    int32_t rest;
    int64_t tail = slice_row_generic(row + k, P - k, shift, mask, nz + cnt, val + cnt, &rest);
    for (int64_t t = cnt; t < cnt + tail; t++)
        nz[t] += (int32_t)k;
    cnt += tail;
    *sq = total + rest;
    return cnt;
}

/* Columns [n0, n0 + 8K) of the partial sums, in K registers. */
__attribute__((target("avx2"), always_inline)) static inline void
sums_block(const float *restrict wg, int64_t N, int64_t n0, const int32_t *restrict nz,
           const float *restrict val, int64_t cnt, int unit, float *restrict y, const int K)
{
    __m256 a[8];
    for (int k = 0; k < K; k++)
        a[k] = _mm256_setzero_ps();
    if (unit) {
        for (int64_t t = 0; t < cnt; t++) {
            const float *wr = wg + (int64_t)nz[t] * N + n0;
            for (int k = 0; k < K; k++)
                a[k] = _mm256_add_ps(a[k], _mm256_loadu_ps(wr + 8 * k));
        }
    } else {
        for (int64_t t = 0; t < cnt; t++) {
            const float *wr = wg + (int64_t)nz[t] * N + n0;
            const __m256 v = _mm256_set1_ps(val[t]);
            for (int k = 0; k < K; k++)
                a[k] = _mm256_add_ps(a[k], _mm256_mul_ps(v, _mm256_loadu_ps(wr + 8 * k)));
        }
    }
    for (int k = 0; k < K; k++)
        _mm256_storeu_ps(y + n0 + 8 * k, a[k]);
}

/* Columns [n0, n1) of the partial sums (any column split gives the same numbers: every column
 * is summed over t ascending from +0 alone). */
__attribute__((target("avx2"))) static void
partial_sums_avx2(const float *restrict wg, int64_t N, int64_t n0, int64_t n1,
                  const int32_t *restrict nz, const float *restrict val, int64_t cnt, int unit,
                  float *restrict y)
{
    for (; n0 + 64 <= n1; n0 += 64)
        sums_block(wg, N, n0, nz, val, cnt, unit, y, 8);
    if (n0 + 32 <= n1) {
        sums_block(wg, N, n0, nz, val, cnt, unit, y, 4);
        n0 += 32;
    }
    if (n0 + 16 <= n1) {
        sums_block(wg, N, n0, nz, val, cnt, unit, y, 2);
        n0 += 16;
    }
    if (n0 + 8 <= n1) {
        sums_block(wg, N, n0, nz, val, cnt, unit, y, 1);
        n0 += 8;
    }
    for (; n0 < n1; n0++) {
        float a = 0.0f;
        for (int64_t t = 0; t < cnt; t++) {
            const float w = wg[(int64_t)nz[t] * N + n0];
            a += unit ? w : val[t] * w;
        }
        y[n0] = a;
    }
}

/* Partial sums of nb reads of one read group (read r: nz + r * stride, val + r * stride,
 * cnt[r]; y + r * N), column tile by column tile, so that a tile of the group's cell weights
 * (P x SUM_TILE floats) is reused from cache by all nb reads instead of streamed once per read
 * (the same numbers as one read at a time). */
#ifndef SUM_TILE
#define SUM_TILE 256
#endif
__attribute__((target("avx2"))) static void
batch_sums_avx2(const float *restrict wg, int64_t N, const int32_t *restrict nz,
                const float *restrict val, const int64_t *restrict cnt, int64_t nb,
                int64_t stride, int unit, float *restrict y)
{
    for (int64_t n0 = 0; n0 < N; n0 += SUM_TILE) {
        const int64_t n1 = n0 + SUM_TILE < N ? n0 + SUM_TILE : N;
        for (int64_t r = 0; r < nb; r++)
            partial_sums_avx2(wg, N, n0, n1, nz + r * stride, val + r * stride, cnt[r], unit,
                              y + r * N);
    }
}

/* Columns [n0, n0 + 16K) of the partial sums in K AVX-512 registers (as sums_block). */
__attribute__((target("avx512f"), always_inline)) static inline void
sums_block_512(const float *restrict wg, int64_t N, int64_t n0, const int32_t *restrict nz,
               const float *restrict val, int64_t cnt, int unit, float *restrict y, const int K)
{
    __m512 a[8];
    for (int k = 0; k < K; k++)
        a[k] = _mm512_setzero_ps();
    if (unit) {
        for (int64_t t = 0; t < cnt; t++) {
            const float *wr = wg + (int64_t)nz[t] * N + n0;
            for (int k = 0; k < K; k++)
                a[k] = _mm512_add_ps(a[k], _mm512_loadu_ps(wr + 16 * k));
        }
    } else {
        for (int64_t t = 0; t < cnt; t++) {
            const float *wr = wg + (int64_t)nz[t] * N + n0;
            const __m512 v = _mm512_set1_ps(val[t]);
            for (int k = 0; k < K; k++)
                a[k] = _mm512_add_ps(a[k], _mm512_mul_ps(v, _mm512_loadu_ps(wr + 16 * k)));
        }
    }
    for (int k = 0; k < K; k++)
        _mm512_storeu_ps(y + n0 + 16 * k, a[k]);
}

/* batch_sums_avx2 with 16-wide blocks of 128 columns (the rest as partial_sums_avx2). */
__attribute__((target("avx512f"))) static void
batch_sums_512(const float *restrict wg, int64_t N, const int32_t *restrict nz,
               const float *restrict val, const int64_t *restrict cnt, int64_t nb,
               int64_t stride, int unit, float *restrict y)
{
    for (int64_t n0 = 0; n0 < N; n0 += SUM_TILE) {
        const int64_t n1 = n0 + SUM_TILE < N ? n0 + SUM_TILE : N;
        for (int64_t r = 0; r < nb; r++) {
            int64_t c = n0;
            for (; c + 128 <= n1; c += 128)
                sums_block_512(wg, N, c, nz + r * stride, val + r * stride, cnt[r], unit,
                               y + r * N, 8);
            if (c < n1)
                partial_sums_avx2(wg, N, c, n1, nz + r * stride, val + r * stride, cnt[r], unit,
                                  y + r * N);
        }
    }
}

/* Two-valued cells (binary reads): the cell weight of row k, column n is f1 where bit n % 16 of
 * word bits[k * N16 + n / 16] is set, else f0. One row's words b0 .. b0 + K - 1 (K 1, or a
 * multiple of 4: 64-bit mask loads) added to the K registers: a[k] += bit ? p1 : p0. */
__attribute__((target("avx512f,avx512bw"), always_inline)) static inline void
bin_row(__m512 *a, const uint16_t *restrict br, __m512 p0, __m512 p1, const int K)
{
    if (K % 4) {
        for (int k = 0; k < K; k++) {
            const __mmask16 mk = _load_mask16((__mmask16 *)(br + k));
            a[k] = _mm512_add_ps(a[k], _mm512_mask_blend_ps(mk, p0, p1));
        }
        return;
    }
    for (int k = 0; k < K; k += 4) {
        const __mmask64 m = _load_mask64((__mmask64 *)(br + k));
        a[k] = _mm512_add_ps(a[k], _mm512_mask_blend_ps((__mmask16)m, p0, p1));
        for (int q = 1; q < 4; q++) {
            const __mmask16 mq = (__mmask16)_kshiftri_mask64(m, 16 * q);
            a[k + q] = _mm512_add_ps(a[k + q], _mm512_mask_blend_ps(mq, p0, p1));
        }
    }
}

/* Columns [16 * b0, 16 * (b0 + K)) of the binary partial sums (stored up to column n1), in K
 * registers: the same float32 operations, in the same order, as the float path on those
 * weights (a + w, or a + v * w with v * w rounded once). */
__attribute__((target("avx512f,avx512bw"), always_inline)) static inline void
bin_block(const uint16_t *restrict bits, int64_t N16, int64_t b0, int64_t n1,
          const int32_t *restrict nz, const float *restrict val, int64_t cnt, int unit, float f0,
          float f1, float *restrict y, const int K)
{
    __m512 a[8];
    for (int k = 0; k < K; k++)
        a[k] = _mm512_setzero_ps();
    if (unit) {
        const __m512 w0 = _mm512_set1_ps(f0), w1 = _mm512_set1_ps(f1);
        for (int64_t t = 0; t < cnt; t++)
            bin_row(a, bits + (int64_t)nz[t] * N16 + b0, w0, w1, K);
    } else {
        for (int64_t t = 0; t < cnt; t++)
            bin_row(a, bits + (int64_t)nz[t] * N16 + b0, _mm512_set1_ps(val[t] * f0),
                    _mm512_set1_ps(val[t] * f1), K);
    }
    for (int k = 0; k < K; k++) {
        const int64_t c0 = 16 * (b0 + k), left = n1 - c0;
        if (left >= 16)
            _mm512_storeu_ps(y + c0, a[k]);
        else if (left > 0)
            _mm512_mask_storeu_ps(y + c0, (__mmask16)((1u << left) - 1u), a[k]);
    }
}

#ifndef BIN_TILE
#define BIN_TILE 1024 /* columns of a tile of binary reads (multiple of 128) */
#endif
/* Binary partial sums of nb reads of one read group (as batch_sums_avx2), tile by tile. */
__attribute__((target("avx512f,avx512bw"))) static void
batch_bin_512(const uint16_t *restrict bits, int64_t N, const int32_t *restrict nz,
              const float *restrict val, const int64_t *restrict cnt, int64_t nb, int64_t stride,
              int unit, float f0, float f1, float *restrict y)
{
    const int64_t N16 = (N + 15) / 16;
    for (int64_t t0 = 0; t0 < N16; t0 += BIN_TILE / 16) {
        const int64_t t1 = t0 + BIN_TILE / 16 < N16 ? t0 + BIN_TILE / 16 : N16;
        for (int64_t r = 0; r < nb; r++) {
            const int32_t *z = nz + r * stride;
            const float *v = val + r * stride;
            float *yr = y + r * N;
            int64_t b = t0;
            for (; b + 8 <= t1; b += 8)
                bin_block(bits, N16, b, N, z, v, cnt[r], unit, f0, f1, yr, 8);
            if (b + 4 <= t1) {
                bin_block(bits, N16, b, N, z, v, cnt[r], unit, f0, f1, yr, 4);
                b += 4;
            }
            for (; b < t1; b++)
                bin_block(bits, N16, b, N, z, v, cnt[r], unit, f0, f1, yr, 1);
        }
    }
}
#endif

/* Binary partial sums, portable: y[n] = sum over t (ascending) of the weight f0 / f1 of row
 * nz[t], column n (times val[t] unless unit), from y = +0. */
static void bin_sums_generic(const uint16_t *restrict bits, int64_t N, const int32_t *restrict nz,
                             const float *restrict val, int64_t cnt, int unit, float f0,
                             float f1, float *restrict y)
{
    const int64_t N16 = (N + 15) / 16;
    memset(y, 0, (size_t)N * sizeof(float));
    for (int64_t t = 0; t < cnt; t++) {
        const uint16_t *restrict br = bits + (int64_t)nz[t] * N16;
        const float p0 = unit ? f0 : val[t] * f0, p1 = unit ? f1 : val[t] * f1;
        for (int64_t n = 0; n < N; n++)
            y[n] += (br[n / 16] >> (n % 16) & 1u) ? p1 : p0;
    }
}

/* o[j] = s[j * dw] for j < kw; constant-size copies for the usual odd contiguous kernels. */
static inline void copy_run(float *restrict o, const float *restrict s, int64_t kw, int64_t dw)
{
    if (dw == 1)
        switch (kw) {
        case 1: memcpy(o, s, 1 * sizeof(float)); return;
        case 3: memcpy(o, s, 3 * sizeof(float)); return;
        case 5: memcpy(o, s, 5 * sizeof(float)); return;
        case 7: memcpy(o, s, 7 * sizeof(float)); return;
        default: break;
        }
    for (int64_t j = 0; j < kw; j++)
        o[j] = s[j * dw];
}

/* Patches of a padded NCHW float32 input: out (N * Ho * Wo, C * kh * kw), columns in
 * (c, i, j) order, out[(n, ho, wo), (c, i, j)] = xp[n, c, ho * sh + i * dh, wo * sw + j * dw]. */
void cim_im2col(const float *restrict xp, int64_t N, int64_t C, int64_t Hp, int64_t Wp,
                int64_t Ho, int64_t Wo, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                int64_t dh, int64_t dw, float *restrict out)
{
    float *o = out;
    for (int64_t n = 0; n < N; n++)
        for (int64_t ho = 0; ho < Ho; ho++)
            for (int64_t wo = 0; wo < Wo; wo++) {
                const float *b = xp + (n * C * Hp + ho * sh) * Wp + wo * sw;
                for (int64_t c = 0; c < C; c++, b += Hp * Wp)
                    for (int64_t i = 0; i < kh; i++, o += kw)
                        copy_run(o, b + i * dh * Wp, kw, dw);
            }
}

/* ------------------------------------------------------------------ read chunks, threaded
 * One chunk of crossbar reads, from integer input codes (cim_read: sparse partial sums) or from
 * precomputed partial sums (cim_read_sums: dense reads, e.g. a BLAS matmul) to shift-added ADC
 * codes, on nthreads threads. Each thread owns a contiguous range of (g, m) read rows; the noise
 * of read i is normal i of stream (key, call) whichever thread draws it (blocks are counter-
 * based), and every float operation of a row is the same as on one thread, so results never
 * depend on the thread count. */
struct read_job {
    const float *codes;  /* (G, M, P) strides (sg, sm, 1), or NULL with ys */
    const float *ys;     /* (G, NX, M, N) partial sums, or NULL with codes */
    const float *sx2s;   /* (G, NX, M) input power of ys, or NULL (noise-free) */
    const float *sxs;    /* (G, NX, M) input sums of ys, or NULL (no baseline) */
    float base;          /* off-state baseline of the cells behind ys (unit products) */
    int64_t G, M, P, sg, sm, NX, W, PC;
    int dac, noisy;
    const float *wts, *inv, *inv2, *T, *coef, *d;
    float rs2, os2, kmax;
    uint64_t key, call;
    float *z, *out;
    int64_t u0, u1;     /* rows (g * M + m) of phase 0, rows m of phase 1 */
    int phase;          /* 0: reads into z; 1: shift-add z into out */
    int64_t clipped;    /* result; -1: out of memory */
    const uint16_t *bits; /* binary reads: (G, P, ceil(N / 16)) cell bits, or NULL */
    float f0, f1;         /* binary reads: the weights of clear and set bits */
    int64_t m_lo, m_hi;   /* the rows m of the chunk read here (all: 0, M) */
};

#ifndef SUMS_512
#define SUMS_512 1
#endif
#ifndef BATCH_FLOATS
#define BATCH_FLOATS (1 << 16) /* partial sums of one batch of sparse reads (floats, 256 KB) */
#endif

/* Sparse reads: the slices and partial sums of reads m0 .. m0 + nb - 1 of group g, slice ix,
 * into y (nb rows of N) and their input powers into sq. */
CLONES static void sparse_sums(const struct read_job *j, int64_t g, int64_t m0, int64_t nb,
                               int shift, const float *wg, int32_t *restrict nz,
                               float *restrict val, int64_t *restrict cnt,
                               int32_t *restrict sq, float *restrict y)
{
    const int64_t N = j->W * j->PC, P = j->P, stride = P + 8;
    const int32_t mask = (1 << j->dac) - 1;
    const int unit = j->dac == 1;
    const uint16_t *bg = j->bits ? j->bits + g * P * ((N + 15) / 16) : NULL;
#ifdef HAVE_X86
    if (bg && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
        for (int64_t r = 0; r < nb; r++)
            cnt[r] = slice_row_avx2(j->codes + g * j->sg + (m0 + r) * j->sm, P, shift, mask,
                                    nz + r * stride, val + r * stride, sq + r);
        batch_bin_512(bg, N, nz, val, cnt, nb, stride, unit, j->f0, j->f1, y);
        return;
    }
    if (wg && __builtin_cpu_supports("avx2")) {
        for (int64_t r = 0; r < nb; r++)
            cnt[r] = slice_row_avx2(j->codes + g * j->sg + (m0 + r) * j->sm, P, shift, mask,
                                    nz + r * stride, val + r * stride, sq + r);
        if (SUMS_512 && __builtin_cpu_supports("avx512f"))
            batch_sums_512(wg, N, nz, val, cnt, nb, stride, unit, y);
        else
            batch_sums_avx2(wg, N, nz, val, cnt, nb, stride, unit, y);
        return;
    }
#endif
    for (int64_t r = 0; r < nb; r++) {
        cnt[r] = slice_row_generic(j->codes + g * j->sg + (m0 + r) * j->sm, P, shift, mask, nz,
                                   val, sq + r);
        if (wg)
            partial_sums_generic(wg, N, nz, val, cnt[r], unit, y + r * N);
        else
            bin_sums_generic(bg, N, nz, val, cnt[r], unit, j->f0, j->f1, y + r * N);
    }
}

/* Phase 0 on rows [u0, u1) of (g, m): y, noise, ADC and the input shift-add into z. Sparse reads
 * run in batches of consecutive m (sparse_sums), then noise and ADC read by read, in order. */
CLONES static void read_rows(struct read_job *j)
{
    const int64_t N = j->W * j->PC, M = j->M, P = j->P, W = j->W, PC = j->PC, NX = j->NX;
    const float kmax = j->kmax;
    int64_t B = BATCH_FLOATS / (N > 0 ? N : 1);
    B = j->ys ? 1 : B < 1 ? 1 : B > M ? M : B;
    /* baseline row (N), sd per weight slice (2 N reserved), noise block (NB), batch sums (B * N),
     * slice values (B * (P + 8)) */
    float *buf = malloc((size_t)(3 * N + NB + B * N + B * (P + 8)) * sizeof(float));
    int32_t *nz = malloc((size_t)(B * (P + 8) + B) * sizeof(int32_t));
    int64_t *cnt = malloc((size_t)B * sizeof(int64_t));
    if (!buf || !nz || !cnt) {
        free(buf);
        free(nz);
        free(cnt);
        j->clipped = -1;
        return;
    }
    float *sd = buf + N, *eps = sd + 2 * N, *ybat = eps + NB, *val = ybat + B * N;
    int32_t *sq = nz + B * (P + 8);
    uint32_t words[NW];
    int64_t clipped = 0, have = -1; /* have: the noise block in eps */
    for (int64_t g = j->u0 / M; g < j->G && g * M < j->u1; g++) {
        int64_t ma = j->u0 > g * M ? j->u0 - g * M : 0;
        int64_t mb = j->u1 < (g + 1) * M ? j->u1 - g * M : M;
        ma = ma > j->m_lo ? ma : j->m_lo;
        mb = mb < j->m_hi ? mb : j->m_hi;
        if (ma >= mb)
            continue;
        const float *wg = j->wts ? j->wts + g * P * N : NULL;
        const float *restrict sc = j->inv + g * W; /* 1 / ADC step of each weight slice */
        memset(j->z + (g * M + ma) * N, 0, (size_t)((mb - ma) * N) * sizeof(float));
        for (int64_t ix = 0; ix < NX; ix++) {
            const int shift = (int)ix * j->dac;
            const float cx = j->coef[ix];
            for (int64_t m0 = ma; m0 < mb; m0 += B) {
                const int64_t nb = mb - m0 < B ? mb - m0 : B;
                if (!j->ys)
                    sparse_sums(j, g, m0, nb, shift, wg, nz, val, cnt, sq, ybat);
                for (int64_t m = m0; m < m0 + nb; m++) {
                    const float *y;
                    float sx2;
                    if (j->ys) {
                        const int64_t r = (g * NX + ix) * M + m;
                        y = j->ys + r * N;
                        sx2 = j->sx2s ? j->sx2s[r] : 0.0f;
                        if (j->sxs) { /* the baseline's share, once per read */
                            const float cb = j->sxs[r] * j->base;
                            for (int64_t c = 0; c < N; c++)
                                buf[c] = y[c] + cb;
                            y = buf;
                        }
                    } else {
                        y = ybat + (m - m0) * N;
                        sx2 = (float)sq[m - m0];
                    }
                    float *zr = j->z + (g * M + m) * N;
                    if (!j->noisy) {
                        for (int64_t w = 0; w < W; w++)
                            clipped += adc_exact(y + w * PC, sc[w], kmax, cx, zr + w * PC, PC);
                        continue;
                    }
                    for (int64_t w = 0; w < W; w++)
                        sd[w] = __builtin_sqrtf((sx2 * j->inv2[g * W + w]) * j->rs2 + j->os2);
                    int64_t i = ((g * NX + ix) * M + m) * N; /* this read's first normal */
                    for (int64_t c = 0; c < N;) {
                        const int64_t block = i / NB, pos = i % NB;
                        if (block != have) {
                            normal_block(j->key, j->call, block, j->T, words, eps);
                            have = block;
                        }
                        const int64_t w = c / PC, end = (w + 1) * PC; /* this weight slice */
                        const int64_t len = end - c < NB - pos ? end - c : NB - pos;
                        clipped += adc_noisy(y + c, eps + pos, sc[w], sd[w], kmax, cx, zr + c,
                                             len);
                        i += len;
                        c += len;
                    }
                }
            }
        }
    }
    free(buf);
    free(nz);
    free(cnt);
    j->clipped = clipped;
}

/* Phase 1 on rows [u0, u1) of out: out[m, c] += sum over g, then w of z[g, m, w, c] * d[g, w]. */
static void shift_add_rows(struct read_job *j)
{
    const int64_t M = j->M, W = j->W, PC = j->PC;
    float *acc = malloc((size_t)PC * sizeof(float));
    if (!acc) {
        j->clipped = -1;
        return;
    }
    for (int64_t m = j->u0; m < j->u1; m++) {
        memset(acc, 0, (size_t)PC * sizeof(float));
        for (int64_t g = 0; g < j->G; g++)
            for (int64_t w = 0; w < W; w++) {
                const float dw = j->d[g * W + w];
                const float *restrict zr = j->z + ((g * M + m) * W + w) * PC;
                for (int64_t c = 0; c < PC; c++)
                    acc[c] += zr[c] * dw;
            }
        for (int64_t c = 0; c < PC; c++)
            j->out[m * PC + c] += acc[c];
    }
    free(acc);
    j->clipped = 0;
}

static void *run_job(void *arg)
{
    struct read_job *j = arg;
    if (j->phase == 0)
        read_rows(j);
    else
        shift_add_rows(j);
    return NULL;
}

#define MAX_THREADS 256

/* Runs one phase over units [0, n) split into contiguous ranges, one per thread (the caller's
 * own thread takes the first); returns the summed result, or -1 when any part failed. */
static int64_t run_phase(const struct read_job *base, int phase, int64_t n, int nthreads)
{
    struct read_job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS];
    int nt = nthreads < 1 ? 1 : nthreads > MAX_THREADS ? MAX_THREADS : nthreads;
    if (nt > n)
        nt = n > 0 ? (int)n : 1;
    for (int t = 0; t < nt; t++) {
        jobs[t] = *base;
        jobs[t].phase = phase;
        jobs[t].u0 = n * t / nt;
        jobs[t].u1 = n * (t + 1) / nt;
        started[t] = t > 0 && pthread_create(&tid[t], NULL, run_job, &jobs[t]) == 0;
    }
    for (int t = 0; t < nt; t++) /* parts whose thread did not start run here */
        if (!started[t])
            run_job(&jobs[t]);
    int64_t total = 0;
    int failed = 0;
    for (int t = 0; t < nt; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        failed |= jobs[t].clipped < 0;
        total += jobs[t].clipped;
    }
    return failed ? -1 : total;
}

static int64_t read_chunk(struct read_job *j, int nthreads)
{
    if (j->m_lo > 0 || j->m_hi < j->M) { /* part of the chunk's rows, on this thread */
        j->u0 = 0;
        j->u1 = j->G * j->M;
        read_rows(j);
        const int64_t clipped = j->clipped;
        if (clipped < 0)
            return -1;
        j->u0 = j->m_lo;
        j->u1 = j->m_hi;
        shift_add_rows(j);
        return j->clipped < 0 ? -1 : clipped;
    }
    const int64_t clipped = run_phase(j, 0, j->G * j->M, nthreads);
    if (clipped < 0)
        return -1;
    return run_phase(j, 1, j->M, nthreads) < 0 ? -1 : clipped;
}

/* One chunk of crossbar reads, from integer input codes to shift-added ADC codes.
 *
 * codes: (G, M, P) integer codes held in float32, element strides (sg, sm, 1); wts: (G, P, N)
 * cell weights in unit products, N = W * PC; inv, inv2: (G, W) 1 / ADC step and its square.
 * For every read group g, input slice ix, vector m: the partial sums y[n] = sum_k x[k] *
 * wts[g, k, n] of the DAC slice x = (codes >> ix * dac) & (2**dac - 1), accumulated over k in
 * ascending order (exact for integer weights), are scaled to ADC steps (y * inv), get noise
 * normal_i * sd with sd = sqrt(sum_k x[k]**2 * inv2 * rs2 + os2) when `noisy` (normal i of
 * stream (key, call) with table T, read i: flat index of (G, NX, M, W, PC)), are rounded half
 * to even and clamped to [0, kmax]; z (G, M, W, PC) = sum over ix of coef[ix] * code (scratch),
 * and then
 * out[m, c] += sum over g, then w (ascending) of z[g, m, w, c] * d[g, w] (out: M rows of PC).
 * Returns the clipped-read count, or -1 when out of memory. nthreads: threads to use.
 */
int64_t cim_read(const float *restrict codes, int64_t G, int64_t M, int64_t P, int64_t sg,
                 int64_t sm, int64_t NX, int dac, const float *restrict wts, int64_t W,
                 int64_t PC, const float *restrict inv, const float *restrict inv2, float rs2,
                 float os2, int noisy, uint64_t key, uint64_t call, const float *restrict T,
                 float kmax, const float *restrict coef, const float *restrict d,
                 float *restrict z, float *restrict out, int nthreads)
{
    struct read_job j = {codes, NULL, NULL, NULL, 0.0f, G, M, P, sg, sm, NX, W, PC, dac, noisy,
                         wts, inv, inv2, T, coef, d, rs2, os2, kmax, key, call, z, out,
                         0, 0, 0, 0, NULL, 0.0f, 0.0f, 0, M};
    return read_chunk(&j, nthreads);
}

/* cim_read of two-valued cells: bits (G, P, ceil(N / 16)) uint16 words, bit n % 16 of word
 * (g, k, n / 16) set where cell (g, k, n) weighs f1, clear where it weighs f0 (unit products);
 * wts (G, P, N) the same cells as floats, or NULL: used instead of bits where the CPU lacks
 * AVX-512 (F and BW); bits NULL: cim_read of wts. The same numbers as cim_read on those cells
 * (same float32 operations, same order). Only rows m in [m_lo, m_hi) of the chunk are read
 * and added to out (their z rows written, the rest untouched), on this thread when that is
 * not all of them (0, M): each row's numbers as in the whole chunk. */
int64_t cim_read_binary(const float *restrict codes, int64_t G, int64_t M, int64_t P, int64_t sg,
                        int64_t sm, int64_t NX, int dac, const float *restrict wts,
                        const uint16_t *restrict bits, float f0, float f1, int64_t W, int64_t PC,
                        const float *restrict inv, const float *restrict inv2, float rs2,
                        float os2, int noisy, uint64_t key, uint64_t call,
                        const float *restrict T, float kmax, const float *restrict coef,
                        const float *restrict d, float *restrict z, float *restrict out,
                        int nthreads, int64_t m_lo, int64_t m_hi)
{
    struct read_job j = {codes, NULL, NULL, NULL, 0.0f, G, M, P, sg, sm, NX, W, PC, dac, noisy,
                         wts, inv, inv2, T, coef, d, rs2, os2, kmax, key, call, z, out,
                         0, 0, 0, 0, bits, f0, f1, m_lo, m_hi};
#ifdef HAVE_X86
    if (wts && !(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")))
        j.bits = NULL;
#endif
    return read_chunk(&j, nthreads);
}

/* cim_read from precomputed partial sums ys (G, NX, M, W * PC), float32, with their input
 * power sx2 (G, NX, M) (NULL when noise free): the same numbers as cim_read whenever ys holds
 * its partial sums (exact integer sums: any summation order). sx (G, NX, M), when not NULL:
 * each read's input sum; base * sx (float32) is then added to its partial sums first (the
 * share of a common off-state baseline base of the cells, unit products). */
int64_t cim_read_sums(const float *restrict ys, const float *restrict sx2,
                      const float *restrict sx, float base, int64_t G, int64_t M, int64_t NX,
                      int64_t W, int64_t PC, const float *restrict inv, const float *restrict inv2,
                      float rs2, float os2, int noisy, uint64_t key, uint64_t call,
                      const float *restrict T, float kmax, const float *restrict coef,
                      const float *restrict d, float *restrict z, float *restrict out,
                      int nthreads)
{
    struct read_job j = {NULL, ys, sx2, sx, base, G, M, 0, 0, 0, NX, W, PC, 1, noisy,
                         NULL, inv, inv2, T, coef, d, rs2, os2, kmax, key, call, z, out,
                         0, 0, 0, 0, NULL, 0.0f, 0.0f, 0, M};
    return read_chunk(&j, nthreads);
}

/* DAC slice statistics of integer input codes held in float32 (G, M, P), element strides
 * (sg, sm, 1): per (g, ix, m) the slices (codes >> ix * dac) & (2**dac - 1) into x (G, NX, M, P)
 * when not NULL, their sum of squares into sx2 and their sum into sx (G, NX, M, each when not
 * NULL; exact integers rounded once to float32). */
CLONES void cim_slice_stats(const float *restrict codes, int64_t G, int64_t M, int64_t P,
                            int64_t sg, int64_t sm, int64_t NX, int dac, float *restrict x,
                            float *restrict sx2, float *restrict sx)
{
    const int32_t mask = (1 << dac) - 1;
    for (int64_t g = 0; g < G; g++)
        for (int64_t ix = 0; ix < NX; ix++) {
            const int shift = (int)ix * dac;
            for (int64_t m = 0; m < M; m++) {
                const float *restrict row = codes + g * sg + m * sm;
                const int64_t r = (g * NX + ix) * M + m;
                int64_t acc = 0, sum = 0;
                if (x) {
                    float *restrict xr = x + r * P;
                    for (int64_t k = 0; k < P; k++)
                        xr[k] = (float)(((int32_t)row[k] >> shift) & mask);
                }
                /* int32 partial sums over blocks that cannot overflow (slices of up to 8 bits) */
                const int64_t blk = dac <= 8 ? 1024 : 0;
                for (int64_t k0 = 0; blk && k0 < P; k0 += blk) {
                    const int64_t k1 = P - k0 < blk ? P : k0 + blk;
                    int32_t a2 = 0, a1 = 0;
                    for (int64_t k = k0; k < k1; k++) {
                        const int32_t v = ((int32_t)row[k] >> shift) & mask;
                        a2 += v * v;
                        a1 += v;
                    }
                    acc += a2;
                    sum += a1;
                }
                for (int64_t k = 0; !blk && k < P; k++) {
                    const int64_t v = ((int32_t)row[k] >> shift) & mask;
                    acc += v * v;
                    sum += v;
                }
                if (sx2)
                    sx2[r] = (float)acc;
                if (sx)
                    sx[r] = (float)sum;
            }
        }
}

/* ------------------------------------------------------------------ bit-plane partial sums
 * Reads of 1-bit DAC slices on integer cell levels: the partial sum of a read is
 * sum_b 2**b * popcount(x & w_b) over its rows, x the slice's bits and w_b bit-plane b of the
 * cells' levels: exact integers (rounded once to float32, exact below 2**24), the numbers of
 * any exact summation. */

/* Bit-planes of integer levels lv (G, P, N) float32 in [0, 2**B): out (G, B, KW, N) words,
 * KW = ceil(P / 64); bit p % 64 of word (b, p / 64, n) holds bit b of level (g, p, n). */
void cim_pack_levels(const float *restrict lv, int64_t G, int64_t P, int64_t N, int B,
                     uint64_t *restrict out)
{
    const int64_t KW = (P + 63) / 64;
    memset(out, 0, (size_t)(G * B * KW * N) * sizeof(uint64_t));
    for (int64_t g = 0; g < G; g++)
        for (int64_t p = 0; p < P; p++) {
            const float *restrict row = lv + (g * P + p) * N;
            const uint64_t bit = (uint64_t)1 << (p % 64);
            for (int b = 0; b < B; b++) {
                uint64_t *restrict w = out + ((g * B + b) * KW + p / 64) * N;
                for (int64_t n = 0; n < N; n++)
                    w[n] |= ((uint32_t)row[n] >> b & 1u) ? bit : 0;
            }
        }
}

/* Bits of two-valued cells w (R, N) float32 (R rows of N cells): out (R, ceil(N / 16)) words,
 * bit n % 16 of word (r, n / 16) set where cell (r, n) is bitwise f1 (padding bits clear).
 * Returns 0, or 1 (out incomplete) at the first cell that is bitwise neither f0 nor f1. */
int cim_pack_binary(const float *restrict w, int64_t R, int64_t N, float f0, float f1,
                    uint16_t *restrict out)
{
    const uint32_t u0 = as_uint(f0), u1 = as_uint(f1);
    const int64_t N16 = (N + 15) / 16;
    for (int64_t r = 0; r < R; r++) {
        const float *restrict row = w + r * N;
        uint16_t *restrict o = out + r * N16;
        for (int64_t b = 0; b < N16; b++) {
            uint32_t word = 0, bad = 0;
            const int64_t n0 = 16 * b, n1 = n0 + 16 < N ? n0 + 16 : N;
            for (int64_t n = n0; n < n1; n++) {
                const uint32_t u = as_uint(row[n]);
                word |= (uint32_t)(u == u1) << (n - n0);
                bad |= (u != u0) & (u != u1);
            }
            if (bad)
                return 1;
            o[b] = (uint16_t)word;
        }
    }
    return 0;
}

struct bits_job {
    const float *codes;
    int64_t G, M, P, sg, sm, NX, N, KW;
    int B;
    const uint64_t *planes;
    float *ys, *sx2, *sx;
    int64_t u0, u1;
    int failed;
};

/* y[n] = sum over b < B, k < KW of popcount(x[k] & w[(b * KW + k) * N + n]) << b for n < N:
 * the partial sums of one read (exact integers below 2**24, so exact in float32), each column
 * summed in registers over the planes (no running sums in memory). */
#define POP_COL(NAME, ATTR)                                                                    \
    ATTR static inline uint64_t NAME(const uint64_t *restrict x, const uint64_t *restrict w,    \
                                     int B, int64_t KW, int64_t N, int64_t n)                   \
    {                                                                                          \
        uint64_t a = 0;                                                                        \
        for (int b = 0; b < B; b++)                                                            \
            for (int64_t k = 0; k < KW; k++)                                                   \
                a += (uint64_t)__builtin_popcountll(x[k] & w[(b * KW + k) * N + n]) << b;      \
        return a;                                                                              \
    }
#define POP_COLS(NAME, COL, ATTR)                                                              \
    ATTR static void NAME(const uint64_t *restrict x, const uint64_t *restrict w, int B,        \
                          int64_t KW, int64_t N, int64_t n0, float *restrict y)                 \
    {                                                                                          \
        for (int64_t n = n0; n < N; n++)                                                       \
            y[n] = (float)COL(x, w, B, KW, N, n);                                              \
    }
#ifdef HAVE_X86
POP_COL(pop_col_popcnt, __attribute__((target("popcnt"))))
POP_COLS(pop_cols_popcnt, pop_col_popcnt, __attribute__((target("popcnt"))))
#endif
POP_COL(pop_col_generic, )
POP_COLS(pop_cols_generic, pop_col_generic, )

#ifdef HAVE_X86
/* pop_cols_generic with AVX-512 vector popcounts: 32 columns (four registers of 8 words) at a
 * time, the remaining columns one by one. */
__attribute__((target("avx512f,avx512dq,avx512vpopcntdq,popcnt"))) static void
pop_cols_512(const uint64_t *restrict x, const uint64_t *restrict w, int B, int64_t KW,
             int64_t N, int64_t n0, float *restrict y)
{
    int64_t n = n0;
    for (; n + 32 <= N; n += 32) {
        __m512i a[4];
        for (int q = 0; q < 4; q++)
            a[q] = _mm512_setzero_si512();
        for (int b = 0; b < B; b++) {
            const __m128i sh = _mm_cvtsi32_si128(b);
            for (int64_t k = 0; k < KW; k++) {
                if (!x[k])
                    continue;
                const __m512i xk = _mm512_set1_epi64((long long)x[k]);
                const uint64_t *wr = w + (b * KW + k) * N + n;
                for (int q = 0; q < 4; q++) {
                    const __m512i v = _mm512_loadu_si512((const void *)(wr + 8 * q));
                    const __m512i c = _mm512_popcnt_epi64(_mm512_and_si512(xk, v));
                    a[q] = _mm512_add_epi64(a[q], _mm512_sll_epi64(c, sh));
                }
            }
        }
        for (int q = 0; q < 4; q++)
            _mm256_storeu_ps(y + n + 8 * q, _mm512_cvtepi64_ps(a[q]));
    }
    pop_cols_popcnt(x, w, B, KW, N, n, y);
}
#endif

static void bit_rows(struct bits_job *j)
{
    const int64_t M = j->M, P = j->P, NX = j->NX, N = j->N, KW = j->KW;
    const int B = j->B;
    uint64_t *xb = malloc((size_t)(NX * KW) * sizeof(uint64_t));
    if (!xb) {
        j->failed = 1;
        return;
    }
    void (*pop)(const uint64_t *, const uint64_t *, int, int64_t, int64_t, int64_t,
                float *) = pop_cols_generic;
#ifdef HAVE_X86
    if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512dq"))
        pop = pop_cols_512;
    else if (__builtin_cpu_supports("popcnt"))
        pop = pop_cols_popcnt;
#endif
    for (int64_t u = j->u0; u < j->u1; u++) {
        const int64_t g = u / M, m = u % M;
        const float *restrict row = j->codes + g * j->sg + m * j->sm;
        memset(xb, 0, (size_t)(NX * KW) * sizeof(uint64_t));
        for (int64_t p = 0; p < P; p++) {
            const uint32_t c = (uint32_t)(int32_t)row[p];
            const uint64_t bit = (uint64_t)1 << (p % 64);
            for (int64_t ix = 0; ix < NX; ix++)
                if (c >> ix & 1u)
                    xb[ix * KW + p / 64] |= bit;
        }
        const uint64_t *restrict wg = j->planes + g * B * KW * N;
        for (int64_t ix = 0; ix < NX; ix++) {
            int64_t s = 0;
            for (int64_t k = 0; k < KW; k++)
                s += __builtin_popcountll(xb[ix * KW + k]);
            const int64_t r = (g * NX + ix) * M + m;
            if (j->sx2)
                j->sx2[r] = (float)s; /* 1-bit slices: x**2 = x */
            if (j->sx)
                j->sx[r] = (float)s;
            pop(xb + ix * KW, wg, B, KW, N, 0, j->ys + r * N);
        }
    }
    free(xb);
}

static void *run_bits(void *arg)
{
    bit_rows(arg);
    return NULL;
}
/* Partial sums ys (G, NX, M, N) of 1-bit DAC slices (bit ix of the integer codes (G, M, P),
 * held in float32, element strides (sg, sm, 1)) on the bit-planes of cim_pack_levels, and each
 * read's input power sx2 and input sum sx (G, NX, M; each when not NULL), on nthreads threads
 * (rows (g, m) split; the numbers never depend on it). Returns 0, or -1 when out of memory. */
int cim_bit_sums(const float *restrict codes, int64_t G, int64_t M, int64_t P, int64_t sg,
                 int64_t sm, int64_t NX, const uint64_t *restrict planes, int64_t N, int B,
                 float *restrict ys, float *restrict sx2, float *restrict sx, int nthreads)
{
    struct bits_job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS];
    const int64_t n = G * M;
    int nt = nthreads < 1 ? 1 : nthreads > MAX_THREADS ? MAX_THREADS : nthreads;
    if (nt > n)
        nt = n > 0 ? (int)n : 1;
    for (int t = 0; t < nt; t++) {
        struct bits_job j = {codes, G, M, P, sg, sm, NX, N, (P + 63) / 64, B, planes,
                             ys, sx2, sx, n * t / nt, n * (t + 1) / nt, 0};
        jobs[t] = j;
        started[t] = t > 0 && pthread_create(&tid[t], NULL, run_bits, &jobs[t]) == 0;
    }
    for (int t = 0; t < nt; t++)
        if (!started[t])
            bit_rows(&jobs[t]);
    int failed = 0;
    for (int t = 0; t < nt; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        failed |= jobs[t].failed;
    }
    return failed ? -1 : 0;
}
