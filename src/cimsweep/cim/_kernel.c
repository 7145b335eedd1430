/* Fused CPU kernel of the CIM read path: read noise, ADC and input-slice shift-add.
 *
 * Built at first use by cimsweep.cim.kernel (plain C99, no Python or torch headers) and called
 * through ctypes. Every operation is integer or a single IEEE-754 float32 operation compiled
 * with -ffp-contract=off, so the AVX2 and generic builds and the torch mirror in kernel.py give
 * bit-identical results.
 *
 * Noise stream: Philox4x32-10 (Salmon et al., SC'11) with key (k0, k1) and counter
 * (block * 256 + b, 0, call_lo, call_hi). Each 32-bit output word w gives one Box-Muller pair:
 * u = ((w & 0xffff) + 1) / 2**16 (radius sqrt(-2 ln u), at most 4.71), angle from w >> 16 (2 bits
 * quadrant, 14 bits within the quadrant). Normal e of a block of NB = 2048 (e = j * 256 + b) is
 * word j / 2 of call b, the cosine part for even j, the sine part for odd j.
 */
#include <stdint.h>
#include <string.h>

#define CALLS 256            /* Philox calls per block */
#define NB (8 * CALLS)       /* normals per block */
#define MAGIC 12582912.0f    /* 1.5 * 2**23: (v + MAGIC) - MAGIC rounds half to even, |v| < 2**22 */

/* float32 constants, passed in by kernel.py so both implementations share them */
enum { K_LN2, K_SQRT2, K_L1, K_L3, K_L5, K_L7, K_L9, K_HPI, K_S3, K_S5, K_S7,
       K_C2, K_C4, K_C6, K_C8, K_COUNT };

#if defined(__x86_64__) && defined(__GNUC__) && !defined(CIM_GENERIC) /* CIM_GENERIC: tests */
#include <immintrin.h>
#define HAVE_X86 1
#endif

