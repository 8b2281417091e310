// Catch2's main, compiled once for the whole suite (native and wasm builds).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
