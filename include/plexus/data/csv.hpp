// Numeric CSV files into matrices: one sample per line, an optional header
// line of column names, and an optional label column split off into its own
// one-column matrix. Every refused cell or line is named by file, 1-based
// line number and column (0-based index and header name).
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"
#include "../io/atomic_file.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace plexus {

// Whether the first line holds column names. automatic: it does when none
// of its fields is a number, it does not when all are; a first line that
// mixes numbers and text is refused (set present or absent).
enum class CsvHeader { automatic, present, absent };

struct CsvOptions {
  char separator = ',';
  CsvHeader header = CsvHeader::automatic;
  // The label column, split off into CsvData::labels: by 0-based index, or
  // by its header name. Neither (the defaults): every column is a feature.
  Index label_column = -1;
  std::string label_name{};
};

template <typename T = double>
struct CsvData {
  Matrix<T> features;                      // rows x (columns, less the label column)
  Matrix<T> labels;                        // rows x 1; rows x 0 without a label column
  std::vector<std::string> feature_names;  // the header's names of the feature columns; empty without a header
  std::string label_name;                  // the header's name of the label column, or empty
  bool has_header = false;
};

namespace detail {

inline std::string csv_cell_name(Index col, const std::vector<std::string>& header) {
  if (col >= static_cast<Index>(header.size())) return concat("column ", col);
  return concat("column ", col, " (\"", header[static_cast<std::size_t>(col)], "\")");
}

inline bool csv_trim_char(char c, char sep) { return (c == ' ' || c == '\t') && c != sep; }

// The fields of one line, trimmed of spaces and tabs (unless one of them is
// the separator).
inline void csv_split(const std::string& line, char sep, std::vector<std::string>& out) {
  out.clear();
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = std::min(line.find(sep, begin), line.size());
    std::size_t a = begin, b = end;
    while (a < b && csv_trim_char(line[a], sep)) ++a;
    while (b > a && csv_trim_char(line[b - 1], sep)) --b;
    out.push_back(line.substr(a, b - a));
    if (end == line.size()) return;
    begin = end + 1;
  }
}

// The number a whole field spells, locale-independent where the library has
// std::from_chars for double; false if it is not one.
inline bool csv_number(const std::string& field, double& v) {
  const char* a = field.data();
  const char* b = a + field.size();
  if (a != b && *a == '+') {
    ++a;
    if (a != b && *a == '-') return false;  // "+-1"
  }
  if (a == b) return false;
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  const auto r = std::from_chars(a, b, v);
  return r.ec == std::errc() && r.ptr == b;
#else
  const std::string s(a, b);
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
#endif
}

