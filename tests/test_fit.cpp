// fit(): learning a classification and a regression set, the batches it
// draws (every row once per epoch, the last partial batch, the last rows
// for validation), determinism across thread counts, early stopping and
// restored weights, checkpoints, callbacks, the history CSV, schedules
// (also from OnlineTrainer), the progress output and the errors.
#include "fit_layers.hpp"
#include "io_util.hpp"
#include "messages.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;

namespace {

PLEXUS_REGISTER_LAYER(plexus_test::RunningMean);

Network<float> classifier(int width, std::uint64_t seed, int classes = 3) {
  Network<float> net;
  net.add(Dense<float>(width, Activation::tanh));
  net.add(Dense<float>(width, Activation::tanh));
  net.add(Dense<float>(classes));
  net.build(2, seed);
  return net;
}

// y = sin(2 x0) cos(x1) on [-1.5, 1.5]^2.
template <typename T>
void wave(Index n, std::uint64_t seed, Matrix<T>& x, Matrix<T>& y) {
  Rng rng(seed);
  x.resize(n, 2);
  y.resize(n, 1);
  for (Index i = 0; i < n; ++i) {
    x(i, 0) = T(rng.uniform(-1.5, 1.5));
    x(i, 1) = T(rng.uniform(-1.5, 1.5));
    y(i, 0) = T(std::sin(2.0 * double(x(i, 0))) * std::cos(double(x(i, 1))));
  }
}

// MSE that records column 0 of every training batch's input (a row's id
// when column 0 holds it): the rows fit stepped on, in order.
template <typename T>
class RecordingMSE : public Loss<T> {
 public:
  explicit RecordingMSE(std::vector<double>* seen) : seen_(seen) {}
  std::string name() const override { return "RecordingMSE"; }
  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    if (grad)
      for (Index i = 0; i < input.rows(); ++i) seen_->push_back(static_cast<double>(input(i, 0)));
    return mse_.evaluate(p, t, input, grad);
  }

 private:
  std::vector<double>* seen_;
  MSE<T> mse_;
};

// Rows whose column 0 is the row's index, column 1 noise; y a function of both.
Matrix<double> numbered_rows(Index n, Matrix<double>& y) {
  Rng rng(4);
  Matrix<double> x(n, 2);
  y.resize(n, 1);
  for (Index i = 0; i < n; ++i) {
    x(i, 0) = double(i);
    x(i, 1) = rng.uniform(-1, 1);
    y(i, 0) = 0.01 * double(i) + x(i, 1);
  }
  return x;
}

Network<double> small_regressor(std::uint64_t seed) {
  Network<double> net;
  net.add(Dense<double>(8, Activation::tanh));
  net.add(Dense<double>(1));
  net.build(2, seed);
  return net;
}

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

}  // namespace

TEST_CASE("fit learns a three-arm spiral to >= 99% validation accuracy") {
  Matrix<float> x, y;
  plexus_test::spiral<float>(600, 3, 0.02, 7, x, y);
  Network<float> net = classifier(32, 3);
  Adam<float> adam(net, AdamOptions{1e-2});
  SoftmaxCrossEntropy<float> ce;
  FitOptions o;
  o.epochs = 40;
  o.batch_size = 32;
  o.validation_split = 0.25;
  o.verbose = Verbose::silent;
  const FitHistory h = fit(net, ce, adam, x, y, o);
  REQUIRE(h.epochs.size() == 40);
  REQUIRE(h.metric_names == std::vector<std::string>{"accuracy"});
  CHECK(h.has_validation);
  CHECK(h.monitor == "val_loss");
  const FitEpoch& last = h.epochs.back();
  INFO("loss " << h.epochs[0].loss << " -> " << last.loss << ", val_accuracy " << last.val_metrics[0]);
  CHECK(last.val_metrics[0] >= 0.99);
  CHECK(last.loss < 0.2 * h.epochs[0].loss);
  // The reported validation accuracy is that of the network's predictions on the last 150 rows.
  const Matrix<float> p = net.predict(x.bottomRows(150));
  CHECK(accuracy(p, y.bottomRows(150)) == last.val_metrics[0]);
  CHECK(ce.value(p, y.bottomRows(150), x.bottomRows(150)) == last.val_loss);
  CHECK(accuracy(net.predict(x.topRows(450)), y.topRows(450)) == last.metrics[0]);
  CHECK(adam.steps() == 40 * 15);  // 450 training rows in batches of 32: 14 full and one of 2
  CHECK(h.steps == 40 * 15);
}

