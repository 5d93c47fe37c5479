/* valgrind driver for acd_rng.c: seeds a state (Python's init_genrand),
 * draws every kind, checks refusals, prints a checksum. */
#include <stdio.h>
#include <stdint.h>
#include "acd_native.h"
#include "acd_rng.h"

int main(void)
{
    uint32_t words[ACD_RNG_N];
    uint32_t back[ACD_RNG_N];
    int index = -7;
    acd_rng rng;
    uint64_t v, sum = 0;
    double d, dsum = 0.0;
    words[0] = 19650218U;
    for (int i = 1; i < ACD_RNG_N; i++)
        words[i] = 1812433253U * (words[i - 1] ^ (words[i - 1] >> 30)) + (uint32_t)i;
    if (acd_rng_set_state(&rng, words, ACD_RNG_N) != ACD_OK)
        return 1;
    for (int i = 0; i < 100000; i++) {
        if (acd_rng_randbelow(&rng, (uint64_t)i + 1, &v) != ACD_OK) return 2;
        sum += v;
        if (acd_rng_getrandbits(&rng, 1 + i % 64, &v) != ACD_OK) return 3;
        sum ^= v;
        if (acd_rng_random(&rng, &d) != ACD_OK) return 4;
        dsum += d;
    }
    if (acd_rng_randbelow(&rng, UINT64_MAX, &v) != ACD_OK) return 5;
    if (acd_rng_get_state(&rng, back, &index) != ACD_OK || index < 0) return 6;
    if (acd_rng_randbelow(&rng, 0, &v) != ACD_EARG) return 7;
    if (acd_rng_getrandbits(&rng, 65, &v) != ACD_EARG) return 8;
    if (acd_rng_set_state(&rng, back, ACD_RNG_N + 1) != ACD_EARG) return 9;
    if (acd_rng_random(NULL, &d) != ACD_EARG) return 10;
    printf("sum %llu mean %.6f index %d\n", (unsigned long long)sum, dsum / 100000, index);
    return 0;
}
