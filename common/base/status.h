// Status and Result<T>: errors as values.
//
// Every fallible operation in fedseg (parsing, I/O, configuration, networking) returns a Status or a
// Result<T> instead of throwing. A Status is cheap when OK (no allocation) and otherwise carries a
// code and a message that says what was wrong and where (file:line:column, field, peer, round).
// Context is added as an error travels up with WithContext("while loading model.fsm").
#ifndef FEDSEG_COMMON_BASE_STATUS_H_
#define FEDSEG_COMMON_BASE_STATUS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fedseg {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed or out of range
  kNotFound,            // a file, column or entity does not exist
  kCorruption,          // stored or received bytes fail validation
  kIOError,             // the operating system refused a read or write
  kFailedPrecondition,  // the system is not in a state where the call is allowed
  kPermissionDenied,    // authentication or authorization refused
  kResourceExhausted,   // a size cap or budget would be exceeded
  kDeadlineExceeded,    // a deadline passed
  kUnavailable,         // a peer is unreachable; retrying may help
  kAborted,             // the operation was cancelled (shutdown, signal)
  kInternal,            // an invariant was broken: a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {StatusCode::kFailedPrecondition, std::move(msg)};
  }
  static Status PermissionDenied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {StatusCode::kResourceExhausted, std::move(msg)};
  }
  static Status DeadlineExceeded(std::string msg) {
    return {StatusCode::kDeadlineExceeded, std::move(msg)};
  }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // The message without the code name; empty when OK.
  const std::string& message() const;
  // "InvalidArgument: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>". OK stays OK.
  Status WithContext(std::string_view context) const;

  bool IsInvalidArgument() const { return code() == StatusCode::kInvalidArgument; }
  bool IsNotFound() const { return code() == StatusCode::kNotFound; }
  bool IsCorruption() const { return code() == StatusCode::kCorruption; }
  bool IsIOError() const { return code() == StatusCode::kIOError; }
  bool IsPermissionDenied() const { return code() == StatusCode::kPermissionDenied; }
  bool IsResourceExhausted() const { return code() == StatusCode::kResourceExhausted; }
  bool IsDeadlineExceeded() const { return code() == StatusCode::kDeadlineExceeded; }
  bool IsUnavailable() const { return code() == StatusCode::kUnavailable; }
  bool IsFailedPrecondition() const { return code() == StatusCode::kFailedPrecondition; }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  Status(StatusCode code, std::string msg)
      : rep_(std::make_shared<const Rep>(Rep{code, std::move(msg)})) {}

  std::shared_ptr<const Rep> rep_;  // null when OK; shared so copies are cheap
};

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;  // OK iff value_ holds a value
};

}  // namespace fedseg

#define FEDSEG_CONCAT_INNER_(a, b) a##b
#define FEDSEG_CONCAT_(a, b) FEDSEG_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define FEDSEG_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    ::fedseg::Status fedseg_status_ = (expr);         \
    if (!fedseg_status_.ok()) return fedseg_status_;  \
  } while (0)

// `lhs = value of expr` (a Result<T>), or returns its Status from the enclosing function.
#define FEDSEG_ASSIGN_OR_RETURN(lhs, expr) \
  FEDSEG_ASSIGN_OR_RETURN_IMPL_(FEDSEG_CONCAT_(fedseg_result_, __LINE__), lhs, expr)
#define FEDSEG_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // FEDSEG_COMMON_BASE_STATUS_H_
