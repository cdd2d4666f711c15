// Model files: bit-identical round trips, peek_model, and every kind of
// damaged or mismatched file refused with its own message naming the path.
#include "gradcheck.hpp"
#include "io_util.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using plexus_test::peek;
using plexus_test::poke;
using plexus_test::reseal;
using plexus_test::same_bits;
using plexus_test::ScratchDir;
using plexus_test::slurp;
using plexus_test::spit;

namespace {

// Offset of the parameter count field in a model file (kind 1) of a float
// net without buffers: ... count, parameters, buffer count (0), checksum.
std::size_t parameter_count_offset(const std::vector<std::uint8_t>& file, std::size_t params, std::size_t item) {
  return file.size() - 8 - 8 - params * item - 8;
}

std::size_t find(const std::vector<std::uint8_t>& b, const std::string& s) {
  for (std::size_t i = 0; i + s.size() <= b.size(); ++i)
    if (std::memcmp(b.data() + i, s.data(), s.size()) == 0) return i;
  FAIL("not found: " << s);
  return 0;
}

}  // namespace

TEST_CASE_TEMPLATE("model files: save -> load is bit-identical, every layer kind", T, float, double) {
  ScratchDir dir;
  const std::string path = dir.file("net.plx");
  auto net = plexus_test::every_kind_net_built<T>(11);
  const std::map<std::string, std::string> meta{{"name", "every kind"}, {"empty", ""}, {"utf8", "\xc3\xa9t\xc3\xa9"}};
  save_model(net, path, meta);

  std::map<std::string, std::string> meta_in;
  auto loaded = load_model<T>(path, &meta_in);
  CHECK(meta_in == meta);
  CHECK(loaded.input_width() == net.input_width());
  CHECK(loaded.output_width() == net.output_width());
  CHECK(spec_difference(loaded.layers().spec(), net.layers().spec()).empty());
  CHECK(same_bits(loaded.parameters(), net.parameters()));
  const Matrix<T> x = plexus_test::random_matrix(40, net.input_width(), 5).template cast<T>();
  CHECK(same_bits(Matrix<T>(net.predict(x)), Matrix<T>(loaded.predict(x))));

  // Saving the loaded network gives the same bytes: the format has no hidden state.
  CHECK(encode_model(loaded, meta) == slurp(path));
  // The loaded network trains like any other.
  Adam<T> adam(loaded);
  MSE<T> mse;
  const Matrix<T> t = Matrix<T>::Zero(40, loaded.output_width());
  CHECK(std::isfinite(train_step(loaded, mse, adam, x, t)));
}

TEST_CASE("model files: special values survive bit for bit") {
  ScratchDir dir;
  Network<double> net;
  net.add(Dense<double>(4));
  net.build(2);
  auto& p = net.parameters();
  p[0] = std::numeric_limits<double>::quiet_NaN();
  p[1] = -0.0;
  p[2] = std::numeric_limits<double>::infinity();
  p[3] = std::numeric_limits<double>::denorm_min();
  p[4] = -std::numeric_limits<double>::max();
  save_model(net, dir.file("special.plx"));
  auto back = load_model<double>(dir.file("special.plx"));
  CHECK(same_bits(back.parameters(), net.parameters()));
}

TEST_CASE("model files: peek_model reports type, metadata and architecture without building") {
  ScratchDir dir;
  auto net = plexus_test::every_kind_net_built<float>();
  save_model(net, dir.file("m.plx"), {{"trained_on", "3x3 inverses"}});
  const ModelInfo info = peek_model(dir.file("m.plx"));
  CHECK(info.kind == FileKind::model);
  CHECK(info.scalar == ScalarType::float32);
  CHECK(info.format_version == 2);
  CHECK(info.input_width == net.input_width());
  CHECK(info.output_width == net.output_width());
  CHECK(info.parameter_count == net.parameter_count());
  CHECK(info.metadata.at("trained_on") == "3x3 inverses");
  CHECK(info.file_bytes == slurp(dir.file("m.plx")).size());
  CHECK(spec_difference(info.architecture, net.layers().spec()).empty());
  INFO(info.description);
  CHECK(has(info.description, "float32"));
  CHECK(has(info.description, "Residual"));
  CHECK(has(info.description, "trained_on = 3x3 inverses"));
  // A program picks the type from the file.
  if (info.scalar == ScalarType::float32) CHECK(load_model<float>(dir.file("m.plx")).parameter_count() > 0);
}

