#include "common/features/feature_engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/data/csv.h"
#include "common/features/internal/accumulator.h"
#include "common/features/internal/fast_number.h"
#include "common/features/internal/huge_page_allocator.h"
#include "common/features/internal/record_reader.h"
#include "common/data/timestamp.h"

namespace fedseg::features {
namespace {

using internal::Accumulator;
using internal::HugePageAllocator;
using internal::RecordReader;

// Equality of short byte strings without a libc call: the ids, dates and category values
// compared per event are a few bytes long, shorter than memcmp's dispatch.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}
inline bool SameText(std::string_view a, std::string_view b) {
  return a.size() == b.size() && SameBytes(a.data(), b.data(), a.size());
}

// A fast hash of a short text (user ids, timestamp fields): 8-byte words folded through the
// splitmix64 finalizer. Only placement in hash tables depends on it, never a result.
uint64_t HashText(std::string_view s) {
  auto mix = [](uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = mix(h ^ w);
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  return mix(h ^ w);
}

// Users by id, in order of first appearance. With a profile the set is fixed by the profile. The
// index is an open-addressing table of 16-byte slots at most half full; a slot holds the user, a
// hash tag and, for ids of up to kInline bytes (all the bundled logs' and the bench's), the id
// itself, so a lookup touches one cache line instead of the slot plus the id's string (the lookup
// dominated the profile of a 10 M-row log with 200,000 users).
class Users {
 public:
  int64_t Find(std::string_view id) const { return Find(id, HashText(id)); }
  int64_t Find(std::string_view id, uint64_t h) const {
    if (slots_.empty()) return -1;
    const uint16_t tag = static_cast<uint16_t>(h >> 48);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.user == 0) return -1;
      if (s.tag != tag || s.len != std::min<size_t>(id.size(), kLong)) continue;
      if (s.len < kLong ? SameBytes(s.key, id.data(), s.len) : ids[s.user - 1] == id)
        return s.user - 1;
    }
  }
  // Starts loading the slot where a lookup of hash h begins.
  void Prefetch(uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & mask_]);
  }
  // Adds a user that Find did not find.
  uint32_t Add(std::string_view id) { return Add(id, HashText(id)); }
  uint32_t Add(std::string_view id, uint64_t h) {
    const uint32_t u = static_cast<uint32_t>(ids.size());
    ids.emplace_back(id);
    hashes_.push_back(h);
    history.push_back(0);
    label.emplace_back();
    label_line.push_back(0);
    if (ids.size() * 2 > slots_.size()) {
      slots_.assign(std::max<size_t>(1024, slots_.size() * 2), Slot{});
      mask_ = slots_.size() - 1;
      for (uint32_t v = 0; v < ids.size(); ++v) Insert(v);
    } else {
      Insert(u);
    }
    return u;
  }
  size_t size() const { return ids.size(); }

  std::vector<std::string> ids;
  std::vector<char> history;  // has an event before the reference time
  std::vector<uint64_t> profile_line;
  std::vector<std::string> label;    // a label read from an event column
  std::vector<uint64_t> label_line;  // where it was first read

 private:
  static constexpr size_t kInline = 9;
  static constexpr uint8_t kLong = kInline + 1;  // len of a slot whose id is not inline
  struct Slot {
    uint32_t user = 0;  // user index + 1; 0 = empty
    uint16_t tag = 0;   // the hash's top 16 bits
    uint8_t len = 0;    // the id's length, or kLong
    char key[kInline] = {};
  };
  static_assert(sizeof(Slot) == 16);
  void Insert(uint32_t u) {
    const uint64_t h = hashes_[u];
    size_t i = h & mask_;
    while (slots_[i].user != 0) i = (i + 1) & mask_;
    Slot& s = slots_[i];
    s.user = u + 1;
    s.tag = static_cast<uint16_t>(h >> 48);
    const std::string& id = ids[u];
    s.len = static_cast<uint8_t>(std::min<size_t>(id.size(), kLong));
    if (s.len < kLong) std::memcpy(s.key, id.data(), id.size());
  }
  std::vector<Slot, HugePageAllocator<Slot>> slots_;
  std::vector<uint64_t> hashes_;
  size_t mask_ = 0;
};

struct CompiledFilter {
  int field = -1;
  int slot = -1;  // numeric filters: index into the row's parsed numbers
  const Filter* def = nullptr;
};

// Where a compact accumulator keeps each statistic in a user's row of doubles (-1: not kept).
// Counts are doubles too (exact up to 2^53 events).
struct Layout {
  int n = -1, first = -1, last = -1, sum = -1, mean = -1, m2 = -1, lo = -1, hi = -1, matches = -1;
};

// The compact accumulators of one source: per user a row of `width` doubles holding only the
// statistics its simple features finish from (count, sum, mean, min, max, stddev, recency,
// tenure, share and the window label), user-major, so an event touches one or two cache lines
// instead of a full Accumulator per feature.
struct CompactBlock {
  size_t width = 0;
  std::vector<double> init;  // a new user's row
  std::vector<double, HugePageAllocator<double>> rows;
  const double* Row(size_t u) const {
    return (u + 1) * width <= rows.size() ? &rows[u * width] : init.data();
  }
};

