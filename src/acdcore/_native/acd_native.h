/* acdcore native backend: public C interface (grows with the dispatch loop). */
#ifndef ACD_NATIVE_H
#define ACD_NATIVE_H

#include <stdint.h>

/* Version of the C interface; the Python side refuses a mismatching build. */
#define ACD_NATIVE_ABI 1

int acd_abi_version(void);

#endif
