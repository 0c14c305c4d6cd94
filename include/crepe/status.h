// Status and Result<T>: how errors travel through the core library.
// Exceptions never cross the public API; every fallible call returns one of these.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace crepe {

// Codes mirror the canonical gRPC codes we need, so a service layer can map them 1:1.
enum class StatusCode {
  kOk = 0,
  kCancelled,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kDeadlineExceeded,
  kUnauthenticated,
  kPermissionDenied,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: message" (or "OK").
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: ` (the reason is kept).
  Status WithContext(const std::string& context) const;

  // A machine-readable reason for callers that act on which error it is (UPPER_SNAKE_CASE, e.g.
  // "QUEUE_FULL"); empty when the code says enough. The service sends it as google.rpc.ErrorInfo.
  const std::string& reason() const { return reason_; }
  Status WithReason(std::string reason) const {
    Status s = *this;
    s.reason_ = std::move(reason);
    return s;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
};

inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status UnimplementedError(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = InternalError("Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
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

}  // namespace crepe

// Propagate a non-OK Status to the caller.
#define CREPE_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::crepe::Status crepe_status_ = (expr);        \
    if (!crepe_status_.ok()) return crepe_status_; \
  } while (0)

#define CREPE_CONCAT_INNER(a, b) a##b
#define CREPE_CONCAT(a, b) CREPE_CONCAT_INNER(a, b)
// Bind the value of a Result<T> to `lhs`, or return its Status.
#define CREPE_ASSIGN_OR_RETURN(lhs, expr) CREPE_ASSIGN_OR_RETURN_IMPL(CREPE_CONCAT(crepe_result_, __LINE__), lhs, expr)
#define CREPE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
