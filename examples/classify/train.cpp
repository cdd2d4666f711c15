// classify train: read a CSV, hold out a test split, fit a standardised MLP
// (Dense + ReLU, optional Dropout, logits) with SoftmaxCrossEntropy, AdamW,
// a validation split and early stopping, then save it with a Softmax layer
// at the end so that the model maps raw rows to probabilities.
#include "classes.hpp"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace classify {
namespace {

const std::vector<Flag> kTrainFlags = {
    {"csv", "FILE", "the data: numeric CSV, one sample per row (required)"},
    {"label-column", "K", "the label column: 0-based index or header name (required)"},
    {"model", "OUT", "where the trained model goes (required)"},
    {"out", "DIR", "where history.csv, report.txt and test.csv go (default: none written)"},
    {"header", "auto|yes|no", "whether line 1 is a header (default auto)"},
    {"hidden", "N,N,...", "hidden layer widths (default 64,64; 0 for none)"},
    {"dropout", "P", "dropout rate after each hidden layer (default 0)"},
    {"epochs", "N", "at most this many epochs (default 300)"},
    {"batch", "N", "batch size (default 32)"},
    {"lr", "RATE", "AdamW learning rate (default 3e-3)"},
    {"weight-decay", "W", "AdamW weight decay (default 1e-2)"},
    {"validation", "F", "fraction of the training rows for validation and early stopping (default 0.2)"},
    {"test", "F", "fraction of the rows held out as the test split (default 0.2; 0 for none)"},
    {"patience", "N", "stop after N epochs without a better val_loss (default 30)"},
    {"seed", "N", "seed of the split, the initial weights and the batches (default 1)"},
    {"quiet", "", "no per-epoch progress"},
    {"help", "", "print this help"},
};

std::vector<plexus::Index> hidden_widths(const Args& a) {
  std::vector<plexus::Index> widths;
  const std::string text = a.str("hidden", "64,64");
  if (text == "0") return widths;
  std::string item;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != ',') {
      item += text[i];
      continue;
    }
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 65536)
      throw UsageError("train: --hidden must be widths in [1, 65536] separated by commas (or 0), got '" + text + "'");
    widths.push_back(v);
    item.clear();
  }
  return widths;
}

struct Split {
  plexus::Matrix<float> x, y, raw_labels;
};

std::string short_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

void write_text(const std::string& path, const std::string& text) {
  plexus::write_file_atomic(path, text.data(), text.size());
}

// The held-out rows as a CSV that `classify predict` reads (labels as in the input).
std::string test_csv(const Split& s, const plexus::CsvData<float>& d, const std::vector<double>& classes) {
  std::string out;
  if (d.has_header) {
    for (const auto& n : d.feature_names) out += n + ",";
    out += d.label_name + "\n";
  }
  for (plexus::Index i = 0; i < s.x.rows(); ++i) {
    for (plexus::Index j = 0; j < s.x.cols(); ++j) out += number_text(s.x(i, j)) + ",";
    out += number_text(classes[static_cast<std::size_t>(s.y(i, 0))]) + "\n";
  }
  return out;
}

}  // namespace

