/* The entries libFuzzer calls (its FuzzerInterface.h, which clang does not
 * install): each target defines LLVMFuzzerTestOneInput, and may define
 * LLVMFuzzerInitialize. */
#ifndef FUZZ_ENTRY_H
#define FUZZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
