// Fuzz target: CSV parsing and the typed dataset loader (see fuzz_targets.h).
#include <string>
#include <string_view>

#include "common/data/csv.h"
#include "common/data/dataset_loader.h"
#include "common/data/schema.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fedseg::fuzz {
namespace {

// The table written back as CSV. A one-column table writes an empty field as "" so that the row
// is not a blank line (which the reader skips at the end of a file).
std::string WriteCsv(const data::CsvTable& t) {
  std::string out;
  auto write_row = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out.push_back(t.delimiter);
      if (row.size() == 1 && row[i].empty()) {
        out += "\"\"";
      } else {
        data::AppendCsvField(out, row[i], t.delimiter);
      }
    }
    out.push_back('\n');
  };
  write_row(t.header);
  for (const auto& r : t.rows) write_row(r);
  return out;
}

void CheckTableShape(const data::CsvTable& t) {
  FEDSEG_FUZZ_CHECK(!t.header.empty(), "an accepted table has a header");
  FEDSEG_FUZZ_CHECK(t.line_numbers.size() == t.rows.size(), "one line number per row");
  FEDSEG_FUZZ_CHECK(t.cell_columns.size() == t.rows.size() * t.header.size(),
                    "one column per cell");
  for (const auto& r : t.rows) {
    FEDSEG_FUZZ_CHECK(r.size() == t.header.size(), "every row has the header's width");
  }
  for (const auto& h : t.header) FEDSEG_FUZZ_CHECK(!h.empty(), "header names are non-empty");
  if (!t.rows.empty()) {
    (void)t.Where(t.rows.size() - 1, t.header.size() - 1);
    (void)t.Where(0, 0);
  }
}

void CheckLoader(const data::CsvTable& t, uint8_t selector) {
  data::LoadOptions options;
  options.label = t.header[selector % t.header.size()];
  options.label_optional = (selector & 0x80) != 0;
  if ((selector & 0x40) != 0 && t.header.size() > 2) {
    options.id_column = t.header[(selector + 1) % t.header.size()];
  }
  Result<data::RawDataset> d = data::LoadDataset(t, options);
  if (!d.ok()) return;
  const size_t n = d->num_rows();
  FEDSEG_FUZZ_CHECK(n <= t.rows.size(), "the loader never invents rows");
  FEDSEG_FUZZ_CHECK(d->labels.empty() || d->labels.size() == n, "one label per kept row");
  for (const data::RawColumn& c : d->features) {
    if (c.type == data::ColumnType::kCategorical) {
      FEDSEG_FUZZ_CHECK(c.text.size() == n && c.numeric.empty(), "categorical column size");
    } else {
      FEDSEG_FUZZ_CHECK(c.numeric.size() == n, "numeric column size");
    }
    FEDSEG_FUZZ_CHECK(c.missing <= n, "missing count within the rows");
  }
  if (d->labels.empty() || !data::DistinctLabels(*d).ok()) return;
  auto [train, test] = data::StratifiedSplit(d->labels, 0.25, selector);
  FEDSEG_FUZZ_CHECK(train.size() + test.size() == n, "the split partitions the rows");
  // What a region does with its table next: summarise, fit the schema, encode.
  data::DataSummary summary = Summarize(*d);
  FEDSEG_FUZZ_CHECK(summary.Validate().ok(), "a local summary validates");
  Result<data::Schema> schema = data::Schema::FromSummary(summary, d->label_name);
  if (!schema.ok()) return;
  FEDSEG_FUZZ_CHECK(schema->Validate().ok(), "a fitted schema validates");
  Result<data::EncodedData> enc = schema->Encode(*d);
  if (enc.ok()) {
    FEDSEG_FUZZ_CHECK(enc->rows() == n, "one encoded column per row");
    FEDSEG_FUZZ_CHECK(enc->x.rows() == schema->input_dim(), "encoded width");
  }
}

}  // namespace

int FuzzCsv(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr char kDelimiters[] = {0, ',', ';', '\t', '|'};
  const uint8_t selector = data[0];
  data::CsvOptions options;
  options.delimiter = kDelimiters[selector % sizeof(kDelimiters)];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  Result<data::CsvTable> t = data::ParseCsv(text, "fuzz.csv", options);
  if (!t.ok()) {
    FEDSEG_FUZZ_CHECK(t.status().message().find("fuzz.csv") != std::string::npos,
                      "CSV errors name the source");
    return 0;
  }
  CheckTableShape(*t);

  // Round trip: what we write, we read back identically (same delimiter, given explicitly).
  const std::string written = WriteCsv(*t);
  if (written.rfind("\xEF\xBB\xBF", 0) != 0) {  // a leading BOM would be skipped on re-reading
    data::CsvOptions same;
    same.delimiter = t->delimiter;
    Result<data::CsvTable> again = data::ParseCsv(written, "rewritten.csv", same);
    FEDSEG_FUZZ_CHECK(again.ok(), "a written table parses");
    FEDSEG_FUZZ_CHECK(again->header == t->header, "header round-trips");
    FEDSEG_FUZZ_CHECK(again->rows == t->rows, "rows round-trip");
  }

  CheckLoader(*t, selector);
  return 0;
}

}  // namespace fedseg::fuzz