// parse_csv for the public function `fn` (its messages start with it).
template <typename T>
CsvData<T> parse_csv_as(const std::string& text, const CsvOptions& o, const std::string& where, const char* fn) {
  const std::string who = std::string(fn) + ": " + where;
  const char sep = o.separator;
  if (sep == '"' || sep == '\n' || sep == '\r' || sep == '.' || sep == '-' || sep == '+' || sep == '\0' ||
      (sep >= '0' && sep <= '9') || (sep >= 'a' && sep <= 'z') || (sep >= 'A' && sep <= 'Z'))
    throw value_error(concat(who, ": '", sep, "' cannot be the separator"));
  if (o.label_column >= 0 && !o.label_name.empty())
    throw value_error(concat(who, ": give the label column by index (", o.label_column, ") or by name (\"",
                             o.label_name, "\"), not both"));

  // Lines with their 1-based numbers; trailing empty lines dropped.
  std::vector<std::pair<Index, std::string>> lines;
  {
    std::size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    Index number = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(pos, end - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.emplace_back(++number, std::move(line));
      pos = end + 1;
    }
    auto blank = [&](const std::string& s) {
      for (char c : s)
        if (c != ' ' && c != '\t') return false;
      return true;
    };
    while (!lines.empty() && blank(lines.back().second)) lines.pop_back();
    for (const auto& l : lines)
      if (blank(l.second))
        throw io_error(concat(who, ", line ", l.first, ": the line is empty (empty lines may only end the file)"));
  }
  if (lines.empty()) throw io_error(who + ": no data (the file is empty)");

  std::vector<std::string> fields, header;
  std::vector<double> values;  // row-major
  // Quotes are refused anywhere, the header included: a quoted field may
  // hold the separator, which this reader would split.
  auto refuse_quotes = [&](Index number) {
    for (std::size_t c = 0; c < fields.size(); ++c)
      if (fields[c].find('"') != std::string::npos)
        throw io_error(concat(who, ", line ", number, ", ", csv_cell_name(static_cast<Index>(c), header),
                              ": quoted fields are not supported (numbers only)"));
  };
  csv_split(lines[0].second, sep, fields);
  refuse_quotes(1);
  const Index columns = static_cast<Index>(fields.size());
  bool has_header = o.header == CsvHeader::present;
  if (o.header == CsvHeader::automatic) {
    Index numbers = 0, first_text = -1, first_number = -1;
    double v = 0.0;
    for (Index c = 0; c < columns; ++c) {
      if (csv_number(fields[static_cast<std::size_t>(c)], v)) {
        ++numbers;
        if (first_number < 0) first_number = c;
      } else if (first_text < 0) {
        first_text = c;
      }
    }
    if (numbers != 0 && numbers != columns)
      throw io_error(concat(who, ", line 1: column ", first_text, " (\"", fields[static_cast<std::size_t>(first_text)],
                            "\") is not a number but column ", first_number, " (\"",
                            fields[static_cast<std::size_t>(first_number)],
                            "\") is, so line 1 is neither a header nor a row of numbers; set "
                            "CsvOptions::header to present or absent"));
    has_header = numbers == 0;
  }
  if (has_header) header = fields;

  Index label = o.label_column;
  if (label >= columns)
    throw value_error(concat(who, ": label column ", label, " does not exist; line 1 has ", columns, " columns (0 to ",
                             columns - 1, ")"));
  if (!o.label_name.empty()) {
    if (!has_header)
      throw value_error(
          concat(who, ": the label column is given by name (\"", o.label_name, "\") but the file has no header line"));
    for (Index c = 0; c < columns && label < 0; ++c)
      if (header[static_cast<std::size_t>(c)] == o.label_name) label = c;
    if (label < 0) {
      std::string names;
      for (Index c = 0; c < columns && c < 20; ++c)
        names += (c ? ", \"" : "\"") + header[static_cast<std::size_t>(c)] + "\"";
      throw value_error(concat(who, ": no column is called \"", o.label_name, "\"; the header has ", names,
                               columns > 20 ? ", ..." : ""));
    }
  }

  for (std::size_t li = has_header ? 1 : 0; li < lines.size(); ++li) {
    const Index number = lines[li].first;
    if (li > 0) csv_split(lines[li].second, sep, fields);
    const Index n = static_cast<Index>(fields.size());
    refuse_quotes(number);
    if (n != columns)
      throw io_error(concat(who, ", line ", number, ": ", n, " fields, but ",
                            has_header ? "the header has " : "line 1 has ", columns));
    for (Index c = 0; c < n; ++c) {
      const std::string& f = fields[static_cast<std::size_t>(c)];
      double v = 0.0;
      if (f.empty())
        throw io_error(concat(who, ", line ", number, ", ", csv_cell_name(c, header), ": the cell is empty"));
      if (!csv_number(f, v))
        throw io_error(concat(who, ", line ", number, ", ", csv_cell_name(c, header), ": \"", f.substr(0, 40),
                              f.size() > 40 ? "...\"" : "\"", " is not a number"));
      if (!std::isfinite(v))
        throw io_error(
            concat(who, ", line ", number, ", ", csv_cell_name(c, header), ": \"", f, "\" is not a finite number"));
      values.push_back(v);
    }
  }
  const Index rows = static_cast<Index>(values.size()) / std::max<Index>(columns, 1);
  if (rows == 0) throw io_error(concat(who, ": no data rows after the header line"));

  CsvData<T> d;
  d.has_header = has_header;
  d.features.resize(rows, label >= 0 ? columns - 1 : columns);
  d.labels.resize(rows, label >= 0 ? 1 : 0);
  auto value = [&](Index r, Index c) { return static_cast<T>(values[static_cast<std::size_t>(r * columns + c)]); };
  for (Index c = 0, f = 0; c < columns; ++c) {
    if (c == label) {
      for (Index r = 0; r < rows; ++r) d.labels(r, 0) = value(r, c);
      if (has_header) d.label_name = header[static_cast<std::size_t>(c)];
      continue;
    }
    for (Index r = 0; r < rows; ++r) d.features(r, f) = value(r, c);
    if (has_header) d.feature_names.push_back(header[static_cast<std::size_t>(c)]);
    ++f;
  }
  return d;
}

}  // namespace detail

// Parses CSV text; `where` names the source in messages (read_csv passes
// the path). Lines end in \n or \r\n; a UTF-8 byte-order mark is skipped;
// empty lines are allowed at the end only. Fields are numbers as C++ reads
// them ("1", "-2.5e-3", "+4"); quoted fields, empty cells, text and
// non-finite values ("nan", "inf") are refused. Errors: io_error for the
// content, value_error for options that do not fit it.
template <typename T = double>
CsvData<T> parse_csv(const std::string& text, const CsvOptions& o = {}, const std::string& where = "<text>") {
  return detail::parse_csv_as<T>(text, o, where, "parse_csv");
}

// Reads a CSV file (see parse_csv); messages name the path.
template <typename T = double>
CsvData<T> read_csv(const std::string& path, const CsvOptions& o = {}) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_file(path, std::size_t(1) << 34);
  } catch (const io_error& e) {
    throw io_error(std::string("read_csv: ") + e.what());
  }
  return detail::parse_csv_as<T>(std::string(bytes.begin(), bytes.end()), o, "'" + path + "'", "read_csv");
}

}  // namespace plexus