TEST_CASE("model files: loading float32 as double (and back) is a scalar type mismatch") {
  ScratchDir dir;
  save_model(plexus_test::every_kind_net_built<float>(), dir.file("f.plx"));
  save_model(plexus_test::every_kind_net_built<double>(), dir.file("d.plx"));
  const auto m1 = message_of([&] { load_model<double>(dir.file("f.plx")); });
  INFO(m1);
  CHECK(has(m1, "scalar type mismatch"));
  CHECK(has(m1, "holds float32"));
  CHECK(has(m1, "asks for float64"));
  CHECK(has(m1, dir.file("f.plx")));
  const auto m2 = message_of([&] { load_model<float>(dir.file("d.plx")); });
  INFO(m2);
  CHECK(has(m2, "holds float64"));
  CHECK(has(m2, "asks for float32"));
  CHECK_THROWS_AS(load_model<float>(dir.file("d.plx")), io_error);
}

TEST_CASE("model files: damaged files are refused, each with its own message and the path") {
  ScratchDir dir;
  auto net = plexus_test::every_kind_net_built<float>();
  const auto good = encode_model(net, {{"k", "v"}});
  const std::size_t params = static_cast<std::size_t>(net.parameter_count());
  const std::string path = dir.file("damaged.plx");

  auto refused = [&](const std::vector<std::uint8_t>& bytes, const std::string& part) {
    spit(path, bytes);
    const auto msg = message_of([&] { load_model<float>(path); });
    INFO("expected '" << part << "' in: " << msg);
    CHECK(has(msg, part));
    CHECK(has(msg, "'" + path + "'"));
    CHECK_THROWS_AS(load_model<float>(path), io_error);
    CHECK_THROWS_AS(peek_model(path), io_error);
  };

  spit(path, good);
  CHECK_NOTHROW(load_model<float>(path));

  auto b = good;
  b[1] = 'Q';
  refused(b, "not a Plexus model file");
  refused(std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'}, "not a Plexus model file");

  b = good;
  poke<std::uint32_t>(b, 8, 3);
  refused(b, "unsupported format version 3");

  b = good;
  poke<std::uint32_t>(b, 12, 3);
  refused(b, "unknown file kind 3");

  b = good;
  b[16] = 7;
  refused(b, "unknown scalar type code 7");

  b = good;
  b[16] = 2;  // claims float64 without resealing: the checksum catches it
  refused(b, "checksum mismatch");
  reseal(b);  // the same edit with a valid checksum: now the type is believed
  refused(b, "scalar type mismatch");
  spit(path, b);
  const auto as_double = message_of([&] { load_model<double>(path); });
  INFO(as_double);
  CHECK(has(as_double, "malformed parameters"));  // float32 data is half the bytes float64 needs

  b = good;
  b[20] = 1;
  refused(b, "reserved byte 20 is not 0");

  for (std::size_t len : {std::size_t(0), std::size_t(1), std::size_t(5), std::size_t(8), std::size_t(12),
                          std::size_t(20), std::size_t(31), std::size_t(32), std::size_t(33), good.size() / 2,
                          good.size() - 9, good.size() - 8, good.size() - 1}) {
    CAPTURE(len);
    refused(std::vector<std::uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)), "truncated");
  }
  refused({}, "empty");

  b = good;
  b.push_back(0);
  b.push_back(42);
  refused(b, "trailing garbage: 2 bytes");

  b = good;
  b[good.size() / 2] ^= 0x10;
  refused(b, "checksum mismatch");
  b = good;
  b[good.size() - 3] ^= 1;  // in the stored checksum itself
  refused(b, "checksum mismatch");

  // Lying payload lengths: longer than the file, absurdly long, shorter.
  b = good;
  poke<std::uint64_t>(b, 24, peek<std::uint64_t>(b, 24) + 1);
  refused(b, "truncated: the header announces a payload of");
  poke<std::uint64_t>(b, 24, std::numeric_limits<std::uint64_t>::max());
  refused(b, "truncated");
  poke<std::uint64_t>(b, 24, peek<std::uint64_t>(good, 24) - 16);
  refused(b, "trailing garbage: 16 bytes");

  // Damage behind a valid checksum, so the parser itself must refuse it.
  const std::size_t count_at = parameter_count_offset(good, params, 4);
  REQUIRE(peek<std::uint64_t>(good, count_at) == params);
  for (std::uint64_t lie : {std::uint64_t(params - 1), std::uint64_t(params + 1), std::uint64_t(1) << 62,
                            std::numeric_limits<std::uint64_t>::max()}) {
    CAPTURE(lie);
    b = good;
    poke<std::uint64_t>(b, count_at, lie);
    reseal(b);
    refused(b, "parameter count mismatch: the architecture has " + std::to_string(params));
  }

  b = good;
  const std::size_t dense_at = find(b, "Dense");
  b[dense_at + 1] = 'x';
  reseal(b);
  refused(b, "malformed architecture");
  refused(b, "unknown layer kind 'Dxnse'");

  b = good;
  poke<std::uint32_t>(b, dense_at - 4, 0x7FFFFFFF);  // the kind's length
  reseal(b);
  refused(b, "malformed architecture: a layer kind is 2147483647 bytes long");

  b = good;
  const std::size_t units_at = find(b, "units");
  poke<std::int64_t>(b, units_at + 5 + 1, 0);  // the first Dense's units: name, type tag, value
  reseal(b);
  refused(b, "Dense at layer 0: setting 'units' is 0, outside [1, 16777216]");
  b[units_at + 5] = 2;  // the same value, tagged as a real
  reseal(b);
  refused(b, "setting 'units' must be an integer, got a real");
  b[units_at + 5] = 7;
  reseal(b);
  refused(b, "setting 'units' of Dense has unknown type 7");

  b = good;
  poke<std::uint32_t>(b, 32 + 4, 0xFFFFFFF0);  // the metadata key's length
  reseal(b);
  refused(b, "malformed metadata");

  b = good;
  poke<std::uint32_t>(b, 32, 0x40000000);  // the metadata entry count
  reseal(b);
  refused(b, "malformed metadata: the map claims 1073741824 items");

  b = good;
  poke<std::uint64_t>(b, 32 + 4 + 4 + 1 + 4 + 1, 0);  // input width after the {"k": "v"} map
  reseal(b);
  refused(b, "input width 0");

  // A valid file with bytes after the last section, announced by the header.
  b = good;
  b.insert(b.end() - 8, {1, 2, 3});
  poke<std::uint64_t>(b, 24, peek<std::uint64_t>(good, 24) + 3);
  reseal(b);
  refused(b, "3 unexpected bytes after the last section");
}