TEST_CASE("fit steps on every training row once per epoch, the last partial batch included") {
  Matrix<double> y;
  const Matrix<double> x = numbered_rows(103, y);
  std::vector<double> seen;
  RecordingMSE<double> loss(&seen);
  Network<double> net = small_regressor(1);
  Adam<double> adam(net);
  FitOptions o;
  o.epochs = 3;
  o.batch_size = 10;
  o.verbose = Verbose::silent;
  bool shuffle = true;
  SUBCASE("shuffled") { shuffle = true; }
  SUBCASE("in order") { shuffle = false; }
  o.shuffle = shuffle;
  std::vector<Index> batch_rows;
  std::vector<std::int64_t> epoch_samples;
  FitCallback<double> count;
  count.on_batch = [&](FitState<double>& s) {
    batch_rows.push_back(s.batch_rows);
    return true;
  };
  count.on_epoch = [&](FitState<double>& s) {
    epoch_samples.push_back(s.epoch_samples);
    return true;
  };
  const FitHistory h = fit(net, loss, adam, x, y, o, {count});
  REQUIRE(seen.size() == 3 * 103);
  REQUIRE(batch_rows.size() == 3 * 11);
  for (std::size_t b = 0; b < batch_rows.size(); ++b) CHECK(batch_rows[b] == (b % 11 == 10 ? 3 : 10));
  CHECK(epoch_samples == std::vector<std::int64_t>{103, 103, 103});
  CHECK(adam.steps() == 33);
  for (const FitEpoch& e : h.epochs) CHECK(e.samples == 103);
  for (int e = 0; e < 3; ++e) {
    std::vector<double> ids(seen.begin() + e * 103, seen.begin() + (e + 1) * 103);
    std::vector<double> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    for (Index i = 0; i < 103; ++i) CHECK(sorted[static_cast<std::size_t>(i)] == double(i));
    bool in_order = true;
    for (Index i = 0; i < 103; ++i) in_order = in_order && ids[static_cast<std::size_t>(i)] == double(i);
    CHECK(in_order == !shuffle);
    // The order is Rng::stream(seed, epoch)'s permutation.
    Rng rng = Rng::stream(o.seed, static_cast<std::uint64_t>(e));
    const std::vector<Index> order = row_order(103, shuffle ? &rng : nullptr);
    for (std::size_t i = 0; i < 103; ++i) CHECK(ids[i] == double(order[i]));
  }
}

TEST_CASE("fit is a loop of train_step over the same batches (schedule, clipping, micro-batches, noise seeds)") {
  Matrix<float> x, y;
  plexus_test::spiral<float>(250, 3, 0.05, 2, x, y);
  auto make = [] {
    Network<float> net;
    net.add(Dense<float>(24, Activation::relu));
    net.add(plexus_test::Noise<float>(0.2));
    net.add(Dense<float>(3));
    net.build(2, 8);
    return net;
  };
  SoftmaxCrossEntropy<float> ce;
  const Index bs = 48;
  const int epochs = 4;
  auto schedule = std::make_shared<StepLR>(2e-2, 2, 0.5);  // per epoch: 2e-2, 2e-2, 1e-2, 1e-2
  FitOptions o;
  o.epochs = epochs;
  o.batch_size = bs;
  o.seed = 77;
  o.schedule = schedule;
  o.step.clip_norm = 0.5;
  o.step.micro_batch = 20;
  o.step.seed = 5;
  o.verbose = Verbose::silent;
  Network<float> a = make();
  Adam<float> adam_a(a);
  const FitHistory h = fit(a, ce, adam_a, x, y, o);

  Network<float> b = make();
  Adam<float> adam_b(b);
  Matrix<float> xb(bs, 2), yb(bs, 1);
  const Index n = x.rows(), batches = (n + bs - 1) / bs;
  StepOptions so;
  so.clip_norm = 0.5;
  so.micro_batch = 20;
  so.seed = mix64(77, 5);
  for (int e = 0; e < epochs; ++e) {
    Rng rng = Rng::stream(77, static_cast<std::uint64_t>(e));
    const std::vector<Index> order = row_order(n, &rng);
    for (Index k = 0; k < batches; ++k) {
      const Index rows = std::min(bs, n - k * bs);
      gather_rows(x, order.data() + k * bs, rows, xb);
      gather_rows(y, order.data() + k * bs, rows, yb);
      ScheduleState s;
      s.step = adam_b.steps();
      s.epoch = e;
      adam_b.set_learning_rate(schedule->lr(s));
      train_step(b, ce, adam_b, xb.topRows(rows), yb.topRows(rows), so);
    }
    CHECK(h.epochs[static_cast<std::size_t>(e)].lr == doctest::Approx(e < 2 ? 2e-2 : 1e-2).epsilon(1e-15));
  }
  CHECK(a.parameters() == b.parameters());
  // The noise seed matters: another one gives other weights.
  Network<float> c = make();
  Adam<float> adam_c(c);
  o.step.seed = 6;
  fit(c, ce, adam_c, x, y, o);
  CHECK(c.parameters() != a.parameters());
}

