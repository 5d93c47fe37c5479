/* acdcore native backend: the deadline heap of the coming C engine.
 *
 * A building block of the engine (see docs/internals.md, "Toward one
 * engine"); nothing else uses it yet, and it depends on nothing but
 * acd_native.h's error codes. Entries are (when, seq, kind, ref, token),
 * ordered by when, then seq. seq is the scheduling number: the heap keeps a
 * counter (0 in a new heap), and each push takes its current value and
 * advances it, so seqs are unique and the order is total and fixed when an
 * entry is scheduled. kind, ref and token are the caller's, never read.
 *
 * Every function validates its arguments and returns a negative ACD_E* code
 * (see acd_native.h) rather than aborting; a refused call changes nothing.
 *
 * Complexity (n entries): push, pop O(log n); peek, len O(1);
 * pop_due O(k log n) for k entries popped; check O(n).
 */
#ifndef ACD_HEAP_H
#define ACD_HEAP_H

#include <stdint.h>

typedef struct acd_deadline {
    double when;
    int64_t seq;
    int kind;
    int64_t ref;
    int64_t token;
} acd_deadline;

typedef struct acd_heap acd_heap;

acd_heap *acd_heap_new(void);
void acd_heap_free(acd_heap *h);
/* Schedule an entry; returns its seq (>= 0). NaN when: ACD_EARG. */
int64_t acd_heap_push(acd_heap *h, double when, int kind, int64_t ref, int64_t token);
/* The earliest entry into *out: 1, or 0 when empty (out untouched). */
int acd_heap_peek(const acd_heap *h, acd_deadline *out);
/* Remove the earliest entry into *out: 1, or 0 when empty. */
int acd_heap_pop(acd_heap *h, acd_deadline *out);
/* Pop, in order, up to max entries with when <= now into out; returns how
 * many (max of them: call again, more may be due). */
int acd_heap_pop_due(acd_heap *h, double now, acd_deadline *out, int max);
int acd_heap_len(const acd_heap *h);
/* Every entry (in heap order, not sorted): copies up to max into out and
 * returns how many there are. O(n). */
int acd_heap_entries(const acd_heap *h, acd_deadline *out, int max);
/* The seq the next push takes. */
int64_t acd_heap_next_seq(const acd_heap *h);
/* Set the counter (restoring a snapshot): refused (ACD_ESTATE) unless it is
 * above every held seq, ACD_EARG when negative. */
int acd_heap_set_next_seq(acd_heap *h, int64_t next);
/* 0 when the heap property holds and the counter is above every seq. */
int acd_heap_check(const acd_heap *h);

#endif
