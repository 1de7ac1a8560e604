#include "common/features/internal/record_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace fedseg::features::internal {
namespace {

constexpr size_t kChunk = 1 << 20;

// Windows-1252 0x80..0x9F as Unicode code points (0 = undefined), from the WHATWG encoding
// standard's index-windows-1252.
constexpr uint16_t kHigh[32] = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
                                0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

void AppendWindows1252AsUtf8(std::string_view in, std::string* out) {
  for (char ch : in) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out->push_back(ch);
    } else if (c < 0xA0) {
      AppendUtf8(kHigh[c - 0x80] ? kHigh[c - 0x80] : 0xFFFD, out);
    } else {
      AppendUtf8(c, out);
    }
  }
}

Result<std::unique_ptr<RecordReader>> RecordReader::Open(const std::string& path, char delimiter,
                                                         Encoding encoding) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    std::string msg = path + ": cannot open: " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
  }
  return std::unique_ptr<RecordReader>(new RecordReader(f, path, delimiter, encoding));
}

RecordReader::RecordReader(std::FILE* f, std::string path, char delimiter, Encoding encoding)
    : file_(f), path_(std::move(path)), delimiter_(delimiter), encoding_(encoding) {
  buffer_.resize(kChunk + kMaxRecordBytes);
}

RecordReader::~RecordReader() { std::fclose(file_); }

Status RecordReader::Refill() {
  if (pos_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  const size_t want = buffer_.size() - end_;
  const size_t got = std::fread(buffer_.data() + end_, 1, want, file_);
  if (got < want) {
    if (std::ferror(file_)) return Status::IOError(path_ + ": read error: " + std::strerror(errno));
    eof_ = true;
  }
  bytes_read_ += got;
  end_ += got;
  next_quote_ = kUnknown;
  if (first_ && end_ >= 3 && std::memcmp(buffer_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  first_ = false;
  return Status::OK();
}

Result<size_t> RecordReader::FindRecordEnd() {
  size_t scan = pos_;
  bool in_quotes = false;
  record_has_quote_ = false;
  for (;;) {
    const char* base = buffer_.data();
    const void* nl = std::memchr(base + scan, '\n', end_ - scan);
    const size_t stop = nl ? static_cast<const char*>(nl) - base : end_;
    // The next quote in the buffer is looked up once and reused until passed, so a file with
    // few quotes costs one memchr per buffer, not one per record.
    if (next_quote_ == kUnknown || next_quote_ < scan) {
      const void* q = std::memchr(base + scan, '"', end_ - scan);
      next_quote_ = q ? static_cast<size_t>(static_cast<const char*>(q) - base) : end_;
    }
    if (next_quote_ < stop) {
      record_has_quote_ = true;
      // Quote parity up to this line break: an odd count means the break is inside a field.
      for (const char* q = base + next_quote_;
           (q = static_cast<const char*>(std::memchr(q, '"', base + stop - q))) != nullptr; ++q) {
        in_quotes = !in_quotes;
      }
      next_quote_ = kUnknown;  // look again past this line
    }
    if (nl && !in_quotes) return stop;
    if (nl) {  // a line break inside a quoted field
      scan = stop + 1;
      continue;
    }
    if (eof_) {
      if (in_quotes) {
        return Status::InvalidArgument(path_ + ":" + std::to_string(next_line_) +
                                       ": a quoted field is not closed before the end of the file");
      }
      return end_;
    }
    if (end_ - pos_ >= kMaxRecordBytes) {
      return Status::ResourceExhausted(path_ + ":" + std::to_string(next_line_) +
                                       ": a record is longer than " +
                                       std::to_string(kMaxRecordBytes) + " bytes");
    }
    const size_t scanned = end_ - pos_;
    FEDSEG_RETURN_IF_ERROR(Refill());
    scan = pos_ + scanned;
  }
}

void RecordReader::Split(std::string_view rec, std::vector<std::string_view>* fields) {
  fields->clear();
  if (delimiter_ == ' ') {
    size_t i = 0;
    while (i < rec.size()) {
      while (i < rec.size() && (rec[i] == ' ' || rec[i] == '\t')) ++i;
      if (i >= rec.size()) break;
      const size_t b = i;
      while (i < rec.size() && rec[i] != ' ' && rec[i] != '\t') ++i;
      fields->emplace_back(rec.substr(b, i - b));
    }
    return;
  }
  if (!record_has_quote_) {
    size_t b = 0;
    for (size_t i = 0; i < rec.size(); ++i) {
      if (rec[i] != delimiter_) continue;
      fields->emplace_back(rec.data() + b, i - b);
      b = i + 1;
    }
    fields->emplace_back(rec.data() + b, rec.size() - b);
    return;
  }
  // Quoted fields: unquote into one scratch string (reserved up front so views stay valid).
  unquoted_.clear();
  unquoted_.reserve(rec.size());
  std::vector<std::pair<size_t, size_t>> spans;
  size_t i = 0;
  for (;;) {
    const size_t start = unquoted_.size();
    if (i < rec.size() && rec[i] == '"') {
      ++i;
      while (i < rec.size()) {
        if (rec[i] == '"') {
          if (i + 1 < rec.size() && rec[i + 1] == '"') {
            unquoted_.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        unquoted_.push_back(rec[i++]);
      }
    }
    while (i < rec.size() && rec[i] != delimiter_) unquoted_.push_back(rec[i++]);
    spans.emplace_back(start, unquoted_.size() - start);
    if (i >= rec.size()) break;
    ++i;  // the delimiter
  }
  for (const auto& [b, n] : spans) fields->emplace_back(std::string_view(unquoted_).substr(b, n));
}

Result<bool> RecordReader::Next(std::vector<std::string_view>* fields) {
  for (;;) {
    if (pos_ >= end_) {
      if (eof_) return false;
      FEDSEG_RETURN_IF_ERROR(Refill());
      if (pos_ >= end_) return false;
    }
    FEDSEG_ASSIGN_OR_RETURN(const size_t stop, FindRecordEnd());
    if (stop - pos_ > kMaxRecordBytes) {
      return Status::ResourceExhausted(path_ + ":" + std::to_string(next_line_) +
                                       ": a record is longer than " +
                                       std::to_string(kMaxRecordBytes) + " bytes");
    }
    std::string_view rec(buffer_.data() + pos_, stop - pos_);
    record_line_ = next_line_;
    next_line_ += 1;
    if (record_has_quote_) next_line_ += std::count(rec.begin(), rec.end(), '\n');
    pos_ = std::min(stop + 1, end_);
    if (!rec.empty() && rec.back() == '\r') rec.remove_suffix(1);
    if (rec.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    if (encoding_ == Encoding::kWindows1252 &&
        std::any_of(rec.begin(), rec.end(), [](char c) { return c & 0x80; })) {
      transcoded_.clear();
      AppendWindows1252AsUtf8(rec, &transcoded_);
      rec = transcoded_;
    }
    Split(rec, fields);
    return true;
  }
}

}  // namespace fedseg::features::internal