TEST_CASE("the same seed gives bit-identical weights and history with 1 and 2 threads") {
  Matrix<float> x, y;
  plexus_test::spiral<float>(500, 3, 0.05, 3, x, y);
  auto run = [&](int threads, std::uint64_t seed) {
    set_num_threads(threads);
    Network<float> net = plexus_test::answer_like<float>(64, 32, 1, 2, 3, Init::glorot_uniform);
    net.add(plexus_test::Noise<float>(0.05));  // random streams too
    net.build(2, 1);
    Adam<float> adam(net, AdamOptions{3e-3});
    SoftmaxCrossEntropy<float> ce;
    FitOptions o;
    o.epochs = 3;
    o.batch_size = 150;  // cut into parts of 40: the threads take parts
    o.step.micro_batch = 40;
    o.seed = seed;
    o.validation_split = 0.2;
    o.verbose = Verbose::silent;
    const FitHistory h = fit(net, ce, adam, x, y, o);
    set_num_threads(0);
    return std::make_pair(Vector<float>(net.parameters()), h);
  };
  const auto one = run(1, 9), two = run(2, 9), other = run(2, 10);
  CHECK(one.first == two.first);
  REQUIRE(one.second.epochs.size() == two.second.epochs.size());
  for (std::size_t e = 0; e < one.second.epochs.size(); ++e) {
    CHECK(one.second.epochs[e].loss == two.second.epochs[e].loss);
    CHECK(one.second.epochs[e].val_loss == two.second.epochs[e].val_loss);
    CHECK(one.second.epochs[e].val_metrics == two.second.epochs[e].val_metrics);
  }
  CHECK(other.first != one.first);  // the seed orders the batches
}

TEST_CASE("validation_split holds out the last rows, before shuffling") {
  Matrix<double> y;
  const Matrix<double> x = numbered_rows(100, y);
  std::vector<double> seen;
  RecordingMSE<double> loss(&seen);
  FitOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.seed = 3;
  o.verbose = Verbose::silent;
  o.validation_split = 0.2;
  Network<double> a = small_regressor(2);
  Adam<double> adam_a(a);
  std::vector<double> checked;
  FitCallback<double> check_val;
  check_val.on_epoch = [&](FitState<double>& s) {
    const Matrix<double> p = s.net.predict(x.bottomRows(20));
    checked.push_back(s.result->val_loss - loss.value(p, y.bottomRows(20), x.bottomRows(20)));
    return true;
  };
  const FitHistory h = fit(a, loss, adam_a, x, y, o, {check_val});
  REQUIRE(seen.size() == 2 * 80);
  for (double id : seen) CHECK(id < 80);  // rows 80..99 are never trained on
  CHECK(checked == std::vector<double>{0.0, 0.0});
  // The same as split_rows' unshuffled {0.8, 0.2} parts passed explicitly.
  const auto parts = split_rows(Matrix<double>(x), y, {0.8, 0.2}, 0, false);
  CHECK(parts[1].x == x.bottomRows(20));
  Network<double> b = small_regressor(2);
  Adam<double> adam_b(b);
  o.validation_split = 0.0;
  const FitHistory hb = fit(b, loss, adam_b, parts[0].x, parts[0].y, parts[1].x, parts[1].y, o);
  CHECK(a.parameters() == b.parameters());
  CHECK(h.epochs[1].val_loss == hb.epochs[1].val_loss);
  // Keras' count: floor(n (1 - split)) training rows.
  o.validation_split = 0.3;
  seen.clear();
  Network<double> c = small_regressor(2);
  Adam<double> adam_c(c);
  fit(c, loss, adam_c, x.topRows(33), y.topRows(33), o);  // floor(33 * 0.7) = 23
  CHECK(seen.size() == 2 * 23);
}