TEST_CASE("model files: every prefix of a file is refused as truncated") {
  Network<float> net;
  net.add(Dense<float>(2, Activation::relu));
  net.add(Residual<float>(Dense<float>(2)));
  net.build(3);
  const auto good = encode_model(net, {{"a", "b"}});
  for (std::size_t len = 0; len < good.size(); ++len) {
    const auto msg = message_of([&] { decode_model<float>(good.data(), len, "<prefix>"); });
    if (!has(msg, "truncated")) {
      INFO(len << ": " << msg);
      CHECK(has(msg, "truncated"));
    }
  }
  CHECK_NOTHROW(decode_model<float>(good.data(), good.size()));
}

TEST_CASE("model files: load_model_into checks the architecture and changes nothing on refusal") {
  ScratchDir dir;
  auto net = plexus_test::every_kind_net_built<double>(1);
  save_model(net, dir.file("a.plx"), {{"x", "y"}});

  auto same = plexus_test::every_kind_net_built<double>(2);
  std::map<std::string, std::string> meta;
  load_model_into(dir.file("a.plx"), same, &meta);
  CHECK(same.parameters() == net.parameters());
  CHECK(meta.at("x") == "y");

  auto wider = plexus_test::every_kind_net<double>(13);
  wider.build(net.input_width(), 3);
  const Vector<double> before = wider.parameters();
  const auto msg = message_of([&] { load_model_into(dir.file("a.plx"), wider); });
  INFO(msg);
  CHECK(has(msg, "shape mismatch"));
  CHECK(has(msg, "at layer 0"));
  CHECK(has(msg, dir.file("a.plx")));
  CHECK(wider.parameters() == before);

  auto other_input = plexus_test::every_kind_net<double>();
  other_input.build(net.input_width() + 1, 3);
  CHECK(has(message_of([&] { load_model_into(dir.file("a.plx"), other_input); }), "takes 6 inputs, the given one 7"));

  Network<double> unbuilt = plexus_test::every_kind_net<double>();
  CHECK(has(message_of([&] { load_model_into(dir.file("a.plx"), unbuilt); }), "not built"));
}

TEST_CASE("model files: system errors name the path and the reason") {
  ScratchDir dir;
  const auto missing = message_of([&] { load_model<float>(dir.file("nope.plx")); });
  INFO(missing);
  CHECK(has(missing, dir.file("nope.plx")));
  CHECK(has(missing, "No such file or directory"));
  CHECK(has(message_of([&] { load_model<float>(dir.path()); }), "is a directory"));

  auto net = plexus_test::every_kind_net_built<float>();
  const auto no_dir = message_of([&] { save_model(net, dir.file("no/such/dir/m.plx")); });
  INFO(no_dir);
  CHECK(has(no_dir, "no/such/dir/m.plx"));
  CHECK(has(no_dir, "No such file or directory"));

  Network<float> unbuilt = plexus_test::every_kind_net<float>();
  CHECK(has(message_of([&] { save_model(unbuilt, dir.file("u.plx")); }), "not built"));
  CHECK(dir.files().empty());
}