static inline float as_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t as_uint(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Philox words of one block: w[k * CALLS + b] = word k of call b. */
static void philox_generic(uint32_t k0, uint32_t k1, uint32_t first, uint32_t c2, uint32_t c3,
                           uint32_t *restrict w)
{
    for (int b = 0; b < CALLS; b++) {
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
        w[CALLS + b] = x1;
        w[2 * CALLS + b] = x2;
        w[3 * CALLS + b] = x3;
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
    for (int b = 0; b < CALLS; b += 8) {
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
        _mm256_storeu_si256((__m256i *)(w + CALLS + b), x1);
        _mm256_storeu_si256((__m256i *)(w + 2 * CALLS + b), x2);
        _mm256_storeu_si256((__m256i *)(w + 3 * CALLS + b), x3);
    }
}
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

/* Box-Muller of 4 * CALLS words into NB normals. */
CLONES static void box_muller(const uint32_t *restrict w, const float *restrict K,
                              float *restrict out)
{
    for (int k = 0; k < 4; k++) {
        for (int b = 0; b < CALLS; b++) {
            uint32_t v = w[k * CALLS + b];
            float u = (float)((v & 0xffffu) + 1u) * 0x1p-16f;
            uint32_t bits = as_uint(u);
            int e = (int)(bits >> 23) - 127;
            float m = as_float((bits & 0x7fffffu) | 0x3f800000u);
            int big = m > K[K_SQRT2];
            m = big ? m * 0.5f : m;
            e += big;
            float s = (m - 1.0f) / (m + 1.0f);
            float s2 = s * s;
            float p = K[K_L9];
            p = p * s2 + K[K_L7];
            p = p * s2 + K[K_L5];
            p = p * s2 + K[K_L3];
            p = p * s2 + K[K_L1];
            float ln = (float)e * K[K_LN2] + s * p;
            float rad = __builtin_sqrtf(ln * -2.0f);
            uint32_t a = v >> 16;
            float x = ((float)(a & 0x3fffu) * 0x1p-14f - 0.5f) * K[K_HPI];
            float x2 = x * x;
            float sp = K[K_S7];
            sp = sp * x2 + K[K_S5];
            sp = sp * x2 + K[K_S3];
            float sn = x + x * (x2 * sp);
            float cp = K[K_C8];
            cp = cp * x2 + K[K_C6];
            cp = cp * x2 + K[K_C4];
            cp = cp * x2 + K[K_C2];
            float cs = 1.0f + x2 * cp;
            uint32_t q = a >> 14, odd = q & 1u;
            float c = odd ? sn : cs, sv = odd ? cs : sn;
            c = as_float(as_uint(c) ^ ((((q + 1u) >> 1) & 1u) << 31));
            sv = as_float(as_uint(sv) ^ ((q >> 1) << 31));
            out[(2 * k) * CALLS + b] = rad * c;
            out[(2 * k + 1) * CALLS + b] = rad * sv;
        }
    }
}

static void normal_block(uint64_t key, uint64_t call, int64_t block, const float *K,
                         uint32_t *words, float *out)
{
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    uint32_t c2 = (uint32_t)call, c3 = (uint32_t)(call >> 32), first = (uint32_t)(block * CALLS);
#ifdef HAVE_X86
    if (__builtin_cpu_supports("avx2"))
        philox_avx2(k0, k1, first, c2, c3, words);
    else
#endif
        philox_generic(k0, k1, first, c2, c3, words);
    box_muller(words, K, out);
}

/* The first n normals of stream (key, call); n need not be a multiple of NB. */
void cim_normals(uint64_t key, uint64_t call, int64_t n, const float *K, float *out)
{
    uint32_t words[4 * CALLS];
    float buf[NB];
    for (int64_t i = 0; i < n; i += NB) {
        int64_t len = n - i < NB ? n - i : NB;
        normal_block(key, call, i / NB, K, words, buf);
        memcpy(out + i, buf, (size_t)len * sizeof(float));
    }
}

static inline float adc_code(float v, float kmax, int *clip)
{
    v = v < -1.0f ? -1.0f : v;
    v = v > kmax + 1.0f ? kmax + 1.0f : v;
    float q = (v + MAGIC) - MAGIC;
    *clip += (q > kmax) + (q < 0.0f);
    q = q < 0.0f ? 0.0f : q;
    return q > kmax ? kmax : q;
}

static inline int adc_row_noisy(const float *restrict y, const float *restrict eps, float s,
                                float kmax, float cx, float *restrict z, int64_t n)
{
    int clip = 0;
    for (int64_t c = 0; c < n; c++)
        z[c] += cx * adc_code(y[c] + eps[c] * s, kmax, &clip);
    return clip;
}

static inline int adc_row(const float *restrict y, float kmax, float cx, float *restrict z,
                          int64_t n)
{
    int clip = 0;
    for (int64_t c = 0; c < n; c++)
        z[c] += cx * adc_code(y[c], kmax, &clip);
    return clip;
}

/* Noisy reads -> ADC codes -> shift-add over input slices.
 *
 * y: (G, NX, M, W, P) noise-free reads in ADC steps; sd: (G, NX, M, W) noise std in ADC steps,
 * or NULL for noise-free reads (then key and call are unused). Read i (flat index of y) gets
 * y[i] + normal_i * sd[i / P] of stream (key, call), is rounded half to even and clamped to
 * [0, kmax]. z: (G, M, W, P) = sum over slices ix of coef[ix] * code. Returns the number of
 * reads whose code fell outside [0, kmax] (clipped).
 */
CLONES int64_t cim_adc_shift_add(const float *restrict y, int64_t G, int64_t NX, int64_t M,
                                 int64_t W, int64_t P, const float *restrict sd, uint64_t key,
                                 uint64_t call, const float *restrict K, float kmax,
                                 const float *restrict coef, float *restrict z)
{
    uint32_t words[4 * CALLS];
    float eps[NB];
    int64_t clipped = 0, pos = NB, block = 0;
    const int64_t slab = M * W * P;
    memset(z, 0, (size_t)(G * slab) * sizeof(float));
    for (int64_t g = 0; g < G; g++) {
        float *zg = z + g * slab;
        for (int64_t ix = 0; ix < NX; ix++) {
            const float cx = coef[ix];
            const float *yb = y + (g * NX + ix) * slab;
            const float *sb = sd ? sd + (g * NX + ix) * M * W : NULL;
            for (int64_t mw = 0; mw < M * W; mw++) {
                const float *yr = yb + mw * P;
                float *zr = zg + mw * P;
                if (!sb) {
                    clipped += adc_row(yr, kmax, cx, zr, P);
                    continue;
                }
                for (int64_t c = 0; c < P;) {
                    if (pos == NB) {
                        normal_block(key, call, block++, K, words, eps);
                        pos = 0;
                    }
                    int64_t len = P - c < NB - pos ? P - c : NB - pos;
                    clipped += adc_row_noisy(yr + c, eps + pos, sb[mw], kmax, cx, zr + c, len);
                    pos += len;
                    c += len;
                }
            }
        }
    }
    return clipped;
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
