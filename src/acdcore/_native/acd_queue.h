/* acdcore native backend: an order-statistic queue for acdcore.workqueue.Queue.
 *
 * Keys are ACD_KEYLEN doubles compared lexicographically (a shorter policy
 * key is padded with -inf by the caller); each key is held at most once and
 * names one int handle, which the queue allocates (a node number, reused
 * after removal). Every function validates its arguments and returns a
 * negative ACD_E* code (see acd_native.h) rather than aborting; a refused
 * call changes nothing.
 *
 * Complexity (n keys): insert, remove, rank, index O(log n) expected;
 * first, len, key O(1); slice O(log n + count); check O(n).
 */
#ifndef ACD_QUEUE_H
#define ACD_QUEUE_H

#include <stddef.h>

typedef struct acd_oq acd_oq;

acd_oq *acd_oq_new(void);
/* A queue that holds no keys of its own: item `ref`'s key is the
 * ACD_KEYLEN doubles at byte `offset` of the `ref`-th `stride`-byte item of
 * the array *base (read through base at each use, so the array may be
 * reallocated). An item's key must not change while it is held. It saves
 * 48 bytes a key; use acd_oq_insert_shared, not acd_oq_insert. NULL when
 * out of memory or when a key would not fit in an item. */
acd_oq *acd_oq_new_shared(const void *const *base, size_t stride, size_t offset);
void acd_oq_free(acd_oq *q);
/* Returns the new key's handle (>= 0); ACD_ESTATE when an equal key is held. */
int acd_oq_insert(acd_oq *q, const double *key);
/* A shared-keys queue's insert of item ref (its key read in place): the
 * same returns as acd_oq_insert. */
int acd_oq_insert_shared(acd_oq *q, int ref);
int acd_oq_remove(acd_oq *q, int handle);
/* How many held keys sort strictly before key. */
int acd_oq_rank(const acd_oq *q, const double *key);
/* The 0-based place of a held handle. */
int acd_oq_index(const acd_oq *q, int handle);
/* The handle of the smallest key, -1 when empty. */
int acd_oq_first(const acd_oq *q);
int acd_oq_len(const acd_oq *q);
int acd_oq_key(const acd_oq *q, int handle, double *out);
/* A shared-keys queue's item behind a held handle (ACD_EINDEX otherwise). */
int acd_oq_ref(const acd_oq *q, int handle);
/* Up to count handles in key order from place start into out; returns how many. */
int acd_oq_slice(const acd_oq *q, int start, int count, int *out);
/* 0 when every invariant holds, else ACD_ESTATE. */
int acd_oq_check(const acd_oq *q);

#endif
