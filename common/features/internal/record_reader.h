// A streaming reader of delimited text: the feature engine reads each source once, record by
// record, through a fixed-size buffer, so memory does not grow with the file. It handles RFC 4180
// quoting (quoted delimiters, doubled quotes, line breaks inside quotes), CRLF or LF, a UTF-8
// byte-order mark, runs of spaces as one delimiter (fixed-width files such as CDNOW's), and
// transcodes Windows-1252 to UTF-8 per record (only records with bytes >= 0x80 are touched).
// Fields are views valid until the next call to Next(). A record is capped at kMaxRecordBytes.
#ifndef FEDSEG_COMMON_FEATURES_INTERNAL_RECORD_READER_H_
#define FEDSEG_COMMON_FEATURES_INTERNAL_RECORD_READER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/features/feature_spec.h"

namespace fedseg::features::internal {

inline constexpr size_t kMaxRecordBytes = 1 << 20;

// Appends the UTF-8 form of Windows-1252 text to *out (the five undefined bytes become U+FFFD).
void AppendWindows1252AsUtf8(std::string_view in, std::string* out);

class RecordReader {
 public:
  // `delimiter` ' ' means runs of spaces and tabs; leading ones are ignored.
  static Result<std::unique_ptr<RecordReader>> Open(const std::string& path, char delimiter,
                                                    Encoding encoding);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // The next non-blank record's fields; false at the end of the file.
  Result<bool> Next(std::vector<std::string_view>* fields);
  // The 1-based line on which the last record returned starts.
  uint64_t line() const { return record_line_; }
  uint64_t bytes_read() const { return bytes_read_; }
  const std::string& path() const { return path_; }

 private:
  RecordReader(std::FILE* f, std::string path, char delimiter, Encoding encoding);
  // Makes buffer_[pos_, end) hold at least one whole record if the file has one. Returns the
  // record's end (index of its '\n' or end of data), or an error.
  Result<size_t> FindRecordEnd();
  Status Refill();
  void Split(std::string_view record, std::vector<std::string_view>* fields);

  std::FILE* file_;
  std::string path_;
  char delimiter_;
  Encoding encoding_;
  std::string buffer_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  bool first_ = true;
  bool record_has_quote_ = false;  // set by FindRecordEnd: the record needs unquoting
  // The first '"' at or after the scan position (end_: none up to the end of the data).
  static constexpr size_t kUnknown = static_cast<size_t>(-1);
  size_t next_quote_ = kUnknown;
  uint64_t next_line_ = 1, record_line_ = 0, bytes_read_ = 0;
  std::string transcoded_, unquoted_;
};

}  // namespace fedseg::features::internal

#endif  // FEDSEG_COMMON_FEATURES_INTERNAL_RECORD_READER_H_
