// libFuzzer's driver entry point (compiler-rt, FuzzerDriver.cpp), for a main of our own:
// SwiftPM links every executable with main aliased to <module>_main, so the targets define
// that and hand over to libFuzzer here.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
