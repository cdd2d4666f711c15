// classify predict: the model's class and class probabilities for every row
// of a CSV; with the label column present (by --label-column, or the
// training file's label name in the header) also the accuracy.
#include "classes.hpp"

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace classify {
namespace {

const std::vector<Flag> kPredictFlags = {
    {"model", "FILE", "a model written by classify train (required)"},
    {"csv", "IN", "the rows to classify: the training file's feature columns, label column optional (required)"},
    {"output", "OUT", "where the predictions go, as CSV (required)"},
    {"label-column", "K",
     "the label column of IN: 0-based index or header name (default: the training label's "
     "name when IN's header has it, else none)"},
    {"header", "auto|yes|no", "whether line 1 is a header (default auto)"},
    {"weights", "float|int8",
     "float: the network as trained (default); int8: through plexus::Int8Predictor, Dense weights quantised to "
     "int8 per output channel and each layer's input per row, products summed in int32"},
    {"help", "", "print this help"},
};

}  // namespace

int cmd_predict(const std::vector<std::string>& argv) {
  const Args a("predict", argv, kPredictFlags);
  if (a.has("help")) {
    std::printf(
        "usage: classify predict --model FILE --csv IN --output OUT [flags]\n\n"
        "Writes OUT with a header line 'predicted,p_<class>,...' and, per row of IN, the predicted class\n"
        "(a value of the training label column) and the probability of each class. When IN holds the\n"
        "label column, prints the accuracy.\n\nflags:\n%s",
        a.help().c_str());
    return 0;
  }
  const std::string model_path = a.required("model"), csv_path = a.required("csv"), out_path = a.required("output");
  const std::string weights = a.has("weights") ? a.str("weights") : "float";
  if (weights != "float" && weights != "int8")
    throw UsageError("predict: --weights must be float or int8, got '" + weights + "'");
  const Classifier model = load_classifier(model_path);
  const plexus::Network<float>& net = model.net;
  const std::vector<double>& classes = model.classes;

  plexus::CsvOptions o;
  o.header = header_option(a, "predict");
  if (a.has("label-column")) {
    set_label_column(o, a.str("label-column"));
  } else if (o.header != plexus::CsvHeader::absent) {
    // The training label's name, when the header has it.
    const plexus::CsvData<float> probe = plexus::read_csv<float>(csv_path, o);
    for (const auto& n : probe.feature_names)
      if (model.meta.count("classify.label") && n == model.meta.at("classify.label")) o.label_name = n;
  }
  const plexus::CsvData<float> d = plexus::read_csv<float>(csv_path, o);
  if (d.features.cols() != net.input_width())
    throw plexus::shape_error("'" + csv_path + "' has " + std::to_string(d.features.cols()) +
                              " feature columns but the model takes " + std::to_string(net.input_width()) +
                              (d.labels.cols() == 0 && d.features.cols() == net.input_width() + 1
                                   ? " (is the label column in the file? name it with --label-column)"
                                   : ""));
  // Labels are checked before anything is written.
  const plexus::Matrix<float> y = d.labels.cols() == 1 ? class_indices(d.labels, classes, "'" + csv_path + "'")
                                                       : plexus::Matrix<float>();
  plexus::Matrix<float> p;
  if (weights == "int8") {
    const plexus::Int8Predictor<float> q(net);
    p = q.predict(d.features);
    std::printf("int8 weights (Int8Predictor, engine %s)\n", q.engine());
  } else {
    p = net.predict(d.features);
  }

  std::string out = "predicted";
  for (double c : classes) out += ",p_" + number_text(c);
  out += "\n";
  for (plexus::Index i = 0; i < p.rows(); ++i) {
    plexus::Index k = 0;
    p.row(i).maxCoeff(&k);
    out += number_text(classes[static_cast<std::size_t>(k)]);
    for (plexus::Index j = 0; j < p.cols(); ++j) out += "," + number_text(p(i, j));
    out += "\n";
  }
  plexus::write_file_atomic(out_path, out.data(), out.size());
  std::printf("wrote %lld predictions to %s\n", static_cast<long long>(p.rows()), out_path.c_str());
  if (d.labels.cols() == 1) {
    const double acc = plexus::accuracy(p, y);
    std::printf("accuracy %s\n%s", accuracy_text(acc, p.rows()).c_str(),
                plexus::confusion_matrix_text(
                    plexus::confusion_matrix(p, y, static_cast<plexus::Index>(classes.size())), class_names(classes))
                    .c_str());
  }
  return 0;
}

}  // namespace classify