// A feature, or the window label (def == nullptr), bound to its source's columns.
struct Target {
  const FeatureDef* def = nullptr;
  std::string where;  // "features[2] 'sales_sum'" or "label"
  Window window;
  std::vector<CompiledFilter> filters;
  int slot = -1;        // numeric aggregations: parsed value
  int text_field = -1;  // share, distinct_count: the raw field
  int end_field = -1;   // session_duration with an end column
  std::string end_format;
  bool keeps_set = false;
  // Simple aggregations: the source's compact block and this target's place in it.
  std::shared_ptr<CompactBlock> block;
  Layout at;
  // The others (distinct counts, active days, sessions): one Accumulator per user.
  std::vector<Accumulator> acc;
  std::vector<std::vector<uint64_t>> sets;
  FeatureReport report;

  Accumulator State(size_t u) const {
    if (!block) return u < acc.size() ? acc[u] : Accumulator{};
    const double* r = block->Row(u);
    Accumulator a;
    a.n = static_cast<uint64_t>(r[at.n]);
    if (at.first >= 0) a.first = r[at.first];
    if (at.last >= 0) a.last = r[at.last];
    if (at.sum >= 0) a.sum = r[at.sum];
    if (at.mean >= 0) a.mean = r[at.mean];
    if (at.m2 >= 0) a.m2 = r[at.m2];
    if (at.lo >= 0) a.lo = r[at.lo];
    if (at.hi >= 0) a.hi = r[at.hi];
    if (at.matches >= 0) a.matches = static_cast<uint64_t>(r[at.matches]);
    return a;
  }
};

// How a simple target reads an event: kTime counts it and keeps its time (count, recency,
// tenure, the window label), kValue folds in a number (sum, mean, min, max, stddev), kShare
// counts it and whether a text field equals the value.
enum class GroupKind { kTime, kValue, kShare };

bool IsSimple(const Target& t, GroupKind* kind) {
  const Aggregation agg = t.def ? t.def->agg : Aggregation::kCount;
  switch (agg) {
    case Aggregation::kCount:
    case Aggregation::kRecency:
    case Aggregation::kTenure:
      *kind = GroupKind::kTime;
      return true;
    case Aggregation::kSum:
    case Aggregation::kMean:
    case Aggregation::kMin:
    case Aggregation::kMax:
    case Aggregation::kStddev:
      *kind = GroupKind::kValue;
      return true;
    case Aggregation::kShare:
      *kind = GroupKind::kShare;
      return true;
    case Aggregation::kDistinctCount:
    case Aggregation::kEventsPerActiveDay:
    case Aggregation::kSessionDuration:
      break;
  }
  return false;
}

bool SameFilters(const std::vector<CompiledFilter>& a, const std::vector<CompiledFilter>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const Filter& x = *a[i].def;
    const Filter& y = *b[i].def;
    if (x.column != y.column || x.op != y.op || x.numeric != y.numeric ||
        (x.numeric ? x.number != y.number : x.value != y.value)) {
      return false;
    }
  }
  return true;
}

// Simple targets that read the same events the same way (same kind, window, filters and
// column) share one set of statistics: a spec's sum, mean, min, max and stddev of one column
// are one Welford accumulator, its count, recency and tenure one count with first/last times.
// Each statistic is computed exactly as Accumulator computes it, in the same event order.
struct Group {
  GroupKind kind = GroupKind::kTime;
  Window window;
  const std::vector<CompiledFilter>* filters = nullptr;
  int slot = -1;
  int text_field = -1;
  std::string_view value;
  Layout at;
  std::vector<Target*> members;
  uint64_t events = 0, missing = 0;
};

struct Header {
  std::vector<std::string> names;
  std::unordered_map<std::string, int> index;
};

Result<Header> ReadHeader(const SourceSpec& s, RecordReader& reader,
                          std::vector<std::string_view>& fields) {
  Header h;
  if (s.header) {
    FEDSEG_ASSIGN_OR_RETURN(bool got, reader.Next(&fields));
    if (!got)
      return Status::InvalidArgument(s.path + ": the file is empty (sources." + s.name +
                                     " expects a header row)");
    for (std::string_view f : fields) h.names.emplace_back(data::TrimWhitespace(f));
  } else {
    h.names = s.columns;
  }
  for (size_t i = 0; i < h.names.size(); ++i) h.index.emplace(h.names[i], static_cast<int>(i));
  return h;
}

Result<int> Column(const Header& h, const std::string& name, const SourceSpec& s,
                   const std::string& spec_file, const std::string& where) {
  auto it = h.index.find(name);
  if (it != h.index.end()) return it->second;
  std::string list;
  for (const std::string& n : h.names) list += (list.empty() ? "" : ", ") + n;
  return Status::InvalidArgument(spec_file + ": " + where + ": column '" + name +
                                 "' is not in source '" + s.name + "' (" + s.path +
                                 "); its columns are: " + list);
}

