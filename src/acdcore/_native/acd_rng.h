/* acdcore native backend: a Mersenne Twister (MT19937) that reproduces
 * Python's random.Random draw for draw.
 *
 * A building block of the coming C engine (see docs/internals.md, "Toward one
 * engine"): its random strategies will draw from this generator, loaded from
 * the injected random.Random's state, so that both backends draw the same
 * numbers. Nothing else uses it yet; it depends on nothing but acd_native.h's
 * error codes.
 *
 * The state is the one random.Random.getstate() gives (version 3): 624
 * 32-bit words and an index in 0..624 (624: the next draw regenerates the
 * block). The struct is public so that the engine can embed it; a zeroed
 * struct is a valid (degenerate, all-zero) state, as CPython allows.
 *
 * Every function validates its arguments (including the stored index) and
 * returns a negative ACD_E* code (see acd_native.h) rather than aborting; a
 * refused call changes nothing. Each function is O(1) amortized: one block
 * regeneration (624 words) per 624 words drawn.
 */
#ifndef ACD_RNG_H
#define ACD_RNG_H

#include <stdint.h>

#define ACD_RNG_N 624

typedef struct acd_rng {
    uint32_t mt[624];
    int index;
} acd_rng;

/* Load a state: the 624 words and index of random.Random.getstate()[1]. */
int acd_rng_set_state(acd_rng *rng, const uint32_t *words, int index);
/* Copy the state out: 624 words into words, the index into *index. */
int acd_rng_get_state(const acd_rng *rng, uint32_t *words, int *index);
/* random.Random.getrandbits(k) for 0 < k <= 64. */
int acd_rng_getrandbits(acd_rng *rng, int k, uint64_t *out);
/* random.Random.randrange(n) (its _randbelow) for n >= 1. */
int acd_rng_randbelow(acd_rng *rng, uint64_t n, uint64_t *out);
/* random.Random.random(): a double in [0, 1) with 53 random bits. */
int acd_rng_random(acd_rng *rng, double *out);

#endif
