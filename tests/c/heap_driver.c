/* valgrind driver for acd_heap.c: random pushes, pops and pop_due with many
 * equal instants, the order and check() verified, refusals, then free. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include "acd_heap.h"
#include "acd_native.h"

static uint64_t state = 88172645463325252ULL;

static unsigned next(unsigned n)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (unsigned)(state % n);
}

int main(void)
{
    acd_heap *h = acd_heap_new();
    acd_deadline out[16], one;
    double now = 0.0, last_when = -INFINITY;
    int64_t last_seq = -1;
    long popped = 0;
    if (!h)
        return 1;
    for (int step = 0; step < 200000; step++) {
        unsigned pick = next(10);
        if (pick < 6) {
            if (acd_heap_push(h, now + next(8) * 0.25, (int)pick, step, -step) < 0)
                return 2;
        } else if (pick < 8) {
            int got = acd_heap_pop_due(h, now, out, 16);
            for (int i = 0; i < got; i++) {
                if (out[i].when > now)
                    return 3;
                popped++;
            }
            now += next(2) * 0.25;
        } else if (acd_heap_pop(h, &one) == 1) {
            popped++;
        }
        if (step % 10000 == 0 && acd_heap_check(h) != ACD_OK)
            return 4;
    }
    /* Drain: (when, seq) strictly increasing. */
    while (acd_heap_pop(h, &one) == 1) {
        if (one.when < last_when || (one.when == last_when && one.seq <= last_seq))
            return 5;
        last_when = one.when;
        last_seq = one.seq;
        popped++;
    }
    if (acd_heap_push(h, NAN, 0, 0, 0) != ACD_EARG || acd_heap_pop_due(h, 1.0, out, -1) != ACD_EARG)
        return 6;
    if (acd_heap_peek(h, &one) != 0 || acd_heap_len(h) != 0 || acd_heap_check(h) != ACD_OK)
        return 7;
    printf("popped %ld, next seq %lld\n", popped, (long long)acd_heap_next_seq(h));
    acd_heap_free(h);
    acd_heap_free(NULL);
    return 0;
}
