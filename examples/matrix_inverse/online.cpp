// matrix_inverse answer and train: a concat-ResNet trained online, every
// sample fresh, within a budget; held-out evaluations feed the progress line
// and curve.csv. Under mpirun the ranks train data-parallel.
#include "commands.hpp"
#include "config.hpp"
#include "model_io.hpp"
#include "ranks.hpp"
#include "report.hpp"
#include "stop_signals.hpp"

#include <plexus/plexus.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace mi {
namespace {

ModelMeta online_model_meta(const Config& c, const Convention& conv, std::uint64_t samples) {
  ModelMeta meta;
  meta.recipe = c.recipe;
  meta.conv = conv;
  meta.size = c.size;
  meta.distribution = c.dist;
  meta.extra = {{"seed", std::to_string(c.seed)},
                {"samples", std::to_string(samples)},
                {"loss", c.loss == LossKind::mse ? "mse" : "residual"},
                {"loss_power", format_double(c.loss_power)},
                {"lr", format_double(c.lr)},
                {"batch", std::to_string(c.batch)},
                {"width", std::to_string(c.arch.width)},
                {"growth", std::to_string(c.arch.growth)},
                {"blocks", std::to_string(c.arch.blocks)},
                {"layers", std::to_string(c.arch.layers)},
                {"activation", plexus::to_string(c.arch.activation.kind())},
                {"gate", gate_name(c.arch)},
                {"ema", format_double(c.ema)},
                {"loss_scale", format_double(c.loss_scale)},
                {"schedule", c.cosine ? "cosine" : "constant"},
                {"warmup", format_double(c.warmup)},
                {"precision", precision_name(c.precision)}};
  // The exact views predict averages over (views.hpp), fixed here so that
  // the model's predictions are reproducible.
  for (auto& kv : views_for(conv, c.size).metadata()) meta.extra.insert(kv);
  return meta;
}

// What the training loss is, for the progress line and the plot.
std::string loss_name(const Config& c, double target_scale) {
  if (c.loss == LossKind::mse) return target_scale == 1.0 ? "MSE on the inverse" : "MSE on inverse/5";
  if (c.loss_power == 0.0) return "mean log ||AX-I||";
  char b[64];
  std::snprintf(b, sizeof b, "mean ||AX-I||^%g", c.loss_power);
  return b;
}

const char* kCurveHeader = "step,samples,seconds,lr,train_loss,median_r,share_r_below_0.05,rmse_div5";

// curve.svg from the whole curve.csv (a resumed run's too): median r and the
// training loss in two panels, one unit each; and scatter.svg.
void write_online_plots(const Config& c, const CurveLog& curve, const std::string& loss, const Eigen::MatrixXd& a,
                        const Eigen::MatrixXd& x) {
  write_text(c.out + "/curve.svg", online_curve_svg(c.recipe, curve.read(), loss));
  write_scatter(c.out, "matrix_inverse " + c.recipe + ": predicted vs true inverse entries", a, x);
  std::printf("curve and plots written to %s\n", c.out.c_str());
}

template <typename T>
int run_online(const Config& c) {
  using namespace plexus;
  if (c.threads > 0) set_num_threads(c.threads);
#ifdef PLEXUS_WITH_MPI
  else if (g_mpi && g_mpi->node_size() > 1) set_num_threads(std::max(1, num_threads() / g_mpi->node_size()));
#endif
  const Index nn = Index(c.size) * c.size;
  Arch arch = c.arch;
  arch.outputs = static_cast<int>(nn);
  auto net = concat_resnet<T>(arch);
  net.build(nn, c.seed);
  const double target_scale = c.recipe == "answer" ? 0.2 : 1.0;  // the answer's targets are inverse / 5
  Convention conv = c.conv;
  conv.output_scale = 1.0 / target_scale;
  MatrixInverseSource<T> source(c.seed, {c.dist, conv.normalize, target_scale, conv.canonical_signs, c.size});
  MSE<T> mse;
  InverseResidualLoss<T> residual(c.size, conv.output_scale, c.loss_power, c.loss_scale * c.loss_scale);
  const Loss<T>& loss = c.loss == LossKind::mse ? static_cast<const Loss<T>&>(mse) : residual;
  std::unique_ptr<Optimizer<T>> optimizer;
  if (c.sgd) optimizer = std::make_unique<SGD<T>>(net, SGDOptions{c.lr, c.momentum});
  else optimizer = std::make_unique<Adam<T>>(net, AdamOptions{c.lr});
  Optimizer<T>& opt = *optimizer;
  OnlineOptions oo;
  oo.batch = c.batch, oo.micro_batch = c.micro_batch, oo.max_samples = c.samples, oo.max_seconds = c.seconds;
  oo.lr = c.lr, oo.cosine = c.cosine, oo.lr_min = c.lr_min, oo.warmup = c.warmup;
  oo.rank = g_ranks.rank, oo.ranks = g_ranks.size;  // each rank draws its rows of every global batch
  oo.precision = product_precision(c.precision);
  oo.clip_norm = c.clip_norm;
  OnlineTrainer<T> trainer(net, loss, opt, source, oo);

  auto resume = [&] {
    TrainingState st;
    load_checkpoint(c.checkpoint, net, opt, st);
    if (st.generator.size() != 1 || st.generator[0] != static_cast<std::uint64_t>(st.samples))
      throw io_error("'" + c.checkpoint + "': the generator state does not match the sample count");
    double secs = 0;
    if (auto it = st.metadata.find("trained_seconds"); it != st.metadata.end()) secs = std::stod(it->second);
    trainer.restore(static_cast<std::uint64_t>(st.samples), st.step, secs);
    std::printf("resumed from %s at step %lld, %lld samples\n", c.checkpoint.c_str(), static_cast<long long>(st.step),
                static_cast<long long>(st.samples));
    return std::string();
  };
#ifdef PLEXUS_WITH_MPI
  // Rank 0 loads the checkpoint; its parameters, optimizer state and counters
  // are broadcast (at a fresh start too), so every replica starts equal.
  std::unique_ptr<plexus::mpi::DataParallel<T>> data_parallel;
  if (g_mpi) {
    if (c.resume) shared_on_root(resume);
    plexus::mpi::broadcast_state(net, opt);
    plexus::mpi::broadcast_counters(trainer);
    data_parallel = std::make_unique<plexus::mpi::DataParallel<T>>(trainer, net);
  } else
#endif
      if (c.resume)
    resume();
  // The weights' moving average (--ema): evaluated and saved in place of the
  // trained weights; a checkpoint keeps it beside itself, in FILE.ema.
  Network<T> averaged;
  if (c.ema > 0) {
    averaged = net;
    const std::string saved = c.checkpoint + ".ema";
    if (c.resume && root()) {
      if (!std::filesystem::exists(saved))
        throw io_error("'" + saved + "': the run averages its weights (--ema) but its average is missing");
      averaged = load_model<T>(saved);
      if (averaged.parameter_count() != net.parameter_count())
        throw io_error("'" + saved + "': the average does not match the checkpoint's network");
    }
  }
  Network<T>& judged = c.ema > 0 ? averaged : net;  // what evaluations and the model file see
  auto update_average = [&] {
    if (!(c.ema > 0)) return;
    const double t = static_cast<double>(trainer.steps());
    const T d = static_cast<T>(std::min(c.ema, (1.0 + t) / (10.0 + t)));
    averaged.parameters() = d * averaged.parameters() + (T(1) - d) * net.parameters();
    averaged.buffers() = net.buffers();
  };
  auto write_checkpoint = [&] {
    TrainingState st;
    st.step = trainer.steps();
    st.samples = static_cast<std::int64_t>(trainer.samples());
    st.generator = {trainer.samples()};  // the source is counter based: its position is the sample count
    st.metadata = to_metadata(online_model_meta(c, conv, trainer.samples()));  // usable as a model too
    for (auto& kv : config_metadata(c)) st.metadata.insert(kv);
    st.metadata["trained_seconds"] = format_double(trainer.seconds());
    if (c.ema > 0) save_model(averaged, c.checkpoint + ".ema");
    save_checkpoint(c.checkpoint, net, opt, st);
  };

  const std::string loss_text = loss_name(c, target_scale);
  CurveLog curve;
  if (root()) {
    std::printf("%s: %dx%d matrices, %s\n", c.recipe.c_str(), c.size, c.size, c.dist.text().c_str());
    std::printf(
        "%s: concat-ResNet width %d, growth %d%s, %d blocks of %d, %lld parameters; %s loss, input %s; "
        "%s lr %g (%s), batch %lld, %d threads%s\n",
        c.recipe.c_str(), c.arch.width, c.arch.growth,
        c.arch.gated
            ? (" gated (Dense(2x" + std::to_string(c.arch.growth) + ") -> GLU " + gate_name(c.arch) + ")").c_str()
            : "",
        c.arch.blocks, c.arch.layers, static_cast<long long>(net.parameter_count()),
        c.loss == LossKind::mse ? "MSE"
        : c.loss_power == 2.0   ? "residual"
                                : "residual^p",
        (std::string(conv.normalize ? "A/||A||_F" : "A") + (conv.canonical_signs ? ", sign-canonical" : "")).c_str(),
        opt.name().c_str(), c.lr, c.cosine ? "cosine" : "constant", static_cast<long long>(c.batch), num_threads(),
        g_ranks.size > 1 ? (" per rank, " + std::to_string(g_ranks.size) + " ranks (data-parallel)").c_str() : "");
    if (oo.precision == plexus::Precision::bf16)
      std::printf("bf16 products on engine %s%s\n", engine_name().c_str(),
                  bf16_emulated() ? " (emulated: this engine has no bf16 instructions, operands are rounded to bf16 "
                                    "and multiplied in float)"
                                  : "");
    if (c.samples) std::printf("budget: %llu samples\n", static_cast<unsigned long long>(c.samples));
    if (c.seconds > 0) std::printf("budget: %g seconds of training\n", c.seconds);
    std::fflush(stdout);
    if (!c.out.empty()) {  // a resumed run continues its curve from where the checkpoint was
      std::filesystem::create_directories(c.out);
      curve = CurveLog(c.out + "/curve.csv", kCurveHeader, c.resume ? static_cast<double>(trainer.steps()) : -1.0);
    }
  }

  const Eigen::MatrixXd eval_a = held_out_matrices(c.seed, c.eval_samples, c.dist, c.size);
  const Eigen::MatrixXd curve_a = eval_a.topRows(std::min<Index>(2000, eval_a.rows()));
  Progress progress(c.recipe, loss_text, c.log_every);
  const auto t0 = Clock::now();
  double loss_sum = 0, last_loss = std::nan("");
  long long loss_count = 0;
  const double eval_every = c.eval_every > 0 ? c.eval_every : (c.seconds > 0 ? c.seconds / 20 : 15.0);
  double next_eval = trainer.seconds(), next_checkpoint = c.checkpoint_every;
  auto evaluate_curve = [&] {  // rank 0 only
    const auto m = inverse_metrics(curve_a, predict_inverse(judged, conv, curve_a));
    char line[256];
    std::snprintf(line, sizeof line, "%lld,%lld,%.3f,%.6g,%.6g,%.6g,%.6g,%.6g", static_cast<long long>(trainer.steps()),
                  static_cast<long long>(trainer.samples()), trainer.seconds(), opt.learning_rate(),
                  loss_count ? loss_sum / static_cast<double>(loss_count) : std::nan(""), m.median_r, m.share_below_005,
                  m.rmse_div5);
    curve.append(line);
    progress.set_evaluation(evaluation_text("held-out", m.median_r, m.share_below_005));
    loss_sum = 0, loss_count = 0;
  };
  auto rate = [&] { return trainer.seconds() > 0 ? static_cast<double>(trainer.samples()) / trainer.seconds() : 0.0; };
  // The first steps pay for what later ones reuse (first touches of the
  // buffers, the OpenMP team's start, the sources' tables): the final line
  // gives the rate after them too, the one a longer run converges to.
  constexpr std::int64_t kWarmupSteps = 10;
  const std::int64_t first_step = trainer.steps();
  const double start_seconds = trainer.seconds();
  std::uint64_t warm_samples = 0;
  double warm_seconds = -1;
  StopSignals signals;
  bool interrupted = false;
  while (true) {
    bool stop = StopSignals::requested();
    double wall = seconds_since(t0);
#ifdef PLEXUS_WITH_MPI
    if (g_ranks.size > 1) {
      // Every rank takes the same decisions at the same step: stop when any
      // rank got a signal; budgets and checkpoints by rank 0's clocks.
      double clocks[2] = {trainer.seconds(), wall};
      stop = plexus::mpi::agree(stop, clocks, 2);
      trainer.restore(trainer.samples(), trainer.steps(), clocks[0]);
      wall = clocks[1];
    }
#endif
    if (trainer.done()) break;
    if (stop) {
      interrupted = true;
      break;
    }
    if (!c.checkpoint.empty() && wall >= next_checkpoint) {
      if (root()) write_checkpoint();
      next_checkpoint = wall + c.checkpoint_every;
    }
    if (root() && trainer.seconds() >= next_eval) {
      evaluate_curve();
      next_eval = trainer.seconds() + eval_every;
    }
    last_loss = trainer.step();
    if (warm_seconds < 0 && trainer.steps() - first_step >= kWarmupSteps)
      warm_samples = trainer.samples(), warm_seconds = trainer.seconds();
    update_average();
    loss_sum += last_loss, ++loss_count;
    if (root()) progress.update(static_cast<long long>(trainer.samples()), rate(), last_loss, trainer.progress());
  }
  if (!root()) return interrupted ? 130 : 0;  // the other ranks stay quiet

  // The end, or Ctrl-C: the checkpoint, a last point of the curve, the
  // held-out metrics and the plots; the model only when the budget was met.
  if (!c.checkpoint.empty()) write_checkpoint();
  evaluate_curve();
  progress.update(static_cast<long long>(trainer.samples()), rate(), last_loss, trainer.progress(), true);
  progress.finish();
  const std::uint64_t samples = trainer.samples();
  if (!interrupted) {
    std::printf("trained %llu samples in %lld steps: %.1f s in training steps (%.0f samples/s), %.1f s wall\n",
                static_cast<unsigned long long>(samples), static_cast<long long>(trainer.steps()), trainer.seconds(),
                rate(), seconds_since(t0));
    if (warm_seconds >= 0 && trainer.seconds() > warm_seconds && samples > warm_samples)
      std::printf("the first %lld steps took %.2f s; after them %.0f samples/s\n", static_cast<long long>(kWarmupSteps),
                  warm_seconds - start_seconds,
                  static_cast<double>(samples - warm_samples) / (trainer.seconds() - warm_seconds));
  }
#ifdef PLEXUS_WITH_MPI
  if (data_parallel && data_parallel->allreduce_steps() > 0)
    std::printf("data-parallel over %d ranks: %.1f s in gradient allreduces, %.2f ms per step (%.1f%% of training)\n",
                g_ranks.size, data_parallel->allreduce_seconds(),
                1e3 * data_parallel->allreduce_seconds() / static_cast<double>(data_parallel->allreduce_steps()),
                trainer.seconds() > 0 ? 100.0 * data_parallel->allreduce_seconds() / trainer.seconds() : 0.0);
#endif
  // The held-out figures: the network once and averaged over predict's
  // default views; with --ema for the trained weights too, for comparison.
  // Ctrl-C stops them between chunks (well under a second each).
  const ViewSet views = views_for(conv, c.size);  // the model's own
  const StopCheck stop = [] { return StopSignals::requested(); };
  Eigen::MatrixXd eval_x;
  auto report = [&](Network<T>& n, const std::string& which) {
    const Eigen::MatrixXd once = predict_views<T>([&](const Matrix<T>& x, Matrix<T>& y) { n.predict(x, y); }, conv,
                                                  eval_a, views.codes, 1, stop);
    print_inverse_metrics(("held-out, " + which + "network once").c_str(), inverse_metrics(eval_a, once));
    std::fflush(stdout);
    const Eigen::MatrixXd viewed = predict_views<T>([&](const Matrix<T>& x, Matrix<T>& y) { n.predict(x, y); }, conv,
                                                    eval_a, views.codes, views.default_views, stop);
    print_inverse_metrics(
        ("held-out, " + which + std::to_string(views.default_views) + " views (predict's default)").c_str(),
        inverse_metrics(eval_a, viewed));
    return once;
  };
  bool final_stopped = false;
  if (!interrupted) {
    try {
      if (c.ema > 0) report(net, "trained weights, ");
      eval_x = report(judged, c.ema > 0 ? "weights' average, " : "");
    } catch (const prediction_stopped&) {
      final_stopped = true;
    }
  }
  if (!c.model.empty() && !interrupted) {  // the budget was met: the model is whole, the figures or not
    save_inverse_model(judged, c.model, online_model_meta(c, conv, samples));
    std::printf("model written to %s\n", c.model.c_str());
  }
  if (final_stopped) {
    std::fprintf(stderr, "matrix_inverse: interrupted during the final evaluation%s\n",
                 c.model.empty() ? "" : "; the trained model is written");
    return 130;
  }
  if (curve.enabled()) {
    if (interrupted) eval_x = predict_inverse(judged, conv, eval_a);  // the scatter plot's, not yet computed
    write_online_plots(c, curve, loss_text, eval_a, eval_x);
  }
  if (interrupted) {
    std::fprintf(
        stderr, "matrix_inverse: interrupted at step %lld (%llu samples)%s\n", static_cast<long long>(trainer.steps()),
        static_cast<unsigned long long>(samples),
        c.checkpoint.empty() ? "" : ("; checkpoint written to " + c.checkpoint + ", continue with --resume").c_str());
    return 130;
  }
  return 0;
}

int run_command(const std::string& command, const std::vector<std::string>& argv) {
  Config c;
  if (!parse_training_flags(command, argv, c)) return 0;  // --help
  return with_precision(c.precision, [&](auto scalar) { return run_online<decltype(scalar)>(c); });
}

}  // namespace

int cmd_answer(const std::vector<std::string>& argv) { return run_command("answer", argv); }
int cmd_train(const std::vector<std::string>& argv) { return run_command("train", argv); }

}  // namespace mi