bool PassesFilters(const std::vector<CompiledFilter>& filters,
                   const std::vector<std::string_view>& fields, const double* nums) {
  for (const CompiledFilter& cf : filters) {
    const Filter& f = *cf.def;
    if (cf.slot >= 0) {
      const double x = nums[cf.slot];
      if (std::isnan(x)) return false;
      bool ok = false;
      switch (f.op) {
        case FilterOp::kEq:
          ok = x == f.number;
          break;
        case FilterOp::kNe:
          ok = x != f.number;
          break;
        case FilterOp::kLt:
          ok = x < f.number;
          break;
        case FilterOp::kLe:
          ok = x <= f.number;
          break;
        case FilterOp::kGt:
          ok = x > f.number;
          break;
        case FilterOp::kGe:
          ok = x >= f.number;
          break;
      }
      if (!ok) return false;
    } else {
      const bool eq = SameText(data::TrimWhitespace(fields[cf.field]), f.value);
      if (eq != (f.op == FilterOp::kEq)) return false;
    }
  }
  return true;
}

// One pass over one event source, feeding every target bound to it.
class SourcePass {
 public:
  SourcePass(const FeatureSpec& spec, const SourceSpec& src, Users& users, bool fixed_users,
             SourceReport& report)
      : spec_(spec), src_(src), users_(users), fixed_users_(fixed_users), report_(report) {}

  Status Bind(std::vector<Target*> targets) {
    targets_ = std::move(targets);
    FEDSEG_ASSIGN_OR_RETURN(reader_, RecordReader::Open(src_.path, src_.delimiter, src_.encoding));
    FEDSEG_ASSIGN_OR_RETURN(header_, ReadHeader(src_, *reader_, fields_));
    const std::string swhere = "sources." + src_.name;
    FEDSEG_ASSIGN_OR_RETURN(
        user_field_, Column(header_, src_.user_id, src_, spec_.spec_file, swhere + ".user_id"));
    FEDSEG_ASSIGN_OR_RETURN(
        time_field_, Column(header_, src_.timestamp, src_, spec_.spec_file, swhere + ".timestamp"));
    if (spec_.label.kind == LabelSpec::Kind::kEventColumn && spec_.label.source == src_.name) {
      FEDSEG_ASSIGN_OR_RETURN(
          label_field_, Column(header_, spec_.label.column, src_, spec_.spec_file, "label.column"));
    }
    for (Target* t : targets_) {
      for (CompiledFilter& cf : t->filters) {
        FEDSEG_ASSIGN_OR_RETURN(cf.field,
                                Column(header_, cf.def->column, src_, spec_.spec_file, t->where));
        if (cf.def->numeric) cf.slot = Slot(cf.field);
      }
      if (t->def == nullptr) continue;
      const FeatureDef& f = *t->def;
      if (!f.column.empty()) {
        FEDSEG_ASSIGN_OR_RETURN(int field,
                                Column(header_, f.column, src_, spec_.spec_file, t->where));
        if (f.agg == Aggregation::kShare || f.agg == Aggregation::kDistinctCount) {
          t->text_field = field;
        } else {
          t->slot = Slot(field);
        }
      }
      if (!f.end_column.empty()) {
        FEDSEG_ASSIGN_OR_RETURN(t->end_field,
                                Column(header_, f.end_column, src_, spec_.spec_file, t->where));
        t->end_format = f.end_format.empty() ? src_.timestamp_format : f.end_format;
      }
    }
    BuildGroups();
    return Status::OK();
  }

