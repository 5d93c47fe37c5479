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

typedef struct acd_oq acd_oq;

acd_oq *acd_oq_new(void);
void acd_oq_free(acd_oq *q);
/* Returns the new key's handle (>= 0); ACD_ESTATE when an equal key is held. */
int acd_oq_insert(acd_oq *q, const double *key);
int acd_oq_remove(acd_oq *q, int handle);
/* How many held keys sort strictly before key. */
int acd_oq_rank(const acd_oq *q, const double *key);
/* The 0-based place of a held handle. */
int acd_oq_index(const acd_oq *q, int handle);
/* The handle of the smallest key, -1 when empty. */
int acd_oq_first(const acd_oq *q);
int acd_oq_len(const acd_oq *q);
int acd_oq_key(const acd_oq *q, int handle, double *out);
/* Up to count handles in key order from place start into out; returns how many. */
int acd_oq_slice(const acd_oq *q, int start, int count, int *out);
/* 0 when every invariant holds, else ACD_ESTATE. */
int acd_oq_check(const acd_oq *q);

#endif
