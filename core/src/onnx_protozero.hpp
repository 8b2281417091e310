// protozero, included so that it also compiles where the core is built with -fno-exceptions.
//
// protozero reports malformed input by throwing. The shipped wasm core is compiled without
// exceptions (Emscripten disables catching; see CMakeLists.txt), where a `throw` does not
// even compile. quantlab therefore never lets protozero see bytes it could reject:
// onnx_wire.cpp validates every message (tags, wire types, varints, lengths, packed
// payloads) before a pbf_reader is built on it, and the parser checks each field's wire
// type before calling a getter. With exceptions disabled, the throw statements inside
// protozero's headers become calls to protozero_threw(), which aborts with a message:
// reaching it would be a quantlab bug (a gap in the validation), never a user error.
#pragma once

// Every standard header protozero includes, first, so the macro below cannot reach them.
#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#if !defined(__cpp_exceptions) && !defined(__EXCEPTIONS)
namespace quantlab::onnx_detail {
[[noreturn]] void protozero_threw();
}  // namespace quantlab::onnx_detail
// `throw some_exception{};` becomes `protozero_threw(), some_exception{};`.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wkeyword-macro"
#endif
#define throw ::quantlab::onnx_detail::protozero_threw(),
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
#define QL_PROTOZERO_THROW_MACRO 1
#endif

#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#ifdef QL_PROTOZERO_THROW_MACRO
#undef throw
#undef QL_PROTOZERO_THROW_MACRO
#endif
