// The hints are `static inline` in include/CMemoryHints.h; this file gives the target a
// translation unit, as SwiftPM requires of a C target.
#include "CMemoryHints.h"