TEST_CASE("early stopping restores the best epoch's parameters and buffers, and the checkpoint holds them") {
  plexus_test::ScratchDir dir;
  const std::string path = dir.path() + "/best.plx";
  Matrix<float> x, y;
  wave<float>(200, 1, x, y);
  Network<float> net;
  net.add(Dense<float>(16, Activation::tanh));
  net.add(plexus_test::RunningMean<float>(0.5));  // a buffer that changes every batch
  net.add(Dense<float>(1));
  net.build(2, 4);
  REQUIRE(net.buffer_count() == 16);
  Adam<float> adam(net, AdamOptions{1e-2});
  MSE<float> mse;
  // A monitored metric whose values are given: best at epoch 3 (2.95 does
  // not beat 3 by more than min_delta 0.1), then three epochs without
  // improvement: the run stops after epoch 6.
  const std::vector<double> script{5, 3, 2.95, 2, 2.5, 2.2, 2.1, 9, 9, 9, 9, 9};
  std::size_t calls = 0;
  FitMetric scripted{"scripted", [&](const Matrix<double>&, const Matrix<double>&) { return script.at(calls++); },
                     false};
  FitOptions o;
  o.epochs = 12;
  o.batch_size = 25;
  o.validation_split = 0.25;
  o.metrics = {scripted};
  o.train_metrics = false;
  o.monitor = "val_scripted";
  o.patience = 3;
  o.min_delta = 0.1;
  o.checkpoint_path = path;
  o.verbose = Verbose::silent;
  bool restore = true;
  SUBCASE("restore_best_weights") { restore = true; }
  SUBCASE("keep the last weights") { restore = false; }
  o.restore_best_weights = restore;
  std::vector<Vector<float>> params, buffers;
  std::vector<std::string> checkpoint_epochs;
  FitCallback<float> keep;
  keep.on_epoch = [&](FitState<float>& s) {
    params.push_back(s.net.parameters());
    buffers.push_back(s.net.buffers());
    std::map<std::string, std::string> meta;
    load_model<float>(path, &meta);
    checkpoint_epochs.push_back(meta["epoch"]);
    return true;
  };
  const FitHistory h = fit(net, mse, adam, x, y, o, {keep});
  REQUIRE(h.epochs.size() == 7);
  CHECK(h.stopped_early);
  CHECK(has(h.stop_reason, "val_scripted did not improve"));
  CHECK(h.best_epoch == 3);
  CHECK(h.best_value == 2.0);
  CHECK(h.restored_best == restore);
  std::vector<bool> improved;
  for (const auto& e : h.epochs) improved.push_back(e.improved);
  CHECK(improved == std::vector<bool>{true, true, false, true, false, false, false});
  // The checkpoint was rewritten at each improvement only.
  CHECK(checkpoint_epochs == std::vector<std::string>{"0", "1", "1", "3", "3", "3", "3"});
  REQUIRE(params[3] != params[6]);
  REQUIRE(buffers[3] != buffers[6]);
  const std::size_t expect = restore ? 3 : 6;
  CHECK(net.parameters() == params[expect]);
  CHECK(net.buffers() == buffers[expect]);
  std::map<std::string, std::string> meta;
  const Network<float> best = load_model<float>(path, &meta);
  CHECK(meta["epoch"] == "3");
  CHECK(meta["monitor"] == "val_scripted");
  CHECK(best.parameters() == params[3]);
  CHECK(best.buffers() == buffers[3]);
}

