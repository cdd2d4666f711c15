// matrix_inverse question: the question's Keras setup, faithfully — a 9-9-9
// ReLU MLP trained with MSE for epochs over 10,000 det-1 matrices, the last
// third held out — which fails (validation RMSE in the hundreds).
#include "commands.hpp"
#include "config.hpp"
#include "model_io.hpp"
#include "report.hpp"
#include "stop_signals.hpp"

#include <plexus/plexus.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

namespace mi {
namespace {

ModelMeta question_model_meta(const Config& c) {
  ModelMeta meta;
  meta.recipe = "question";
  meta.size = c.size;
  meta.distribution = c.dist;
  meta.extra = {{"seed", std::to_string(c.seed)}, {"epochs", std::to_string(c.epochs)}};
  return meta;
}

// curve.svg from the whole curve.csv: training and validation RMSE (one
// unit, one axis) per epoch; and scatter.svg on the validation matrices.
void write_question_plots(const Config& c, const CurveLog& curve, const Eigen::MatrixXd& aval,
                          const Eigen::MatrixXd& pred) {
  write_text(c.out + "/curve.svg", question_curve_svg(curve.read()));
  write_scatter(c.out, "matrix_inverse question: predicted vs true inverse entries (validation)", aval, pred);
  std::printf("curve and plots written to %s\n", c.out.c_str());
}

template <typename T>
int run_question(const Config& c) {
  using namespace plexus;
  if (c.threads > 0) set_num_threads(c.threads);
  // 10,000 matrices with entries in (0, 100), det rescaled to 1; Keras'
  // validation_split = 0.33 holds out the last third, unshuffled.
  const Index nn = Index(c.size) * c.size;
  MatrixInverseSource<double> source(c.seed, {c.dist, false, 1.0, false, c.size});
  Eigen::MatrixXd a(c.dataset, nn), inv(c.dataset, nn);
  source.fill(0, a, inv);
  const Index n_train = static_cast<Index>(static_cast<double>(c.dataset) * (1.0 - 0.33));
  const Index n_val = c.dataset - n_train;
  if (n_train < 1 || n_val < 1) throw usage_error("question: --dataset too small to split 67/33");
  const Matrix<T> xtr = a.topRows(n_train).cast<T>(), ytr = inv.topRows(n_train).cast<T>();
  const Matrix<T> xval = a.bottomRows(n_val).cast<T>(), yval = inv.bottomRows(n_val).cast<T>();
  const Eigen::MatrixXd aval = a.bottomRows(n_val);

  auto net = question_net<T>(c.size);
  net.build(nn, c.seed);
  Adam<T> adam(net, AdamOptions{c.lr, 0.9, 0.999, c.adam_eps});
  MSE<T> mse;
  std::vector<Index> order(static_cast<std::size_t>(n_train));
  std::iota(order.begin(), order.end(), Index(0));
  Rng shuffle_rng(mix64(c.seed, 0x5B0FF1E));
  std::uint64_t samples = 0;
  long long step = 0;
  int first_epoch = 1;
  if (c.resume) {
    TrainingState st;
    load_checkpoint(c.checkpoint, net, adam, st);
    if (st.generator.size() != 5) throw io_error("'" + c.checkpoint + "': not a question checkpoint (generator state)");
    shuffle_rng.set_state({st.generator[0], st.generator[1], st.generator[2], st.generator[3]});
    first_epoch = static_cast<int>(st.generator[4]) + 1;
    samples = static_cast<std::uint64_t>(st.samples);
    step = st.step;
    std::printf("resumed from %s after epoch %d\n", c.checkpoint.c_str(), first_epoch - 1);
  }
  auto write_checkpoint = [&](int epoch_done) {
    TrainingState st;
    st.step = step;
    st.samples = static_cast<std::int64_t>(samples);
    const auto& s = shuffle_rng.state();
    st.generator = {s[0], s[1], s[2], s[3], static_cast<std::uint64_t>(epoch_done)};
    st.metadata = to_metadata(question_model_meta(c));
    for (auto& kv : config_metadata(c)) st.metadata.insert(kv);
    save_checkpoint(c.checkpoint, net, adam, st);
  };
  std::printf("question: %dx%d matrices, %s\n", c.size, c.size, c.dist.text().c_str());
  std::printf(
      "question: Dense(%lld, relu) -> Dense(%lld, relu) -> Dense(%lld), %lld parameters; MSE; Adam lr %g; "
      "%lld training / %lld validation matrices; %d epochs of batch %lld\n",
      static_cast<long long>(nn), static_cast<long long>(nn), static_cast<long long>(nn),
      static_cast<long long>(net.parameter_count()), c.lr, static_cast<long long>(n_train),
      static_cast<long long>(n_val), c.epochs, static_cast<long long>(c.batch));
  std::fflush(stdout);
  CurveLog curve;
  if (!c.out.empty()) {  // a resumed run continues its curve after the checkpoint's epoch
    std::filesystem::create_directories(c.out);
    curve = CurveLog(c.out + "/curve.csv", "epoch,samples,seconds,lr,train_mse,val_rmse",
                     c.resume ? static_cast<double>(first_epoch) : -1.0);
  }

  Matrix<T> xb(c.batch, nn), yb(c.batch, nn);
  Progress progress("question", "MSE", c.log_every);
  const auto t0 = Clock::now();
  double next_checkpoint = c.checkpoint_every;
  double val_rmse = std::nan(""), train_rmse = std::nan("");
  bool stop = false, interrupted = false;
  StopSignals signals;
  for (int epoch = first_epoch; epoch <= c.epochs && !stop; ++epoch) {
    for (Index i = n_train - 1; i > 0; --i)  // Fisher-Yates, as Keras shuffles each epoch
      std::swap(order[static_cast<std::size_t>(i)],
                order[static_cast<std::size_t>(shuffle_rng.next_u64() % static_cast<std::uint64_t>(i + 1))]);
    double se = 0;
    Index seen = 0;
    for (Index s0 = 0; s0 < n_train; s0 += c.batch) {
      const Index b = std::min(c.batch, n_train - s0);
      for (Index r = 0; r < b; ++r) {
        xb.row(r) = xtr.row(order[static_cast<std::size_t>(s0 + r)]);
        yb.row(r) = ytr.row(order[static_cast<std::size_t>(s0 + r)]);
      }
      se += train_step(net, mse, adam, xb.topRows(b), yb.topRows(b)) * static_cast<double>(b);
      samples += static_cast<std::uint64_t>(b);
      seen += b;
      ++step;
      if ((c.samples && samples >= c.samples) || (c.seconds > 0 && seconds_since(t0) >= c.seconds)) {
        stop = true;
        break;
      }
    }
    // The epoch's evaluation on the validation matrices.
    train_rmse = std::sqrt(se / static_cast<double>(seen));
    const Matrix<T> pval = net.predict(xval);
    val_rmse = std::sqrt(mse.value(pval, yval, xval));
    const InverseMetrics m = inverse_metrics(aval, pval.template cast<double>());
    char line[256];
    std::snprintf(line, sizeof line, "%d,%llu,%.3f,%.6g,%.6g,%.6g", epoch, static_cast<unsigned long long>(samples),
                  seconds_since(t0), c.lr, train_rmse * train_rmse, val_rmse);
    curve.append(line);
    std::snprintf(line, sizeof line, "validation RMSE %.4g, median r %.4g, r < 0.05 %.1f%%", val_rmse, m.median_r,
                  100 * m.share_below_005);
    progress.set_evaluation(line);
    progress.update(static_cast<long long>(samples), static_cast<double>(samples) / seconds_since(t0),
                    train_rmse * train_rmse, static_cast<double>(epoch) / c.epochs);
    const bool last = epoch == c.epochs || stop;
    interrupted = StopSignals::requested();
    if (!c.checkpoint.empty() && !stop && (last || interrupted || seconds_since(t0) >= next_checkpoint)) {
      write_checkpoint(epoch);
      next_checkpoint = seconds_since(t0) + c.checkpoint_every;
    }
    if (interrupted) break;
  }
  progress.finish();
  // The end, or Ctrl-C: the metrics and the plots; the model only at the end.
  std::printf("after %lld steps (%llu samples, %.1f s): training RMSE %.2f, validation RMSE %.2f\n", step,
              static_cast<unsigned long long>(samples), seconds_since(t0), train_rmse, val_rmse);
  const Eigen::MatrixXd pred = predict_inverse(net, Convention{}, aval);
  print_inverse_metrics("validation", inverse_metrics(aval, pred));
  if (!interrupted && std::isfinite(val_rmse))
    std::printf("validation RMSE = %.1f  (the question reported an RMSE in the hundreds)\n", val_rmse);
  if (!c.model.empty() && !interrupted) {
    save_inverse_model(net, c.model, question_model_meta(c));
    std::printf("model written to %s\n", c.model.c_str());
  }
  if (curve.enabled()) write_question_plots(c, curve, aval, pred);
  if (interrupted) {
    std::fprintf(
        stderr, "matrix_inverse: interrupted after %lld steps%s\n", step,
        c.checkpoint.empty() ? "" : ("; checkpoint written to " + c.checkpoint + ", continue with --resume").c_str());
    return 130;
  }
  return 0;
}

}  // namespace

int cmd_question(const std::vector<std::string>& argv) {
  Config c;
  if (!parse_training_flags("question", argv, c)) return 0;  // --help
  return with_precision(c.precision, [&](auto scalar) { return run_question<decltype(scalar)>(c); });
}

}  // namespace mi