TEST_CASE("fuzz seeds: the valid model files load, each damaged one is refused for its own reason") {
  const std::string dir = std::string(PLEXUS_FUZZ_CORPUS_DIR) + "/model/";
  const std::map<std::string, std::string> refused = {
      {"absurd_units.plx", "setting 'units' is 1099511627776, outside [1, 16777216]"},
      {"bad_checksum.plx", "checksum mismatch"},
      {"bad_magic.plx", "not a Plexus model file"},
      {"bad_setting_type.plx", "has unknown type 9"},
      {"deep_nesting.plx", "nested more than 64 deep"},
      {"future_version.plx", "unsupported format version 3"},
      {"lying_buffer_count.plx", "buffer count mismatch"},
      {"lying_parameter_count.plx", "parameter count mismatch"},
      {"lying_payload_length.plx", "truncated: the header announces"},
      {"lying_scalar_type.plx", "malformed parameters"},
      {"lying_string_length.plx", "malformed architecture: a layer kind is 2147483647 bytes long"},
      {"trailing_garbage.plx", "trailing garbage: 1 bytes"},
      {"truncated_header.plx", "shorter than the 32-byte header"},
      {"truncated_payload.plx", "truncated: the header announces"},
      {"unknown_kind.plx", "unknown layer kind 'Conv2D'"},
      {"unknown_setting.plx", "unknown setting 'units_'"},
      {"v1_lying_width.plx", "records input width 5 but receives 4"},
  };
  const std::set<std::string> valid_f32 = {"valid_model_f32.plx", "valid_model_single_dense.plx",
                                           "valid_checkpoint_adam_f32.plx", "valid_model_v1_f32.plx"};
  const std::set<std::string> valid_f64 = {"valid_model_f64.plx", "valid_checkpoint_sgd_f64.plx"};
  for (const auto& [name, part] : refused) {
    const auto msg = message_of([&] { peek_model(dir + name); });
    INFO(name << ": " << msg);
    CHECK(has(msg, part));
  }
  for (const auto& name : valid_f32) CHECK(load_model<float>(dir + name).parameter_count() > 0);
  for (const auto& name : valid_f64) CHECK(load_model<double>(dir + name).parameter_count() > 0);
  // Every file of the seed corpus is in exactly one of the tables above.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    INFO("corpus file " << name);
    CHECK(refused.count(name) + valid_f32.count(name) + valid_f64.count(name) == 1);
    ++files;
  }
  CHECK(files == refused.size() + valid_f32.size() + valid_f64.size());
}

namespace {
// The architecture of tests/data/v1 (see its README), built in code.
template <typename T>
Network<T> v1_fixture_net() {
  Network<T> net;
  net.add(Dense<T>(6, Activation::tanh, Init::he_normal, Init::torch_default));
  net.add(ActivationLayer<T>(Activation::sigmoid));
  Sequential<T> body;
  body.add(Concat<T>(Dense<T>(4, Activation::relu, Init::he_uniform)));
  body.add(Concat<T>(Dense<T>(3, Activation::sigmoid, Init::torch_default, Init::torch_default)));
  body.add(Dense<T>(6, Activation::identity, Init::glorot_uniform, Init::he_uniform));
  net.add(Residual<T>(std::move(body)));
  net.add(ReLU<T>());
  Sequential<T> inner;
  inner.add(Dense<T>(5, Activation::tanh));
  inner.add(Tanh<T>());
  net.add(std::move(inner));
  net.add(Dense<T>(2, Activation::identity, Init::zeros, Init::zeros));
  net.build(4, 0);
  return net;
}
}  // namespace

TEST_CASE("format version 1's enum codes name the values of the kinds' own tables") {
  // io/spec_io.hpp keeps the names of version 1's codes itself, so that it
  // needs no kind's header; they must stay those of Activation and Init.
  for (int c = 0; c < 4; ++c)
    CHECK(std::string(detail::kV1ActivationNames[c]) == to_string(static_cast<Activation>(c)));
  for (int c = 0; c < 5; ++c) CHECK(std::string(detail::kV1InitNames[c]) == to_string(static_cast<Init>(c)));
  CHECK(sizeof(detail::kV1ActivationNames) / sizeof(detail::kV1ActivationNames[0]) == 4);
  CHECK(sizeof(detail::kV1InitNames) / sizeof(detail::kV1InitNames[0]) == 5);
}