TEST_CASE("a callback stops training, after a batch or after an epoch") {
  Matrix<double> y;
  const Matrix<double> x = numbered_rows(100, y);
  MSE<double> mse;
  Network<double> net = small_regressor(3);
  Adam<double> adam(net);
  FitOptions o;
  o.epochs = 10;
  o.batch_size = 10;
  o.validation_split = 0.2;  // 80 rows: 8 batches per epoch
  o.verbose = Verbose::silent;
  SUBCASE("returning false after batch 3 of epoch 1") {
    FitCallback<double> c;
    c.on_batch = [](FitState<double>& s) { return !(s.epoch == 1 && s.batch == 3); };
    const FitHistory h = fit(net, mse, adam, x, y, o, {c});
    REQUIRE(h.epochs.size() == 2);
    CHECK(h.stopped_by_callback);
    CHECK_FALSE(h.stopped_early);
    CHECK(h.stop_reason == "a callback returned false");
    CHECK(h.epochs[1].samples == 30);  // the stopped epoch is evaluated and recorded
    CHECK(std::isfinite(h.epochs[1].val_loss));
    CHECK(adam.steps() == 8 + 3);
  }
  SUBCASE("request_stop once the validation loss is low enough") {
    const auto c = stop_when<double>([](const FitState<double>& s) { return s.epoch == 4; }, "enough");
    const FitHistory h = fit(net, mse, adam, x, y, o, {c});
    CHECK(h.epochs.size() == 5);
    CHECK(h.stop_reason == "enough");
    CHECK(adam.steps() == 5 * 8);
  }
}

TEST_CASE("FitHistory::write_csv writes the columns and numbers that read back") {
  plexus_test::ScratchDir dir;
  Matrix<float> x, y;
  plexus_test::spiral<float>(120, 3, 0.05, 5, x, y);
  Network<float> net = classifier(8, 2);
  Adam<float> adam(net, AdamOptions{1e-2});
  SoftmaxCrossEntropy<float> ce;
  FitOptions o;
  o.epochs = 3;
  o.validation_split = 0.25;
  o.verbose = Verbose::silent;
  o.metrics.push_back(
      {"top2", [](const Matrix<double>& p, const Matrix<double>& t) { return top_k_accuracy(p, t, 2); }});
  const FitHistory h = fit(net, ce, adam, x, y, o);
  const std::string path = dir.path() + "/history.csv";
  h.write_csv(path);
  const CsvData<double> csv = read_csv<double>(path);
  const std::vector<std::string> expected{"epoch",        "loss",     "accuracy", "top2",    "val_loss",
                                          "val_accuracy", "val_top2", "lr",       "seconds", "samples"};
  CHECK(csv.has_header);
  CHECK(csv.feature_names == expected);
  CHECK(h.columns() == expected);
  REQUIRE(csv.features.rows() == 3);
  for (Index i = 0; i < 3; ++i) {
    const std::vector<double> row = h.row(static_cast<std::size_t>(i));
    for (Index k = 0; k < csv.features.cols(); ++k) CHECK(csv.features(i, k) == row[static_cast<std::size_t>(k)]);
  }
  CHECK(h.column("val_top2") == std::vector<double>{csv.features(0, 6), csv.features(1, 6), csv.features(2, 6)});
  CHECK(h.column("samples") == std::vector<double>{90, 90, 90});
  CHECK(has(message_of([&] { h.column("val_top3"); }), "no column 'val_top3'"));
}

TEST_CASE("fit on a regression with MSE, a metric of the caller's and an explicit validation set") {
  Matrix<double> x, y, xv, yv;
  wave<double>(512, 1, x, y);
  wave<double>(256, 2, xv, yv);
  Network<double> net;
  net.add(Dense<double>(32, Activation::tanh));
  net.add(Dense<double>(32, Activation::tanh));
  net.add(Dense<double>(1));
  net.build(2, 5);
  Adam<double> adam(net, AdamOptions{1e-2});
  MSE<double> mse;
  FitOptions o;
  o.epochs = 60;
  o.verbose = Verbose::silent;
  o.metrics.push_back(
      {"mae", [](const Matrix<double>& p, const Matrix<double>& t) { return mean_absolute_error(p, t); }, false});
  const FitHistory h = fit(net, mse, adam, x, y, xv, yv, o);
  CHECK(h.metric_names == std::vector<std::string>{"mae"});  // no accuracy for MSE
  const FitEpoch& last = h.epochs.back();
  INFO("val_loss " << h.epochs[0].val_loss << " -> " << last.val_loss);
  CHECK(last.val_loss < 0.01);
  CHECK(last.val_loss < 0.05 * h.epochs[0].val_loss);
  const Matrix<double> p = net.predict(xv);
  CHECK(last.val_loss == mse.value(p, yv, xv));
  CHECK(last.val_metrics[0] == mean_absolute_error(p, yv));
  CHECK(h.best_epoch >= 0);
}