  // Records are read in batches and each batch goes through three loops, so that the two random
  // memory accesses per event (the user's index slot, the user's statistics row) are prefetched
  // a few records ahead instead of stalling one after the other: (1) check and parse each record
  // and hash its user id, (2) find or add the users in file order, (3) update the statistics in
  // file order. A record the first loop rejects ends the batch there, so errors come in file
  // order exactly as from a record-at-a-time pass.
  Status Run() {
    const size_t nslots = slot_fields_.size();
    const size_t width = block_->width;
    std::string last_id;
    bool have_last = false;
    uint64_t last_user = kNoUser;
    uint64_t not_selected = 0, not_in_profile = 0;
    for (bool end = false; !end;) {
      // Read: copy up to kBatch records into the batch (the reader's views last one record).
      Status read_error;
      arena_.clear();
      spans_.clear();
      recs_.clear();
      while (recs_.size() < kBatch) {
        Result<bool> got = reader_->Next(&fields_);
        if (!got.ok()) {
          read_error = got.status();
          end = true;
          break;
        }
        if (!*got) {
          end = true;
          break;
        }
        Rec& r = recs_.emplace_back();
        r.line = reader_->line();
        r.first_span = static_cast<uint32_t>(spans_.size());
        r.fields = static_cast<uint32_t>(fields_.size());
        for (std::string_view f : fields_) {
          spans_.push_back({static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(f.size())});
          arena_.append(f);
        }
      }
      // (1) Check and parse; hash the user id and prefetch its index slot.
      Status row_error;
      size_t count = recs_.size();
      // A spec whose features read no number has nslots == 0: nums_ stays empty, so rows index
      // it through data() (an empty vector's operator[] would bind a reference to null).
      nums_.resize(count * nslots);
      for (size_t i = 0; i < count; ++i) {
        Rec& r = recs_[i];
        ++report_.rows;
        Status st = Parse(r, nums_.data() + i * nslots);
        if (!st.ok()) {
          row_error = std::move(st);
          count = i;
          break;
        }
        if (r.user == kSkip) continue;
        if (have_last && SameText(r.id, last_id)) {
          r.user = kSameAsLast;
        } else {
          r.hash = HashText(r.id);
          users_.Prefetch(r.hash);
          last_id.assign(r.id);
          have_last = true;
        }
      }
      // (2) Users, in file order (new users are numbered in order of first appearance).
      for (size_t i = 0; i < count; ++i) {
        Rec& r = recs_[i];
        if (r.user == kSkip) continue;
        if (r.user == kSameAsLast) {
          r.user = last_user;
        } else {
          const int64_t found = users_.Find(r.id, r.hash);
          if (found >= 0) {
            r.user = static_cast<uint64_t>(found);
          } else if (!fixed_users_) {
            r.user = users_.Add(r.id, r.hash);
          } else {
            r.user = kNoUser;
          }
          last_user = r.user;
        }
        if (r.user == kNoUser) {
          ++not_in_profile;
          r.user = kSkip;
        }
      }
      auto& rows = block_->rows;
      while (width > 0 && rows.size() < users_.size() * width)
        rows.insert(rows.end(), block_->init.begin(), block_->init.end());
      // (3) Statistics, in file order, prefetching the row kAhead records ahead.
      for (size_t i = 0; i < count; ++i) {
        if (width > 0 && i + kAhead < count && recs_[i + kAhead].user != kSkip) {
          const double* ahead = &rows[recs_[i + kAhead].user * width];
          __builtin_prefetch(ahead, 1);
          __builtin_prefetch(ahead + width - 1, 1);
        }
        const Rec& r = recs_[i];
        if (r.user == kSkip) continue;
        const uint64_t u = r.user;
        const double t = r.t;
        const double* nums = nums_.data() + i * nslots;
        Fields(r);
        line_ = r.line;
        if (t < spec_.reference_days) users_.history[u] = 1;
        if (label_field_ >= 0) FEDSEG_RETURN_IF_ERROR(ReadEventLabel(u));
        bool used = false;
        if (width > 0) {
          double* row = &rows[u * width];
          for (Group& g : groups_) used |= Update(g, row, t, nums);
        }
        for (Target* tg : complex_) {
          if (!tg->window.Contains(t, spec_.reference_days)) continue;
          if (!PassesFilters(tg->filters, fields_, nums)) continue;
          if (tg->acc.size() <= u) tg->acc.resize(users_.size());
          FEDSEG_ASSIGN_OR_RETURN(bool took, Update(*tg, tg->acc[u], u, t));
          used |= took;
        }
        if (used) {
          ++report_.used;
        } else {
          ++not_selected;
        }
      }
      FEDSEG_RETURN_IF_ERROR(row_error);
      FEDSEG_RETURN_IF_ERROR(read_error);
    }
    if (not_in_profile > 0) report_.skipped["user_not_in_profile"] += not_in_profile;
    if (not_selected > 0) report_.skipped["not_selected"] += not_selected;
    for (const Group& g : groups_) {
      for (Target* m : g.members) {
        m->report.events += g.events;
        m->report.missing_values += g.missing;
      }
    }
    return Status::OK();
  }

 private:
  static constexpr size_t kBatch = 256;
  static constexpr size_t kAhead = 8;
  static constexpr uint64_t kNoUser = ~uint64_t{0};      // not in the profile
  static constexpr uint64_t kSkip = kNoUser - 1;         // a bad row skipped, or not a user
  static constexpr uint64_t kSameAsLast = kNoUser - 2;   // the previous record's user

  // A record of the batch: its fields are spans_[first_span, first_span + fields) of arena_.
  struct Rec {
    uint64_t line = 0;
    uint32_t first_span = 0, fields = 0;
    std::string_view id;  // trimmed, into arena_
    uint64_t hash = 0;
    uint64_t user = 0;  // after (1): kSkip, kSameAsLast or 0; after (2): the user or kSkip
    double t = 0;
  };
  struct Span {
    uint32_t begin, size;
  };

  // fields_ = the record's fields (views into arena_).
  void Fields(const Rec& r) {
    fields_.clear();
    for (uint32_t k = 0; k < r.fields; ++k) {
      const Span s = spans_[r.first_span + k];
      fields_.emplace_back(arena_.data() + s.begin, s.size);
    }
  }

