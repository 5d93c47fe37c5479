/* acdcore native backend: the Mersenne Twister (see acd_rng.h).
 *
 * MT19937 as Matsumoto and Nishimura published it, with the draws built the
 * way CPython's _random module and random.py build them:
 *
 * - getrandbits(k), k <= 32: one word, shifted right by 32 - k;
 *   k > 32: words filled least significant first, the last one shifted
 *   right so that exactly k bits remain;
 * - randrange(n): k = bit length of n, draw getrandbits(k) until it is < n;
 * - random(): a = word >> 5, b = word >> 6, (a * 2**26 + b) / 2**53.
 */
#include <stddef.h>

#include "acd_native.h"
#include "acd_rng.h"

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

static int rng_ok(const acd_rng *rng)
{
    return rng && rng->index >= 0 && rng->index <= ACD_RNG_N;
}

/* The next block of 624 words, in place. */
static void rng_twist(acd_rng *rng)
{
    uint32_t *mt = rng->mt;
    uint32_t y;
    int i;
    for (i = 0; i < ACD_RNG_N; i++) {
        int next = i + 1 < ACD_RNG_N ? i + 1 : 0;
        int far = i + MT_M < ACD_RNG_N ? i + MT_M : i + MT_M - ACD_RNG_N;
        y = (mt[i] & MT_UPPER) | (mt[next] & MT_LOWER);
        mt[i] = mt[far] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
    }
    rng->index = 0;
}

/* One tempered 32-bit word; the caller has checked rng_ok. */
static uint32_t rng_word(acd_rng *rng)
{
    if (rng->index >= ACD_RNG_N)
        rng_twist(rng);
    uint32_t y = rng->mt[rng->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= y >> 18;
    return y;
}

/* getrandbits for 0 < k <= 64; the caller has checked k and the state. */
static uint64_t rng_bits(acd_rng *rng, int k)
{
    if (k <= 32)
        return (uint64_t)(rng_word(rng) >> (32 - k));
    uint64_t low = rng_word(rng);
    uint64_t high = rng_word(rng) >> (64 - k);
    return low | (high << 32);
}

int acd_rng_set_state(acd_rng *rng, const uint32_t *words, int index)
{
    if (!rng || !words)
        return ACD_EARG;
    if (index < 0 || index > ACD_RNG_N)
        return ACD_EARG;
    for (int i = 0; i < ACD_RNG_N; i++)
        rng->mt[i] = words[i];
    rng->index = index;
    return ACD_OK;
}

int acd_rng_get_state(const acd_rng *rng, uint32_t *words, int *index)
{
    if (!rng || !words || !index)
        return ACD_EARG;
    if (!rng_ok(rng))
        return ACD_ESTATE;
    for (int i = 0; i < ACD_RNG_N; i++)
        words[i] = rng->mt[i];
    *index = rng->index;
    return ACD_OK;
}

int acd_rng_getrandbits(acd_rng *rng, int k, uint64_t *out)
{
    if (!rng || !out || k <= 0 || k > 64)
        return ACD_EARG;
    if (!rng_ok(rng))
        return ACD_ESTATE;
    *out = rng_bits(rng, k);
    return ACD_OK;
}

int acd_rng_randbelow(acd_rng *rng, uint64_t n, uint64_t *out)
{
    if (!rng || !out || n == 0)
        return ACD_EARG;
    if (!rng_ok(rng))
        return ACD_ESTATE;
    int k = 0;
    for (uint64_t m = n; m; m >>= 1)
        k++;
    uint64_t r = rng_bits(rng, k);
    while (r >= n)
        r = rng_bits(rng, k);
    *out = r;
    return ACD_OK;
}

int acd_rng_random(acd_rng *rng, double *out)
{
    if (!rng || !out)
        return ACD_EARG;
    if (!rng_ok(rng))
        return ACD_ESTATE;
    uint32_t a = rng_word(rng) >> 5;
    uint32_t b = rng_word(rng) >> 6;
    *out = ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
    return ACD_OK;
}
