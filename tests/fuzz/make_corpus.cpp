// Writes the seed corpora of the fuzz targets: small valid model files,
// checkpoints, .npy and .npz files, and damaged variants of each.
//   make_fuzz_corpus tests/fuzz/corpus/model tests/fuzz/corpus/npy
// The output is committed; rerun this only when the formats change. The
// model corpus also holds valid_model_v1_f32.plx, a copy of
// tests/data/v1/v1_model_f32.plx (format version 1, which this program no
// longer writes).
#include <plexus/plexus.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace plexus;
using Bytes = std::vector<std::uint8_t>;

namespace {

std::string g_model_dir, g_npy_dir;

void put(const std::string& dir, const std::string& name, const Bytes& b) { write_file_atomic(dir + "/" + name, b); }

void reseal(Bytes& b) {
  const std::size_t n = b.size() - 8;
  const std::uint64_t c = crc64(b.data(), n);
  std::memcpy(b.data() + n, &c, 8);
}

template <typename U>
void poke(Bytes& b, std::size_t at, U v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}

std::size_t find(const Bytes& b, const std::string& s) {
  for (std::size_t i = 0; i + s.size() <= b.size(); ++i)
    if (std::memcmp(b.data() + i, s.data(), s.size()) == 0) return i;
  return 0;
}

// Every layer kind, few parameters.
template <typename T>
Network<T> tiny(std::uint64_t seed) {
  Network<T> net;
  net.add(Dense<T>(4, leaky_relu(0.2)));
  Sequential<T> body;
  body.add(Concat<T>(Dense<T>(2, Activation::tanh)));
  body.add(ActivationLayer<T>(Activation::sigmoid));
  body.add(Dense<T>(4));
  net.add(Residual<T>(std::move(body)));
  net.add(Concat<T>(ActivationLayer<T>(Activation::tanh)));
  net.add(Dense<T>(2));
  net.build(3, seed);
  return net;
}

void models() {
  const std::string d = g_model_dir;
  auto f32 = tiny<float>(1);
  auto f64 = tiny<double>(2);
  const Bytes m32 = encode_model(f32, {{"name", "tiny"}, {"purpose", "fuzz seed"}});
  put(d, "valid_model_f32.plx", m32);
  put(d, "valid_model_f64.plx", encode_model(f64));
  {
    Network<float> one;
    one.add(Dense<float>(1));
    one.build(1);
    put(d, "valid_model_single_dense.plx", encode_model(one));
  }
  {
    Adam<float> adam(f32);
    adam.set_steps(3);
    put(d, "valid_checkpoint_adam_f32.plx",
        encode_checkpoint(f32, adam, TrainingState{3, 96, {1, 2, 3, 4}, {{"k", "v"}}}));
    SGD<double> sgd(f64, SGDOptions{0.1, 0.9});
    put(d, "valid_checkpoint_sgd_f64.plx", encode_checkpoint(f64, sgd, TrainingState{0, 0, {}, {}}));
  }

  Bytes b = m32;
  b[0] = 'X';
  put(d, "bad_magic.plx", b);
  put(d, "truncated_header.plx", Bytes(m32.begin(), m32.begin() + 20));
  put(d, "truncated_payload.plx", Bytes(m32.begin(), m32.end() - 30));
  b = m32;
  b.push_back(0);
  put(d, "trailing_garbage.plx", b);
  b = m32;
  b[m32.size() / 2] ^= 1;
  put(d, "bad_checksum.plx", b);
  b = m32;
  poke<std::uint32_t>(b, 8, 3);
  put(d, "future_version.plx", b);
  b = m32;
  b[16] = 2;
  reseal(b);
  put(d, "lying_scalar_type.plx", b);
  b = m32;
  poke<std::uint64_t>(b, 24, ~std::uint64_t(0));
  put(d, "lying_payload_length.plx", b);
  // The tail of a model file: parameter count, parameters, buffer count (0 here), checksum.
  b = m32;
  poke<std::uint64_t>(b, m32.size() - 8 - 8 - static_cast<std::size_t>(f32.parameter_count()) * 4 - 8, 1ull << 40);
  reseal(b);
  put(d, "lying_parameter_count.plx", b);
  b = m32;
  poke<std::uint64_t>(b, m32.size() - 8 - 8, 3);
  reseal(b);
  put(d, "lying_buffer_count.plx", b);
  b = m32;
  const std::size_t dense = find(b, "Dense");
  poke<std::uint32_t>(b, dense - 4, 0x7FFFFFFF);
  reseal(b);
  put(d, "lying_string_length.plx", b);
  b = m32;
  const std::size_t units = find(b, "units");
  poke<std::int64_t>(b, units + 5 + 1, std::int64_t(1) << 40);  // the first Dense's units: name, tag, value
  reseal(b);
  put(d, "absurd_units.plx", b);
  b = m32;
  b[units + 5] = 9;  // the type tag of that setting
  reseal(b);
  put(d, "bad_setting_type.plx", b);

  // Specs written directly, behind a valid checksum.
  auto with_spec = [](const LayerSpec& root, std::size_t params) {
    detail::ByteWriter w;
    detail::start_container(w, FileKind::model, ScalarType::float32);
    w.put_u32(0);  // no metadata
    w.put_u64(2);  // input width
    detail::write_spec_node(w, root);
    w.put_u64(params);
    for (std::size_t i = 0; i < params; ++i) w.put(float(i));
    w.put_u64(0);  // no buffers
    return detail::finish_container(w);
  };
  auto node = [](const char* kind, std::vector<LayerSpec> children) {
    LayerSpec s;
    s.kind = kind;
    s.children = std::move(children);
    return s;
  };
  LayerSpec dense2 = node("Dense", {});
  dense2.set("units", 2);
  {
    LayerSpec s = dense2;
    for (int i = 0; i < 70; ++i) s = node("Residual", {s});
    put(d, "deep_nesting.plx", with_spec(node("Sequential", {s}), 6));
  }
  put(d, "unknown_kind.plx", with_spec(node("Sequential", {node("Conv2D", {})}), 0));
  {
    LayerSpec s = dense2;
    s.set("units_", 3);
    put(d, "unknown_setting.plx", with_spec(node("Sequential", {s}), 6));
  }
  // Format version 1: a Dense that records input width 5 but receives 4.
  {
    detail::ByteWriter w;
    detail::start_container(w, FileKind::model, ScalarType::float32);
    w.patch_u32(8, 1);
    w.put_u32(0);  // no metadata
    w.put_u64(4);  // input width
    auto v1_node = [&](const char* kind, std::vector<long long> ints, std::uint32_t children) {
      w.put_string(kind, "a layer kind");
      w.put_u32(static_cast<std::uint32_t>(ints.size()));
      for (long long v : ints) w.put_i64(v);
      w.put_u32(children);
    };
    v1_node("Sequential", {4}, 1);
    v1_node("Dense", {5, 3, 1, 1, 0}, 0);
    w.put_u64(15);
    for (int i = 0; i < 15; ++i) w.put(float(i));
    put(d, "v1_lying_width.plx", detail::finish_container(w));
  }
}

void npys() {
  const std::string d = g_npy_dir;
  Matrix<double> m(3, 4);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = 0.5 * static_cast<double>(i) - 1;
  put(d, "valid_f8_2d.npy", encode_npy(matrix_to_npy(m)));
  put(d, "valid_f4_2d.npy", encode_npy(matrix_to_npy(m), NpyType::float32));
  put(d, "valid_f8_3d.npy", encode_npy(matrix_to_npy(m, {3, 2, 2})));
  NpyArray<float> v;
  v.shape = {5};
  v.data = {1, 2, 3, 4, 5};
  put(d, "valid_f4_1d.npy", encode_npy(v));
  NpyArray<double> s;
  s.data = {42};
  put(d, "valid_scalar.npy", encode_npy(s));
  NpyArray<double> e;
  e.shape = {0, 7};
  put(d, "valid_empty.npy", encode_npy(e));

  auto raw = [](const std::string& header, std::size_t data_bytes, int major = 1) {
    Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
    if (major == 1) {
      b.push_back(static_cast<std::uint8_t>(header.size()));
      b.push_back(static_cast<std::uint8_t>(header.size() >> 8));
    } else {
      for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(header.size() >> (8 * i)));
    }
    b.insert(b.end(), header.begin(), header.end());
    for (std::size_t i = 0; i < data_bytes; ++i) b.push_back(static_cast<std::uint8_t>(i * 37));
    return b;
  };
  put(d, "valid_fortran_f8_3d.npy", raw("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 2), }\n", 96));
  put(d, "valid_fortran_f4_2d.npy", raw("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }\n", 24));
  put(d, "valid_v2.npy", raw("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16, 2));
  // Found by fuzz_npy_reader: converting this empty array to a matrix hung.
  put(d, "regression_hang_empty_huge_dim.npy",
      raw("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4611686018427387904), }\n", 0));
  put(d, "valid_v3.npy", raw("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }\n", 8, 3));
  put(d, "lying_shape.npy", raw("{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 1000), }\n", 16));
  put(d, "overflowing_shape.npy",
      raw("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }\n", 16));
  put(d, "negative_dim.npy", raw("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 2), }\n", 16));
  put(d, "big_endian.npy", raw("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }\n", 16));
  put(d, "int_dtype.npy", raw("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n", 8));
  put(d, "bad_header_syntax.npy", raw("{'descr': '<f8' 'fortran_order': False, 'shape': (2,), }\n", 16));
  Bytes b = raw("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16, 2);
  poke<std::uint32_t>(b, 8, 0xFFFFFFF0);
  put(d, "absurd_header_length.npy", b);
  b = encode_npy(matrix_to_npy(m));
  put(d, "truncated_data.npy", Bytes(b.begin(), b.end() - 9));
  put(d, "truncated_preamble.npy", Bytes(b.begin(), b.begin() + 7));

  const Bytes zip = encode_npz({npz_member("x", m), npz_member("y", v), npz_member("scalar", s)});
  put(d, "valid_archive.npz", zip);
  b = zip;
  b[100] ^= 1;
  put(d, "bad_crc.npz", b);
  put(d, "truncated_archive.npz", Bytes(zip.begin(), zip.end() - 10));
  b = zip;
  poke<std::uint16_t>(b, zip.size() - 22 + 10, 0xFFFF);  // entry count: a zip64 marker without zip64 records
  put(d, "zip64_marker_without_records.npz", b);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL_CORPUS_DIR NPY_CORPUS_DIR\n", argv[0]);
    return 2;
  }
  g_model_dir = argv[1];
  g_npy_dir = argv[2];
  try {
    models();
    npys();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_fuzz_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