TEST_CASE("ReduceLROnPlateau in fit observes the validation loss after each epoch") {
  // The validation targets are the training targets negated: as the
  // training loss falls, the validation loss rises, and the rate is cut.
  Matrix<double> x, y;
  wave<double>(300, 3, x, y);
  const Matrix<double> y_val = -y;
  Network<double> net = small_regressor(6);
  Adam<double> adam(net);
  MSE<double> mse;
  PlateauOptions po;
  po.lr = 1e-2;
  po.factor = 0.5;
  po.patience = 0;
  FitOptions o;
  o.epochs = 8;
  o.schedule = std::make_shared<ReduceLROnPlateau>(po);
  o.verbose = Verbose::silent;
  const FitHistory h = fit(net, mse, adam, x, y, x, y_val, o);
  ReduceLROnPlateau on_val(po), on_train(po);
  std::vector<double> val_rates, train_rates;
  for (const FitEpoch& e : h.epochs) {
    CHECK(e.lr == on_val.lr());
    val_rates.push_back(on_val.lr());
    train_rates.push_back(on_train.lr());
    on_val.observe(e.val_loss);
    on_train.observe(e.loss);
  }
  CHECK(h.epochs.back().lr <= po.lr * 0.125);
  CHECK(val_rates != train_rates);  // the training loss would have given other rates
}

TEST_CASE("a schedule in steps changes the rate every batch") {
  Matrix<double> y;
  const Matrix<double> x = numbered_rows(50, y);
  Network<double> net = small_regressor(1);
  Adam<double> adam(net);
  MSE<double> mse;
  FitOptions o;
  o.epochs = 2;
  o.batch_size = 8;
  o.schedule = std::make_shared<ExponentialLR>(1e-2, 0.9, ScheduleUnit::step);
  o.verbose = Verbose::silent;
  std::vector<double> rates;
  FitCallback<double> c;
  c.on_batch = [&](FitState<double>& s) {
    rates.push_back(s.lr);
    return true;
  };
  fit(net, mse, adam, x, y, o, {c});
  REQUIRE(rates.size() == 14);
  for (std::size_t k = 0; k < rates.size(); ++k)
    CHECK(rates[k] == doctest::Approx(1e-2 * std::pow(0.9, double(k))).epsilon(1e-14));
}

TEST_CASE("fit does not cut batches when a layer couples rows") {
  Matrix<double> y;
  const Matrix<double> x = numbered_rows(60, y);
  Network<double> net;
  net.add(Dense<double>(4, Activation::tanh));
  net.add(plexus_test::BatchCentre<double>());
  net.add(Dense<double>(1));
  net.build(2, 1);
  REQUIRE_FALSE(net.rows_independent());
  Adam<double> adam(net);
  MSE<double> mse;
  FitOptions o;
  o.epochs = 1;
  o.batch_size = 30;
  o.step.micro_batch = 10;  // would cut a batch into three parts
  o.verbose = Verbose::silent;
  CHECK(fit(net, mse, adam, x, y, o).steps == 2);
}

TEST_CASE("OnlineTrainer takes a Schedule and a seed") {
  mi::MatrixInverseSource<double> source{3, {mi::InverseDistribution::answer, true, 1.0}};
  mi::InverseResidualLoss<double> loss{3, 1.0, 2.0};
  auto run = [&](std::shared_ptr<Schedule> schedule, std::uint64_t seed, std::vector<double>* rates = nullptr) {
    Network<double> net = plexus_test::answer_like<double>(16, 8, 1, 2);
    net.add(plexus_test::Noise<double>(0.05));
    net.build(9, 2);
    Adam<double> adam(net);
    OnlineOptions o;
    o.batch = 64;
    o.max_samples = 64 * 12;
    o.lr = 3e-3;
    o.lr_min = 1e-4;
    o.warmup = 0.25;
    o.schedule = std::move(schedule);
    o.seed = seed;
    OnlineTrainer<double> t(net, loss, adam, source, o);
    while (!t.done()) {
      t.step();
      if (rates) rates->push_back(adam.learning_rate());
    }
    return Vector<double>(net.parameters());
  };
  const Vector<double> builtin = run(nullptr, 1);
  // CosineLR over the same progress is the built-in cosine, bit for bit.
  CHECK(run(std::make_shared<CosineLR>(3e-3, 1e-4, 0.25), 1) == builtin);
  CHECK(run(nullptr, 1) == builtin);
  CHECK(run(nullptr, 2) != builtin);  // the seed reaches the random streams
  std::vector<double> rates;
  run(std::make_shared<StepLR>(1e-2, 5, 0.1, ScheduleUnit::step), 1, &rates);
  REQUIRE(rates.size() == 12);
  for (std::size_t k = 0; k < rates.size(); ++k)
    CHECK(rates[k] == doctest::Approx(k < 5 ? 1e-2 : k < 10 ? 1e-3 : 1e-4).epsilon(1e-14));
}

