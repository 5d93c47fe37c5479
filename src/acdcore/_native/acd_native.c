/* acdcore native backend. The dispatch loop lands here; for now the module
 * carries its interface version so the loader can check what it got. */
#include "acd_native.h"

int acd_abi_version(void)
{
    return ACD_NATIVE_ABI;
}
