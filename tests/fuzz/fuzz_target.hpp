#pragma once

// The libFuzzer entry point every target defines. Built with clang and
// -fsanitize=fuzzer it is driven by libFuzzer (scripts/fuzz); built with any
// compiler and standalone_driver.cpp it replays a corpus plus a bounded number
// of deterministic mutations (the ctest run).

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