TEST_CASE("OnlineOptions::clip_norm clips each step's gradients as StepOptions::clip_norm does") {
  mi::MatrixInverseSource<double> source{5, {mi::InverseDistribution::answer, true, 1.0}};
  mi::InverseResidualLoss<double> loss{3, 1.0, 2.0};
  const Network<double> start = [] {
    Network<double> n = plexus_test::answer_like<double>(16, 8, 1, 2);
    n.build(9, 4);
    return n;
  }();
  constexpr Index kBatch = 32;
  constexpr int kSteps = 6;
  auto online = [&](double clip) {
    Network<double> net = start;
    Adam<double> adam(net, {1e-2});
    OnlineOptions o;
    o.batch = kBatch;
    o.micro_batch = 0;
    o.max_samples = kBatch * kSteps;
    o.cosine = false;
    o.lr = 1e-2;
    o.clip_norm = clip;
    OnlineTrainer<double> t(net, loss, adam, source, o);
    while (!t.done()) t.step();
    return Vector<double>(net.parameters());
  };
  // The same steps by hand: the source's batches in order, train_step with the clip.
  auto by_hand = [&](double clip) {
    Network<double> net = start;
    Adam<double> adam(net, {1e-2});
    Matrix<double> x(kBatch, 9), y(kBatch, 9);
    for (int k = 0; k < kSteps; ++k) {
      source.fill(static_cast<std::uint64_t>(k) * kBatch, x, y);
      StepOptions so;
      so.micro_batch = 0;
      so.clip_norm = clip;
      train_step(net, loss, adam, x, y, so);
    }
    return Vector<double>(net.parameters());
  };
  const double tiny = 1e-3;  // far below these gradients' norms: every step is clipped
  CHECK(online(tiny) == by_hand(tiny));
  CHECK(online(0.0) == by_hand(0.0));
  CHECK(online(tiny) != online(0.0));
  for (double bad : {-1.0, std::nan(""), HUGE_VAL}) {
    Network<double> net = start;
    Adam<double> adam(net);
    OnlineOptions o;
    o.max_samples = 10;
    o.clip_norm = bad;
    CHECK_THROWS_WITH_AS(OnlineTrainer<double>(net, loss, adam, source, o),
                         doctest::Contains("OnlineOptions::clip_norm must be 0 (off) or finite and > 0"), value_error);
  }
}

TEST_CASE("fit prints one line per epoch, a bar redrawn in place, or nothing") {
  Matrix<float> x, y;
  plexus_test::spiral<float>(90, 3, 0.05, 5, x, y);
  SoftmaxCrossEntropy<float> ce;
  auto output = [&](Verbose v) {
    Network<float> net = classifier(8, 2);
    Adam<float> adam(net);
    FitOptions o;
    o.epochs = 2;
    o.validation_split = 1.0 / 3.0;
    o.verbose = v;
    std::FILE* f = std::tmpfile();
    REQUIRE(f != nullptr);
    o.progress_stream = f;
    fit(net, ce, adam, x, y, o);
    const std::string s = read_all(f);
    std::fclose(f);
    return s;
  };
  const std::string lines = output(Verbose::lines);
  INFO(lines);
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 2);
  CHECK(has(lines, "epoch 1/2 60/60 "));
  CHECK(has(lines, "epoch 2/2 60/60 "));
  CHECK(has(lines, "samples/s  loss "));
  CHECK(has(lines, "  accuracy "));
  CHECK(has(lines, "  val_loss "));
  CHECK(has(lines, "  val_accuracy "));
  CHECK(has(lines, "  lr 0.001"));
  CHECK_FALSE(has(lines, "\r"));
  const std::string automatic = output(Verbose::automatic);  // a file, not a terminal: lines
  CHECK(std::count(automatic.begin(), automatic.end(), '\n') == 2);
  CHECK(has(automatic, "epoch 1/2 60/60 "));
  CHECK_FALSE(has(automatic, "\r"));
  const std::string bar = output(Verbose::bar);
  INFO(bar);
  CHECK(has(bar, "\repoch 1/2 [="));
  CHECK(has(bar, "ETA "));
  CHECK(has(bar, "[==============================] 60/60"));
  CHECK(has(bar, "\033[K\n"));
  CHECK(output(Verbose::silent).empty());
}

