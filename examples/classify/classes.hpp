// What train and predict share: reading the CSV (header and label column
// from flags), the classes (the distinct label values, sorted; class i is
// the i-th smallest) and writing numbers so they read back exactly.
#pragma once

#include "args.hpp"

#include <plexus/plexus.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace classify {

// --header auto|yes|no.
inline plexus::CsvHeader header_option(const Args& a, const std::string& command) {
  const std::string h = a.str("header", "auto");
  if (h == "auto") return plexus::CsvHeader::automatic;
  if (h == "yes") return plexus::CsvHeader::present;
  if (h == "no") return plexus::CsvHeader::absent;
  throw UsageError(command + ": --header must be auto, yes or no, got '" + h + "'");
}

// --label-column K: a 0-based column index, or a header name.
inline void set_label_column(plexus::CsvOptions& o, const std::string& k) {
  const bool digits = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && k.size() < 9) o.label_column = std::stoll(k);
  else o.label_name = k;
}

// Exact text of a number, as short as reads back: a value that is a float
// (all of classify's data are) reads back as that float, others as doubles.
inline std::string number_text(double v) {
  char buf[40];
  const bool is_float = static_cast<double>(static_cast<float>(v)) == v;
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (is_float ? std::strtof(buf, nullptr) == static_cast<float>(v) : std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

inline std::string join(const std::vector<double>& v, const char* sep = " ") {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + number_text(v[i]);
  return s;
}

inline std::vector<double> parse_numbers(const std::string& text) {
  std::istringstream s(text);
  std::vector<double> v;
  for (double d; s >> d;) v.push_back(d);
  return v;
}

// The sorted distinct values of labels (one column).
// A model written by classify train, with its classes (its metadata
// classify.classes); refused by name when it is not one.
struct Classifier {
  plexus::Network<float> net;
  std::vector<double> classes;
  std::map<std::string, std::string> meta;  // the file's metadata
};
inline Classifier load_classifier(const std::string& model_path) {
  Classifier c;
  c.net = plexus::load_model<float>(model_path, &c.meta);
  if (!c.meta.count("classify.classes"))
    throw plexus::value_error("'" + model_path + "' was not written by classify train (no classify.classes metadata)");
  c.classes = parse_numbers(c.meta["classify.classes"]);
  if (static_cast<plexus::Index>(c.classes.size()) != c.net.output_width())
    throw plexus::value_error("'" + model_path + "': " + std::to_string(c.classes.size()) + " classes but " +
                              std::to_string(c.net.output_width()) + " outputs");
  return c;
}

inline std::vector<double> distinct_labels(const plexus::Matrix<float>& labels) {
  std::vector<double> v(labels.data(), labels.data() + labels.size());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Labels as class indices (a B x 1 matrix of 0..C-1); a value that is not
// one of `classes` is a value_error naming its row.
inline plexus::Matrix<float> class_indices(const plexus::Matrix<float>& labels, const std::vector<double>& classes,
                                           const std::string& where) {
  plexus::Matrix<float> y(labels.rows(), 1);
  for (plexus::Index i = 0; i < labels.rows(); ++i) {
    const double v = labels(i, 0);
    const auto it = std::lower_bound(classes.begin(), classes.end(), v);
    if (it == classes.end() || *it != v)
      throw plexus::value_error(where + ": the label " + number_text(v) + " of data row " + std::to_string(i + 1) +
                                " is not one of the model's classes (" + join(classes, ", ") + ")");
    y(i, 0) = static_cast<float>(it - classes.begin());
  }
  return y;
}

// "0.9167 (33 of 36 rows)".
inline std::string accuracy_text(double accuracy, long long rows) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.4f (%lld of %lld rows)", accuracy, std::llround(accuracy * rows), rows);
  return buf;
}

inline std::vector<std::string> class_names(const std::vector<double>& classes) {
  std::vector<std::string> names;
  for (double c : classes) names.push_back(number_text(c));
  return names;
}

int cmd_train(const std::vector<std::string>& argv);
int cmd_predict(const std::vector<std::string>& argv);
int cmd_export_torch(const std::vector<std::string>& argv);
int cmd_export(const std::vector<std::string>& argv);  // ONNX

}  // namespace classify