  // Checks a record and parses its time and numbers; a bad row is an error, or is skipped
  // (r.user = kSkip) and counted with "bad_rows": "skip".
  Status Parse(Rec& r, double* nums) {
    Fields(r);
    line_ = r.line;
    r.user = kSkip;
    if (fields_.size() != header_.names.size()) {
      return Bad("wrong_field_count", std::to_string(fields_.size()) + " fields, the header has " +
                                          std::to_string(header_.names.size()));
    }
    r.id = data::TrimWhitespace(fields_[user_field_]);
    if (data::IsMissingValue(r.id)) {
      return Bad("missing_user_id", "the user id (column '" + src_.user_id + "') is empty");
    }
    if (!ParseTime(fields_[time_field_], &r.t)) {
      return Bad("bad_timestamp", "timestamp " + data::QuoteForMessage(fields_[time_field_]) +
                                      " (column '" + src_.timestamp + "') does not match format '" +
                                      src_.timestamp_format + "'");
    }
    for (size_t k = 0; k < slot_fields_.size(); ++k) {
      const std::string_view cell = fields_[slot_fields_[k]];
      if (internal::FastParseDecimal(cell, &nums[k]) || data::ParseNumber(cell, &nums[k])) continue;
      nums[k] = std::numeric_limits<double>::quiet_NaN();
      if (!data::IsMissingValue(cell)) {
        return Bad("bad_number", "column '" + header_.names[slot_fields_[k]] + "' holds " +
                                     data::QuoteForMessage(cell) + ", not a number");
      }
    }
    r.user = 0;
    return Status::OK();
  }

  // Sorts the targets into groups of simple ones sharing the compact block, and the rest.
  void BuildGroups() {
    block_ = std::make_shared<CompactBlock>();
    for (Target* t : targets_) {
      GroupKind kind;
      if (!IsSimple(*t, &kind)) {
        complex_.push_back(t);
        continue;
      }
      const std::string_view value = t->def ? std::string_view(t->def->value) : "";
      Group* g = nullptr;
      for (Group& h : groups_) {
        if (h.kind == kind && h.window.start_days == t->window.start_days &&
            h.window.end_days == t->window.end_days && SameFilters(*h.filters, t->filters) &&
            h.slot == t->slot && h.text_field == t->text_field && h.value == value) {
          g = &h;
        }
      }
      if (g == nullptr) {
        g = &groups_.emplace_back();
        g->kind = kind;
        g->window = t->window;
        g->filters = &t->filters;
        g->slot = t->slot;
        g->text_field = t->text_field;
        g->value = value;
      }
      g->members.push_back(t);
    }
    size_t& width = block_->width;
    std::vector<double>& init = block_->init;
    const double inf = std::numeric_limits<double>::infinity();
    auto add = [&](int& at, double start) {
      if (at >= 0) return;
      at = static_cast<int>(width++);
      init.push_back(start);
    };
    for (Group& g : groups_) {
      add(g.at.n, 0);
      if (g.kind == GroupKind::kShare) add(g.at.matches, 0);
      for (const Target* m : g.members) {
        switch (m->def ? m->def->agg : Aggregation::kCount) {
          case Aggregation::kRecency:
            add(g.at.last, -inf);
            break;
          case Aggregation::kTenure:
            add(g.at.first, inf);
            break;
          case Aggregation::kSum:
            add(g.at.sum, 0);
            break;
          case Aggregation::kMean:
            add(g.at.mean, 0);
            break;
          case Aggregation::kStddev:
            add(g.at.mean, 0);
            add(g.at.m2, 0);
            break;
          case Aggregation::kMin:
            add(g.at.lo, inf);
            break;
          case Aggregation::kMax:
            add(g.at.hi, -inf);
            break;
          default:
            break;
        }
      }
    }
    for (Group& g : groups_) {
      for (Target* m : g.members) {
        m->block = block_;
        m->at = g.at;
      }
    }
  }

  // Timestamps repeat (a day's events share a date): parsed ones are cached by their text.
  bool ParseTime(std::string_view text, double* t) {
    if (text.size() > kTimeKey) return data::ParseTimestamp(text, src_.timestamp_format, t);
    TimeEntry& e = time_cache_[HashText(text) & (kTimeCache - 1)];
    if (e.len == text.size() && SameBytes(e.key, text.data(), text.size())) {
      *t = e.days;
      return true;
    }
    if (!data::ParseTimestamp(text, src_.timestamp_format, t)) return false;
    e.len = static_cast<uint8_t>(text.size());
    std::memcpy(e.key, text.data(), text.size());
    e.days = *t;
    return true;
  }