TEST_CASE("fit refuses bad options and data, naming the option or the shapes") {
  Matrix<float> x, y;
  plexus_test::spiral<float>(10, 3, 0.05, 5, x, y);
  Network<float> net = classifier(4, 1);
  Adam<float> adam(net);
  SoftmaxCrossEntropy<float> ce;
  auto fails = [&](FitOptions o, const std::string& part) {
    o.verbose = Verbose::silent;
    const std::string m = message_of([&] { fit(net, ce, adam, x, y, o); });
    INFO(m);
    CHECK(has(m, part));
  };
  FitOptions o;
  o.batch_size = 0;
  fails(o, "fit: FitOptions::batch_size must be >= 1, got 0");
  o = {};
  o.epochs = 0;
  fails(o, "FitOptions::epochs must be >= 1, got 0");
  for (double split : {1.0, 1.5, -0.1, std::nan("")}) {
    o = {};
    o.validation_split = split;
    fails(o, "FitOptions::validation_split must be in [0, 1), got ");
  }
  o = {};
  o.validation_split = 1e-12;
  fails(o, "FitOptions::validation_split = 1e-12 of the 10 rows of x (10x2) leaves no validation row");
  o = {};
  o.patience = -1;
  fails(o, "FitOptions::patience must be >= 0, got -1");
  o = {};
  o.monitor = "val_loss";
  fails(o, "FitOptions::monitor is 'val_loss' but there is no validation data");
  o = {};
  o.monitor = "precision";
  fails(o, "FitOptions::monitor is 'precision', which this run does not report (it reports loss, accuracy)");
  o = {};
  o.metrics.push_back({"accuracy", [](const Matrix<double>&, const Matrix<double>&) { return 0.0; }});
  fails(o, "two metrics are named 'accuracy'");
  o = {};
  o.metrics.push_back({"loss", [](const Matrix<double>&, const Matrix<double>&) { return 0.0; }});
  fails(o, "FitOptions::metrics[0] is named 'loss'");
  o = {};
  o.step.clip_norm = -1;
  fails(o, "FitOptions::step.clip_norm must be 0 (off) or finite and > 0, got -1");

  auto data_fails = [&](const Matrix<float>& xs, const Matrix<float>& ys, const std::string& part) {
    FitOptions q;
    q.verbose = Verbose::silent;
    const std::string m = message_of([&] { fit(net, ce, adam, xs, ys, q); });
    INFO(m);
    CHECK(has(m, part));
  };
  data_fails(x, y.topRows(9), "fit: x is 10x2 but y is 9x1; they need the same number of rows");
  data_fails(Matrix<float>(0, 2), Matrix<float>(0, 1), "fit: no training data: x is 0x2");
  data_fails(Matrix<float>::Zero(10, 3), y, "fit: x is 10x3 but the network takes 2 input columns");
  data_fails(x, Matrix<float>::Zero(10, 2),
             "fit: y is 10x2, which the loss SoftmaxCrossEntropy does not take for the network's 3 output columns");
  Matrix<float> bad = x;
  bad(4, 1) = std::nanf("");
  data_fails(bad, y, "fit: x has a non-finite value (nan) at row 4, column 1");
  const std::string m = message_of([&] { fit(net, ce, adam, x, y, x.topRows(5), y.topRows(4)); });
  CHECK(has(m, "fit: x_val is 5x2 but y_val is 4x1"));
  FitOptions both;
  both.validation_split = 0.2;
  CHECK(has(message_of([&] { fit(net, ce, adam, x, y, x, y, both); }),
            "FitOptions::validation_split is 0.2 but a validation set is given too"));
  Network<float> unbuilt;
  unbuilt.add(Dense<float>(3));
  CHECK(has(message_of([&] { fit(unbuilt, ce, adam, x, y); }), "fit: the network is not built"));
  CHECK_THROWS_AS(fit(net, ce, adam, x, y.topRows(9)), shape_error);
  FitOptions zero;
  zero.batch_size = 0;
  CHECK_THROWS_AS(fit(net, ce, adam, x, y, zero), value_error);
  CHECK(adam.steps() == 0);  // nothing was trained
}