TEST_CASE_TEMPLATE("model files of format version 1 still load, with the same parameters and predictions", T, float,
                   double) {
  const std::string tag = std::is_same_v<T, float> ? "f32" : "f64";
  const std::string dir = std::string(PLEXUS_TEST_DATA_DIR) + "/v1/";
  const ModelInfo info = peek_model(dir + "v1_model_" + tag + ".plx");
  CHECK(info.format_version == 1);
  CHECK(info.metadata.at("fixture") == "v1");
  std::map<std::string, std::string> md;
  const Network<T> net = load_model<T>(dir + "v1_model_" + tag + ".plx", &md);
  CHECK(md.at("made_by") == "plexus 0.1.0, format 1");
  const NpyArray<T> params = read_npy<T>(dir + "v1_params_" + tag + ".npy");
  REQUIRE(static_cast<Index>(params.data.size()) == net.parameter_count());
  CHECK(std::memcmp(params.data.data(), net.parameters().data(), params.data.size() * sizeof(T)) == 0);
  // The architecture, as version 2 names it.
  const std::string arch = describe_spec(net.layers().spec());
  INFO(arch);
  CHECK(has(arch, "Dense(activation='tanh', bias_init='torch_default', units=6, weight_init='he_normal')"));
  CHECK(has(arch, "Activation(activation='sigmoid')"));
  CHECK(has(arch, "Residual"));
  // The same network built in code today, given the file's parameters,
  // predicts the same bits as the loaded one: a batch and one row.
  Network<T> twin = v1_fixture_net<T>();
  REQUIRE(twin.parameter_count() == net.parameter_count());
  std::memcpy(twin.parameters().data(), params.data.data(), params.data.size() * sizeof(T));
  const Matrix<T> x = npy_to_matrix(read_npy<T>(dir + "v1_input_" + tag + ".npy"));
  const Matrix<T> got = net.predict(x), got0 = net.predict(x.topRows(1));
  const Matrix<T> want = twin.predict(x), want0 = twin.predict(x.topRows(1));
  CHECK(std::memcmp(got.data(), want.data(), sizeof(T) * static_cast<std::size_t>(got.size())) == 0);
  CHECK(std::memcmp(got0.data(), want0.data(), sizeof(T) * static_cast<std::size_t>(got0.size())) == 0);
  // And what the version-1 code predicted then (its products and dot
  // products may round differently from today's kernels and flags).
  const Matrix<T> y = npy_to_matrix(read_npy<T>(dir + "v1_output_" + tag + ".npy"));
  const Matrix<T> y0 = npy_to_matrix(read_npy<T>(dir + "v1_output_row0_" + tag + ".npy"));
  const double tol = (std::is_same_v<T, float> ? 1e-6 : 1e-14) * double(y.cwiseAbs().maxCoeff());
  CHECK(double((got - y).cwiseAbs().maxCoeff()) <= tol);
  CHECK(double((got0 - y0).cwiseAbs().maxCoeff()) <= tol);
  // Saved again, it is a version-2 file of the same network.
  const auto bytes = encode_model(net, md);
  CHECK(decode_model_info(bytes.data(), bytes.size()).format_version == 2);
  const Network<T> again = decode_model<T>(bytes.data(), bytes.size());
  CHECK(again.parameters() == net.parameters());
  CHECK(spec_difference(again.layers().spec(), net.layers().spec()).empty());
}

TEST_CASE("a checkpoint of format version 1 restores the network, Adam and the training position") {
  const std::string path = std::string(PLEXUS_TEST_DATA_DIR) + "/v1/v1_checkpoint_f32.plx";
  Network<float> net = load_model<float>(std::string(PLEXUS_TEST_DATA_DIR) + "/v1/v1_model_f32.plx");
  Adam<float> adam(net, AdamOptions{1e-2});
  TrainingState st;
  load_checkpoint(path, net, adam, st);
  CHECK(adam.steps() == 1);
  CHECK(adam.learning_rate() == doctest::Approx(1e-2));
  CHECK(st.step == 1);
  CHECK(st.samples == 5);
  CHECK(st.generator == std::vector<std::uint64_t>{42});
  CHECK(st.metadata.at("fixture") == "v1 checkpoint");
  CHECK(adam.state()[0].second->cwiseAbs().maxCoeff() > 0);  // m after one step
}