  // One event into a group's statistics in `row`, as Accumulator::AddTime/AddValue would.
  bool Update(Group& g, double* row, double t, const double* nums) {
    if (!g.window.Contains(t, spec_.reference_days)) return false;
    if (!g.filters->empty() && !PassesFilters(*g.filters, fields_, nums)) return false;
    const Layout& at = g.at;
    double x = 0;
    if (g.kind == GroupKind::kValue) {
      x = nums[g.slot];
      if (std::isnan(x)) {
        ++g.missing;
        return false;
      }
    }
    const double n = row[at.n] += 1;
    if (at.first >= 0 && t < row[at.first]) row[at.first] = t;
    if (at.last >= 0 && t > row[at.last]) row[at.last] = t;
    if (g.kind == GroupKind::kValue) {
      if (at.sum >= 0) row[at.sum] += x;
      if (at.mean >= 0) {
        double& mean = row[at.mean];
        const double d = x - mean;
        mean += d / n;
        if (at.m2 >= 0) row[at.m2] += d * (x - mean);
      }
      if (at.lo >= 0 && x < row[at.lo]) row[at.lo] = x;
      if (at.hi >= 0 && x > row[at.hi]) row[at.hi] = x;
    } else if (g.kind == GroupKind::kShare) {
      if (SameText(data::TrimWhitespace(fields_[g.text_field]), g.value)) row[at.matches] += 1;
    }
    ++g.events;
    return true;
  }

  // A label column of an event source must hold one value per user.
  Status ReadEventLabel(size_t u) {
    const std::string_view v = data::TrimWhitespace(fields_[label_field_]);
    if (users_.label_line[u] == 0) {
      users_.label[u].assign(v);
      users_.label_line[u] = line_;
    } else if (users_.label[u] != v) {
      return Status::InvalidArgument(
          src_.path + ":" + std::to_string(line_) + ": user " +
          data::QuoteForMessage(users_.ids[u]) + " has label " + spec_.label.column + " = " +
          data::QuoteForMessage(v) + " here but " + data::QuoteForMessage(users_.label[u]) +
          " on line " + std::to_string(users_.label_line[u]) + " (" + spec_.spec_file +
          ": label: a label column of an event source must be constant per user)");
    }
    return Status::OK();
  }

  int Slot(int field) {
    for (size_t k = 0; k < slot_fields_.size(); ++k) {
      if (slot_fields_[k] == field) return static_cast<int>(k);
    }
    slot_fields_.push_back(field);
    return static_cast<int>(slot_fields_.size() - 1);
  }

  Status Bad(const char* reason, const std::string& what) {
    if (src_.skip_bad_rows) {
      ++report_.skipped[reason];
      return Status::OK();
    }
    return Status::InvalidArgument(src_.path + ":" + std::to_string(line_) + ": " + what +
                                   " (sources." + src_.name + " in " + spec_.spec_file +
                                   "; \"bad_rows\": \"skip\" skips and counts such rows)");
  }

  // Distinct counts, active days and sessions.
  Result<bool> Update(Target& tg, Accumulator& a, size_t u, double t) {
    if (tg.keeps_set && tg.sets.size() <= u) tg.sets.resize(users_.size());
    const FeatureDef& f = *tg.def;
    switch (f.agg) {
      case Aggregation::kDistinctCount: {
        const std::string_view v = data::TrimWhitespace(fields_[tg.text_field]);
        if (data::IsMissingValue(v)) {
          ++tg.report.missing_values;
          return false;
        }
        a.AddTime(t);
        internal::InsertDistinct(&tg.sets[u], std::hash<std::string_view>{}(v));
        break;
      }
      case Aggregation::kEventsPerActiveDay:
        a.AddTime(t);
        internal::InsertDistinct(&tg.sets[u],
                                 static_cast<uint64_t>(static_cast<int64_t>(std::floor(t))));
        break;
      case Aggregation::kSessionDuration:
        if (tg.end_field >= 0) {
          double end = 0;
          if (!data::ParseTimestamp(fields_[tg.end_field], tg.end_format, &end)) {
            FEDSEG_RETURN_IF_ERROR(
                Bad("bad_timestamp", "session end " + data::QuoteForMessage(fields_[tg.end_field]) +
                                         " does not match format '" + tg.end_format + "' (" +
                                         tg.where + ")"));
            return false;
          }
          if (end < t) {
            FEDSEG_RETURN_IF_ERROR(
                Bad("bad_timestamp", "the session ends before it starts (" + tg.where + ")"));
            return false;
          }
          a.AddTime(t);
          a.AddValue((end - t) * 24 * 60);
        } else {
          if (a.n == 0) {
            a.session_start = t;
          } else if (t < a.last) {
            return Status::InvalidArgument(
                src_.path + ":" + std::to_string(line_) + ": " + spec_.spec_file + ": " +
                tg.where + ": user " + data::QuoteForMessage(users_.ids[u]) +
                " has an event earlier than the previous one; sessions from gaps need each "
                "user's events in time order (sort the file by user and time)");
          } else if ((t - a.last) * 24 * 60 > f.gap_minutes) {
            a.session_total += (a.last - a.session_start) * 24 * 60;
            ++a.sessions;
            a.session_start = t;
          }
          a.AddTime(t);
        }
        break;
      default:  // the simple aggregations go through groups
        return false;
    }
    ++tg.report.events;
    return true;
  }

