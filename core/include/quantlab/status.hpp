// Error reporting for the quantlab core: Status, Result<T>, and the invariant checks.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace quantlab {

/// Stable error codes. The JavaScript wrapper exposes them as QuantlabError.code strings
/// (error_code_name); never renumber or rename one, only add.
enum class ErrorCode : int {
  kOk = 0,
  kInvalidArgument = 1,  ///< a parameter outside its documented domain (bits 0, r_min > r_max)
  kNotFinite = 2,        ///< NaN or infinity where a finite number is required
  kEmptyInput = 3,       ///< an array or tensor with no elements
  kShapeMismatch = 4,    ///< lengths or shapes that do not agree
  kOutOfRange = 5,       ///< an index or axis outside its range
  kUnsupported = 6,      ///< valid input that quantlab does not handle (an operator, a type)
  kMalformed = 7,        ///< a file that cannot be parsed (truncated, corrupt, bad checksum)
  kTooLarge = 8,         ///< a size that would need an unreasonable allocation
  kInternal = 9,         ///< a bug in quantlab
  kResourceExhausted = 10,  ///< the memory budget, or the memory itself, ran out (nothing was lost)
  kCancelled = 11,       ///< the caller's cancel callback stopped the work
};

/// "INVALID_ARGUMENT", "NOT_FINITE", ...: the code as seen from JavaScript.
constexpr std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::kNotFinite: return "NOT_FINITE";
    case ErrorCode::kEmptyInput: return "EMPTY_INPUT";
    case ErrorCode::kShapeMismatch: return "SHAPE_MISMATCH";
    case ErrorCode::kOutOfRange: return "OUT_OF_RANGE";
    case ErrorCode::kUnsupported: return "UNSUPPORTED";
    case ErrorCode::kMalformed: return "MALFORMED";
    case ErrorCode::kTooLarge: return "TOO_LARGE";
    case ErrorCode::kInternal: return "INTERNAL";
    case ErrorCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case ErrorCode::kCancelled: return "CANCELLED";
  }
  return "INTERNAL";
}

/// The outcome of an operation on user input: ok, or a code and a message that names the
/// problem ("bits must be 2..8 or 32, got 9").
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  /// "INVALID_ARGUMENT: bits must be ..."
  std::string to_string() const {
    return std::string(error_code_name(code_)) + ": " + message_;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Status not_finite(std::string m) { return {ErrorCode::kNotFinite, std::move(m)}; }
inline Status empty_input(std::string m) { return {ErrorCode::kEmptyInput, std::move(m)}; }
inline Status shape_mismatch(std::string m) { return {ErrorCode::kShapeMismatch, std::move(m)}; }
inline Status out_of_range(std::string m) { return {ErrorCode::kOutOfRange, std::move(m)}; }
inline Status unsupported(std::string m) { return {ErrorCode::kUnsupported, std::move(m)}; }
inline Status malformed(std::string m) { return {ErrorCode::kMalformed, std::move(m)}; }
inline Status too_large(std::string m) { return {ErrorCode::kTooLarge, std::move(m)}; }
inline Status resource_exhausted(std::string m) { return {ErrorCode::kResourceExhausted, std::move(m)}; }
inline Status cancelled(std::string m) { return {ErrorCode::kCancelled, std::move(m)}; }

/// A value or the Status explaining why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.is_ok()) status_ = Status(ErrorCode::kInternal, "Result built from an ok Status");
  }

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

namespace detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "quantlab internal check failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace quantlab

/// Always-on internal invariant: aborts with file and line. Never for user input.
#define QL_CHECK(cond) \
  ((cond) ? (void)0 : ::quantlab::detail::check_failed(#cond, __FILE__, __LINE__))

/// Debug-only invariant for hot kernels.
#ifdef NDEBUG
#define QL_DCHECK(cond) ((void)0)
#else
#define QL_DCHECK(cond) QL_CHECK(cond)
#endif

/// Propagate a non-ok Status from an expression returning Status.
#define QL_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::quantlab::Status ql_status_ = (expr);   \
    if (!ql_status_.is_ok()) return ql_status_; \
  } while (0)
