// Cache hints the Swift standard library does not expose.
//
// `__builtin_prefetch` (GCC and Clang; x86 `prefetcht0`, AArch64 `prfm pldl1keep`) asks
// the processor to start loading a cache line it will soon read, without waiting for it
// and without faulting on any address. The Swift compiler imports these `static inline`
// functions and inlines them: no call is left at the call site.
#ifndef DISTILLWATCH_CMEMORYHINTS_H
#define DISTILLWATCH_CMEMORYHINTS_H

#include <stddef.h>

/// Starts loading the cache lines of `bytes` bytes from `address` for reading (a hint:
/// no effect on results, no fault on any address). One prefetch per 64-byte line.
static inline void distillwatch_prefetch_read(const void *address, size_t bytes) {
    const char *p = (const char *)address;
    const char *end = p + bytes;
    for (; p < end; p += 64) {
        __builtin_prefetch(p, 0, 3);
    }
}

#endif