  static constexpr size_t kTimeKey = 23;
  static constexpr size_t kTimeCache = 1024;
  struct TimeEntry {
    uint8_t len = 0xFF;  // no text is that long: empty
    char key[kTimeKey] = {};
    double days = 0;
  };

  const FeatureSpec& spec_;
  const SourceSpec& src_;
  Users& users_;
  bool fixed_users_;
  SourceReport& report_;
  std::vector<Target*> targets_;
  std::vector<Target*> complex_;  // targets outside the groups, in spec order
  std::vector<Group> groups_;
  std::shared_ptr<CompactBlock> block_;
  std::unique_ptr<RecordReader> reader_;
  Header header_;
  std::vector<std::string_view> fields_;
  int user_field_ = -1, time_field_ = -1, label_field_ = -1;
  std::vector<int> slot_fields_;
  std::vector<TimeEntry> time_cache_ = std::vector<TimeEntry>(kTimeCache);
  // The batch being processed, and the line of the record at hand (for messages).
  std::string arena_;
  std::vector<Span> spans_;
  std::vector<Rec> recs_;
  std::vector<double> nums_;
  uint64_t line_ = 0;
};

// Reads the profile: one row per user (a repeated id would multiply rows in the join: an error).
Status ReadProfile(const FeatureSpec& spec, const SourceSpec& src, Users& users,
                   std::vector<std::vector<std::string>>& columns, std::vector<std::string>& labels,
                   SourceReport& report) {
  FEDSEG_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(src.path, src.delimiter, src.encoding));
  std::vector<std::string_view> fields;
  FEDSEG_ASSIGN_OR_RETURN(Header h, ReadHeader(src, *reader, fields));
  const std::string where = "sources." + src.name;
  FEDSEG_ASSIGN_OR_RETURN(int uid, Column(h, src.user_id, src, spec.spec_file, where + ".user_id"));
  std::vector<int> cols;
  for (const std::string& c : spec.profile_columns) {
    FEDSEG_ASSIGN_OR_RETURN(int i, Column(h, c, src, spec.spec_file, "profile.columns"));
    cols.push_back(i);
  }
  int label_field = -1;
  if (spec.label.kind == LabelSpec::Kind::kProfileColumn) {
    FEDSEG_ASSIGN_OR_RETURN(label_field,
                            Column(h, spec.label.column, src, spec.spec_file, "label.column"));
  }
  columns.assign(cols.size(), {});
  for (;;) {
    FEDSEG_ASSIGN_OR_RETURN(bool got, reader->Next(&fields));
    if (!got) break;
    ++report.rows;
    const std::string at = src.path + ":" + std::to_string(reader->line()) + ": ";
    if (fields.size() != h.names.size()) {
      return Status::InvalidArgument(at + std::to_string(fields.size()) +
                                     " fields, the header has " + std::to_string(h.names.size()) +
                                     " (" + where + ")");
    }
    const std::string_view id = data::TrimWhitespace(fields[uid]);
    if (data::IsMissingValue(id)) {
      return Status::InvalidArgument(at + "the user id (column '" + src.user_id + "') is empty (" +
                                     where + ")");
    }
    const int64_t seen = users.Find(id);
    if (seen >= 0) {
      return Status::InvalidArgument(
          at + "user " + data::QuoteForMessage(id) + " already appeared on line " +
          std::to_string(users.profile_line[seen]) +
          ": the profile must have one row per user, or the join would multiply rows (" + where +
          ")");
    }
    users.Add(id);
    users.history.back() = 1;
    users.profile_line.push_back(reader->line());
    for (size_t k = 0; k < cols.size(); ++k)
      columns[k].emplace_back(data::TrimWhitespace(fields[cols[k]]));
    if (label_field >= 0) labels.emplace_back(data::TrimWhitespace(fields[label_field]));
    ++report.used;
  }
  if (users.ids.empty())
    return Status::InvalidArgument(src.path + ": the profile has no rows (" + where + ")");
  return Status::OK();
}

std::string WindowText(const Window& w) {
  auto num = [](double d) {
    return std::isinf(d) ? std::string("-inf") : nlohmann::json(d).dump();
  };
  return "[" + num(w.start_days) + ", " + num(w.end_days) + ") days";
}

}  // namespace