int cmd_train(const std::vector<std::string>& argv) {
  const Args a("train", argv, kTrainFlags);
  if (a.has("help")) {
    std::printf(
        "usage: classify train --csv FILE --label-column K --model OUT [--out DIR] [flags]\n\n"
        "Trains a classifier of the rows of FILE: Standardize (fitted on the training rows), Dense + ReLU\n"
        "hidden layers, a Dense layer of one logit per class, trained with SoftmaxCrossEntropy and AdamW\n"
        "by plexus::fit with early stopping on a validation split; saves it with a Softmax layer last.\n"
        "Classes are the distinct values of the label column, sorted.\n\nflags:\n%s",
        a.help().c_str());
    return 0;
  }
  const std::string csv_path = a.required("csv"), label = a.required("label-column"), model_path = a.required("model");
  const std::string out_dir = a.str("out");
  const std::vector<plexus::Index> hidden = hidden_widths(a);
  const double dropout = a.real("dropout", 0.0, 0.0, 0.95);
  const int epochs = static_cast<int>(a.integer("epochs", 300, 1, 1000000));
  const int batch = static_cast<int>(a.integer("batch", 32, 1, 1 << 20));
  const double lr = a.real("lr", 3e-3, 1e-8, 10.0);
  const double wd = a.real("weight-decay", 1e-2, 0.0, 10.0);
  const double val = a.real("validation", 0.2, 0.0, 0.9);
  const double test = a.real("test", 0.2, 0.0, 0.9);
  const int patience = static_cast<int>(a.integer("patience", 30, 0, 1000000));
  const auto seed = static_cast<std::uint64_t>(a.integer("seed", 1, 0, (1LL << 62)));

  plexus::CsvOptions o;
  o.header = header_option(a, "train");
  set_label_column(o, label);
  const plexus::CsvData<float> d = plexus::read_csv<float>(csv_path, o);
  const std::vector<double> classes = distinct_labels(d.labels);
  if (classes.size() < 2)
    throw plexus::value_error("'" + csv_path + "': the label column holds " + std::to_string(classes.size()) +
                              " distinct value(s); a classifier needs at least 2");
  if (classes.size() > 1000)
    throw plexus::value_error("'" + csv_path + "': the label column holds " + std::to_string(classes.size()) +
                              " distinct values; at most 1000 classes (is it the right column?)");
  const plexus::Matrix<float> y_all = class_indices(d.labels, classes, "'" + csv_path + "'");
  const auto C = static_cast<plexus::Index>(classes.size());
  std::printf("read %lld rows, %lld features, %lld classes (%s) from %s\n", static_cast<long long>(d.features.rows()),
              static_cast<long long>(d.features.cols()), static_cast<long long>(C), join(classes, ", ").c_str(),
              csv_path.c_str());

  Split train, held;
  if (test > 0) {
    auto parts = plexus::split_rows(d.features, y_all, {1.0 - test, test}, seed);
    train = {parts[0].x, parts[0].y, {}};
    held = {parts[1].x, parts[1].y, {}};
  } else {
    auto parts = plexus::split_rows(d.features, y_all, {1.0}, seed);
    train = {parts[0].x, parts[0].y, {}};
  }

  plexus::Network<float> net;
  net.add(plexus::Standardize<float>());
  for (plexus::Index w : hidden) {
    net.add(plexus::Dense<float>(w, plexus::Activation::relu, plexus::Init::he_uniform));
    if (dropout > 0) net.add(plexus::Dropout<float>(dropout));
  }
  net.add(plexus::Dense<float>(C));
  net.build(d.features.cols(), seed);
  // Standardise with the rows the network trains on (validation and test rows not included).
  const plexus::Index fit_rows = val > 0 ? static_cast<plexus::Index>(std::floor(train.x.rows() * (1.0 - val)))
                                         : train.x.rows();
  plexus::fit_standardize(net, train.x.topRows(fit_rows));

  plexus::AdamWOptions ao;
  ao.lr = lr;
  ao.weight_decay = wd;
  plexus::AdamW<float> opt(net, ao);
  plexus::SoftmaxCrossEntropy<float> loss;
  plexus::FitOptions fo;
  fo.epochs = epochs;
  fo.batch_size = batch;
  fo.seed = seed;
  fo.validation_split = val;
  fo.patience = val > 0 ? patience : 0;
  fo.restore_best_weights = val > 0;
  fo.verbose = a.has("quiet") ? plexus::Verbose::silent : plexus::Verbose::automatic;
  const plexus::FitHistory h = plexus::fit(net, loss, opt, train.x, train.y, fo);

  // The saved model: the same layers and values, then a Softmax.
  plexus::Network<float> saved;
  for (std::size_t i = 0; i < net.layers().size(); ++i) saved.add(net.layers()[i].clone());
  saved.add(plexus::Softmax<float>());
  saved.build(net.input_width(), seed);
  saved.parameters() = net.parameters();
  saved.buffers() = net.buffers();

  const auto acc = [&](const plexus::Matrix<float>& x, const plexus::Matrix<float>& y) {
    return x.rows() ? plexus::accuracy(saved.predict(x), y) : std::nan("");
  };
  const double train_acc = acc(train.x.topRows(fit_rows), train.y.topRows(fit_rows));
  const double val_acc =
      acc(train.x.bottomRows(train.x.rows() - fit_rows), train.y.bottomRows(train.y.rows() - fit_rows));
  const double test_acc = acc(held.x, held.y);
  const bool has_test = held.x.rows() > 0;
  const plexus::Matrix<float>& cx = has_test ? held.x : train.x;
  const plexus::Matrix<float>& cy = has_test ? held.y : train.y;
  const std::string confusion =
      plexus::confusion_matrix_text(plexus::confusion_matrix(saved.predict(cx), cy, C), class_names(classes));

  std::string report;
  report += "epochs " + std::to_string(h.epochs.size()) + (h.stopped_early ? " (stopped early)" : "") +
            ", best epoch " + std::to_string(h.best_epoch + 1) + " (" + h.monitor + " " + short_text(h.best_value) +
            ")\n";
  report += "train accuracy " + accuracy_text(train_acc, fit_rows) + "\n";
  if (val > 0) report += "validation accuracy " + accuracy_text(val_acc, train.x.rows() - fit_rows) + "\n";
  if (has_test) report += "test accuracy " + accuracy_text(test_acc, held.x.rows()) + "\n";
  report += std::string("confusion matrix on the ") + (has_test ? "test" : "training") +
            " rows (true class by row):\n" + confusion;
  std::printf("%s", report.c_str());

  std::map<std::string, std::string> meta = {
      {"classify.classes", join(classes)},
      {"classify.label", d.label_name.empty() ? label : d.label_name},
      {"classify.test_accuracy", has_test ? number_text(test_acc) : std::string("")},
  };
  std::string features;
  for (const auto& n : d.feature_names) features += (features.empty() ? "" : ",") + n;
  meta["classify.features"] = features;
  plexus::save_model(saved, model_path, meta);
  std::printf("saved %s (%lld parameters; its outputs are the probabilities of the classes)\n", model_path.c_str(),
              static_cast<long long>(saved.parameter_count()));
  if (!out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw plexus::io_error("cannot create the directory '" + out_dir + "': " + ec.message());
    h.write_csv(out_dir + "/history.csv");
    write_text(out_dir + "/report.txt", report);
    if (has_test) write_text(out_dir + "/test.csv", test_csv(held, d, classes));
    std::printf("wrote %s/history.csv, %s/report.txt%s\n", out_dir.c_str(), out_dir.c_str(),
                has_test ? (", " + out_dir + "/test.csv").c_str() : "");
  }
  return 0;
}

}  // namespace classify
