// Only CLibFuzzer.h matters: LLVMFuzzerRunDriver comes from libFuzzer (-sanitize=fuzzer).
#include "CLibFuzzer.h"