Result<FeatureTable> ComputeFeatures(const FeatureSpec& spec) {
  FeatureTable out;
  out.id_column = spec.id_column;
  Users users;
  std::vector<std::vector<std::string>> profile_columns;
  std::vector<std::string> profile_labels;

  std::vector<Target> targets(spec.features.size() + 1);
  for (size_t i = 0; i < spec.features.size(); ++i) {
    const FeatureDef& f = spec.features[i];
    Target& t = targets[i];
    t.def = &f;
    t.where = "features[" + std::to_string(i) + "] '" + f.name + "'";
    t.window = f.window;
    for (const Filter& fl : f.filters) t.filters.push_back({-1, -1, &fl});
    t.keeps_set = f.agg == Aggregation::kDistinctCount || f.agg == Aggregation::kEventsPerActiveDay;
    t.report.name = f.name;
  }
  Target& label = targets.back();
  label.where = "label";
  label.window = spec.label.window;
  for (const Filter& fl : spec.label.filters) label.filters.push_back({-1, -1, &fl});
  label.report.name = spec.label.name;

  for (const SourceSpec& src : spec.sources) {
    SourceReport& report = out.sources.emplace_back();
    report.name = src.name;
    report.path = src.path;
    if (src.name != spec.profile_source) continue;
    FEDSEG_RETURN_IF_ERROR(ReadProfile(spec, src, users, profile_columns, profile_labels, report));
  }
  const bool fixed_users = !spec.profile_source.empty();
  for (size_t s = 0; s < spec.sources.size(); ++s) {
    const SourceSpec& src = spec.sources[s];
    if (src.name == spec.profile_source) continue;
    std::vector<Target*> bound;
    for (size_t i = 0; i < spec.features.size(); ++i) {
      if (spec.features[i].source == src.name) bound.push_back(&targets[i]);
    }
    if (spec.label.kind == LabelSpec::Kind::kWindow && spec.label.source == src.name)
      bound.push_back(&label);
    const bool label_source =
        spec.label.kind == LabelSpec::Kind::kEventColumn && spec.label.source == src.name;
    if (bound.empty() && !label_source) continue;
    SourcePass pass(spec, src, users, fixed_users, out.sources[s]);
    FEDSEG_RETURN_IF_ERROR(pass.Bind(bound));
    FEDSEG_RETURN_IF_ERROR(pass.Run());
  }

  // An empty window is an error, never a column of zeros.
  for (size_t i = 0; i < targets.size(); ++i) {
    Target& t = targets[i];
    if (t.def == nullptr && spec.label.kind != LabelSpec::Kind::kWindow) continue;
    if (t.report.events > 0) continue;
    const std::string& source = t.def ? t.def->source : spec.label.source;
    const SourceReport* rep = nullptr;
    for (const SourceReport& r : out.sources) {
      if (r.name == source) rep = &r;
    }
    return Status::InvalidArgument(
        spec.spec_file + ": " + t.where + ": no event of source '" + source + "' (" +
        (rep ? rep->path + ", " + std::to_string(rep->rows) + " rows" : std::string()) +
        ") falls in its window " + WindowText(t.window) + " around reference_time " +
        spec.reference_time + (t.filters.empty() ? "" : " and passes its filter") +
        "; check the window, the filter values and the reference time");
  }

  std::vector<uint32_t> rows;
  for (uint32_t u = 0; u < users.ids.size(); ++u) {
    if (users.history[u]) {
      rows.push_back(u);
    } else {
      ++out.users_without_history;
    }
  }
  if (rows.empty()) {
    return Status::InvalidArgument(
        spec.spec_file + ": no user has an event before reference_time " + spec.reference_time);
  }
  for (uint32_t u : rows) out.ids.push_back(users.ids[u]);
  for (size_t k = 0; k < spec.profile_columns.size(); ++k) {
    FeatureColumn c;
    c.name = spec.profile_columns[k];
    c.text = true;
    for (uint32_t u : rows) c.texts.push_back(profile_columns[k][u]);
    out.columns.push_back(std::move(c));
  }
  for (size_t i = 0; i < spec.features.size(); ++i) {
    Target& t = targets[i];
    if (t.keeps_set) t.sets.resize(users.ids.size());
    FeatureColumn c;
    c.name = t.def->name;
    c.numbers.reserve(rows.size());
    for (uint32_t u : rows) {
      const Accumulator a = t.State(u);
      if (a.n == 0) ++t.report.absent_users;
      c.numbers.push_back(internal::FinishFeature(
          *t.def, a, t.keeps_set ? t.sets[u].size() : 0, spec.reference_days));
    }
    out.columns.push_back(std::move(c));
    out.features.push_back(t.report);
  }
  if (spec.label.kind == LabelSpec::Kind::kProfileColumn) {
    out.label_name = spec.label.name;
    for (uint32_t u : rows) out.labels.push_back(profile_labels[u]);
  } else if (spec.label.kind == LabelSpec::Kind::kEventColumn) {
    out.label_name = spec.label.name;
    for (uint32_t u : rows) out.labels.push_back(users.label[u]);
  } else if (spec.label.kind == LabelSpec::Kind::kWindow) {
    out.label_name = spec.label.name;
    for (uint32_t u : rows) {
      const bool any = label.State(u).n > 0;
      out.labels.push_back(any == spec.label.positive_when_any ? "1" : "0");
    }
  }
  return out;
}

}  // namespace fedseg::features
