// .npy and .npz: round trips, files written by NumPy itself
// (tests/data/numpy, made by make_numpy_fixtures.py), and refusal of every
// kind of bad header or archive with a clear message.
#include "io_util.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using plexus_test::peek;
using plexus_test::poke;
using plexus_test::ScratchDir;
using plexus_test::slurp;
using plexus_test::spit;

#ifndef PLEXUS_TEST_DATA_DIR
#error "PLEXUS_TEST_DATA_DIR must name tests/data"
#endif

namespace {

const std::string kNumpyDir = std::string(PLEXUS_TEST_DATA_DIR) + "/numpy/";

// The values make_numpy_fixtures.py stores: arange(n) * 0.5 - 3 in C order.
std::vector<double> fixture_values(std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i) * 0.5 - 3.0;
  return v;
}

// A .npy file with an arbitrary header text and data bytes, as a hostile or
// foreign writer could produce it.
std::vector<std::uint8_t> raw_npy(const std::string& header, const std::vector<std::uint8_t>& data, int major = 1) {
  std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  if (major == 1) {
    b.push_back(static_cast<std::uint8_t>(header.size() & 0xFF));
    b.push_back(static_cast<std::uint8_t>(header.size() >> 8));
  } else {
    const auto n = static_cast<std::uint32_t>(header.size());
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  }
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

template <typename T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<std::uint8_t> b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

template <typename T>
NpyArray<T> decode(const std::vector<std::uint8_t>& b) {
  return decode_npy<T>(b.data(), b.size(), "<test>");
}

}  // namespace

TEST_CASE_TEMPLATE("npy: round trips in float32 and float64, 0 to 3 dimensions", T, float, double) {
  ScratchDir dir;
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {7}, {3, 5}, {2, 3, 4}, {0}, {4, 0, 2}, {1, 1, 1}};
  for (const auto& shape : shapes) {
    for (NpyType type : {NpyType::float32, NpyType::float64}) {
      NpyArray<T> a;
      a.shape = shape;
      a.data.resize(static_cast<std::size_t>(a.size()));
      Rng rng(static_cast<std::uint64_t>(a.data.size()));
      for (auto& v : a.data) v = static_cast<T>(rng.uniform(-10, 10));
      const std::string path = dir.file("a.npy");
      write_npy(path, a, type);
      const auto bytes = slurp(path);
      CHECK((bytes.size() - a.data.size() * (type == NpyType::float32 ? 4 : 8)) % 64 == 0);  // NumPy's alignment
      const auto back = read_npy<T>(path);
      CHECK(back.shape == shape);
      CHECK(back.dtype == (type == NpyType::float32 ? "<f4" : "<f8"));
      CHECK_FALSE(back.fortran_order);
      REQUIRE(back.data.size() == a.data.size());
      for (std::size_t i = 0; i < a.data.size(); ++i) {
        // float64 files keep every bit; float32 files keep what float keeps.
        const T want = type == NpyType::float32 ? static_cast<T>(static_cast<float>(a.data[i])) : a.data[i];
        CHECK(back.data[i] == want);
      }
      // Reading the other type converts.
      const auto as_double = read_npy<double>(path);
      CHECK(as_double.data.size() == a.data.size());
    }
  }
}

TEST_CASE("npy: Fortran order is read into C order, for any number of dimensions") {
  // Shape (2, 3, 4) stored in Fortran order: the file's k-th value is element
  // (i, j, l) with k = i + 2 * (j + 3 * l).
  std::vector<double> fortran(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int l = 0; l < 4; ++l) fortran[static_cast<std::size_t>(i + 2 * (j + 3 * l))] = 100 * i + 10 * j + l;
  const auto a =
      decode<double>(raw_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }\n", bytes_of(fortran)));
  CHECK(a.fortran_order);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int l = 0; l < 4; ++l) CHECK(a.data[static_cast<std::size_t>((i * 3 + j) * 4 + l)] == 100 * i + 10 * j + l);

  std::vector<float> f2 = {1, 4, 2, 5, 3, 6};  // [[1 2 3] [4 5 6]] in Fortran order
  const auto b = decode<float>(raw_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", bytes_of(f2)));
  CHECK(b.data == std::vector<float>{1, 2, 3, 4, 5, 6});
  const auto c = decode<float>(raw_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }", bytes_of(f2)));
  CHECK(c.data == f2);
}

TEST_CASE("npy: files written by NumPy") {
  auto check_values = [](const auto& a, std::vector<std::int64_t> shape) {
    CHECK(a.shape == shape);
    const auto want = fixture_values(a.data.size());
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(static_cast<double>(a.data[i]) == want[i]);
  };
  check_values(read_npy<double>(kNumpyDir + "c_f8_3d.npy"), {2, 3, 4});
  check_values(read_npy<float>(kNumpyDir + "fortran_f4_3d.npy"), {2, 3, 4});
  CHECK(read_npy<float>(kNumpyDir + "fortran_f4_3d.npy").fortran_order);
  check_values(read_npy<double>(kNumpyDir + "fortran_f8_2d.npy"), {3, 4});
  check_values(read_npy<float>(kNumpyDir + "c_f4_1d.npy"), {5});
  check_values(read_npy<double>(kNumpyDir + "scalar_f8.npy"), {});
  check_values(read_npy<float>(kNumpyDir + "empty_f4.npy"), {0, 3});
  check_values(read_npy<double>(kNumpyDir + "v2_f8.npy"), {2, 2});
  check_values(read_npy<float>(kNumpyDir + "v3_f4.npy"), {3});

  const auto be = message_of([] { read_npy<double>(kNumpyDir + "bigendian_f8.npy"); });
  INFO(be);
  CHECK(has(be, "big-endian dtype '>f8' is not supported"));
  CHECK(has(be, "bigendian_f8.npy"));
  const auto i8 = message_of([] { read_npy<double>(kNumpyDir + "int64.npy"); });
  INFO(i8);
  CHECK(has(i8, "dtype '<i8' is not supported"));

  const auto names = list_npz(kNumpyDir + "savez.npz");
  REQUIRE(names.size() == 2);
  CHECK(names[0].name == "x");
  CHECK(names[1].file_name == "y.npy");
  check_values(read_npz<double>(kNumpyDir + "savez.npz", "x"), {2, 3, 4});
  check_values(read_npz<float>(kNumpyDir + "savez.npz", "y.npy"), {5});
  const auto all = read_npz_all<double>(kNumpyDir + "savez.npz");
  CHECK(all.size() == 2);
  CHECK(all.at("y").dtype == "<f4");

  const auto z = message_of([] { read_npz<double>(kNumpyDir + "savez_compressed.npz", "x"); });
  INFO(z);
  CHECK(has(z, "is compressed"));
  CHECK(has(z, "deflate"));
  CHECK(has(z, "only uncompressed .npz files are supported"));
  CHECK(has(z, "savez_compressed.npz"));
}

TEST_CASE("npy: the dtype's byte-order variants") {
  const std::vector<float> v = {1.5f, -2};
  for (const char* d : {"<f4", "=f4", "|f4", "f4"}) {
    CAPTURE(d);
    const auto a = decode<double>(
        raw_npy(std::string("{'descr': '") + d + "', 'fortran_order': False, 'shape': (2,)}", bytes_of(v)));
    CHECK(a.data == std::vector<double>{1.5, -2});
  }
  const auto msg = message_of(
      [&] { decode<double>(raw_npy("{\"descr\": \">f4\", \"fortran_order\": False, \"shape\": (2,)}", bytes_of(v))); });
  CHECK(has(msg, "big-endian dtype '>f4'"));
  CHECK(has(message_of([&] { decode<double>(raw_npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2,)}", {})); }),
            "dtype '<f2' is not supported"));
  CHECK(has(message_of([&] {
              decode<double>(raw_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", {}));
            }),
            "structured dtypes"));
}

TEST_CASE("npy: lying or malformed headers are refused, never over-read or over-allocated") {
  const std::vector<double> six = {1, 2, 3, 4, 5, 6};
  auto refused = [](const std::vector<std::uint8_t>& b, const std::string& part) {
    const auto msg = message_of([&] { decode<double>(b); });
    INFO("expected '" << part << "' in: " << msg);
    CHECK(has(msg, part));
    CHECK(has(msg, "<test>"));
    CHECK_THROWS_AS(decode<double>(b), io_error);
  };
  const std::string ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK_NOTHROW(decode<double>(raw_npy(ok, bytes_of(six))));

  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), }", bytes_of(six)),
          "truncated .npy data: shape (2, 4) of '<f8' needs 8 x 8 bytes but only 48");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }",
                  bytes_of(six)),
          "overflows 64 bits");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2147483648, 2147483648), }", {}),
          "truncated .npy data");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-2, 3), }", bytes_of(six)), "negative dimension");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", {}),
          "does not fit in 64 bits");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytes_of(six)),
          "24 unexpected bytes after the data");
  refused(raw_npy("{'descr': '<f8', 'shape': (6,), }", bytes_of(six)), "lacks the key 'fortran_order'");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'extra': 1}", bytes_of(six)),
          "unexpected key 'extra'");
  refused(raw_npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (6,)}", bytes_of(six)),
          "appears twice");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (6,)}", bytes_of(six)), "True or False");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)", bytes_of(six)), "expected");
  refused(raw_npy("{'descr': '<f8, 'fortran_order': False, 'shape': (6,)}", bytes_of(six)), "bad .npy header");
  refused(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)} x", bytes_of(six)), "after the closing");
  std::string many = "{'descr': '<f8', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 65; ++i) many += "1,";
  refused(raw_npy(many + "), }", {}), "more than 64 dimensions");

  // The header length itself lies.
  auto b = raw_npy(ok, bytes_of(six));
  poke<std::uint16_t>(b, 8, 0xFFFF);
  refused(b, "the header is said to be 65535 bytes");
  b = raw_npy(ok, bytes_of(six), 2);
  poke<std::uint32_t>(b, 8, 0xFFFFFFFF);
  refused(b, "absurd .npy header length 4294967295");
  b = raw_npy(ok, bytes_of(six), 3);
  poke<std::uint32_t>(b, 8, 5000);
  refused(b, "the header is said to be 5000 bytes");

  b = raw_npy(ok, bytes_of(six));
  b[6] = 4;
  refused(b, "unsupported .npy format version 4.0");
  b[0] = 'X';
  refused(b, "not a .npy file");
  refused({}, "empty");

  // Every prefix of a good file is refused (as truncated or as a bad header).
  const auto good = raw_npy(ok, bytes_of(six));
  for (std::size_t len = 0; len < good.size(); ++len) {
    CAPTURE(len);
    CHECK_THROWS_AS(decode_npy<double>(good.data(), len, "<prefix>"), io_error);
  }
}

TEST_CASE("npy: empty arrays with a huge other dimension (found by fuzz_npy_reader: a hang)") {
  // Shape (0, 2^62) holds no element and is valid; Eigen used to walk its
  // 2^62 empty columns when the helpers copied it into a matrix.
  const auto a =
      decode<double>(raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4611686018427387904), }", {}));
  CHECK(a.data.empty());
  const Matrix<double> m = npy_to_matrix(a);
  CHECK(m.rows() == 0);
  CHECK(m.cols() == Index(1) << 62);
  CHECK(npy_to_matrix(a, Index(1) << 62, 0).size() == 0);
  CHECK_THROWS_AS(npy_to_matrix(a, Index(1) << 32, Index(1) << 32), shape_error);  // 2^64 wraps to 0: refused
  const auto b =
      decode<double>(raw_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 0, 4611686018427387904), }", {}));
  CHECK(npy_sample(b, 0).cols() == Index(1) << 62);
  NpyArray<double> lie;
  lie.shape = {Index(1) << 62, 4};
  CHECK_THROWS_AS(lie.size(), value_error);
}

TEST_CASE("npy: Eigen helpers") {
  NpyArray<double> a = read_npy<double>(kNumpyDir + "c_f8_3d.npy");  // (2, 3, 4)
  const Matrix<double> m = npy_to_matrix(a);
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 12);
  CHECK(m(1, 0) == a.data[12]);
  CHECK(m(0, 5) == a.data[5]);
  const Matrix<double> s = npy_sample(a, 1);
  CHECK(s.rows() == 3);
  CHECK(s.cols() == 4);
  CHECK(s(2, 1) == a.data[12 + 2 * 4 + 1]);
  CHECK(npy_to_matrix(a, 6, 4)(5, 3) == a.data[23]);
  CHECK_THROWS_AS(npy_to_matrix(a, 5, 5), shape_error);
  CHECK_THROWS_AS(npy_sample(a, 2), shape_error);

  // matrix_to_npy is the inverse, with or without a sample shape.
  const auto back = matrix_to_npy(m, {2, 3, 4});
  CHECK(back.shape == a.shape);
  CHECK(back.data == a.data);
  CHECK(matrix_to_npy(m).shape == std::vector<std::int64_t>{2, 12});
  CHECK_THROWS_AS(matrix_to_npy(m, {2, 5}), shape_error);
  CHECK(npy_to_matrix(read_npy<double>(kNumpyDir + "c_f4_1d.npy")).cols() == 1);
}

TEST_CASE("npz: round trip of several arrays of both types, written atomically") {
  ScratchDir dir;
  Matrix<double> x(4, 9);
  Matrix<float> y(4, 9);
  for (Index i = 0; i < x.size(); ++i) {
    x.data()[i] = 0.25 * static_cast<double>(i);
    y.data()[i] = -static_cast<float>(i);
  }
  NpyArray<float> z;
  z.shape = {3};
  z.data = {1, 2, 3};
  const std::string path = dir.file("d.npz");
  write_npz(path, {npz_member("x", x), npz_member("y", y), npz_member("z", z, NpyType::float64)});
  CHECK(dir.files().size() == 1);
  const auto entries = list_npz(path);
  REQUIRE(entries.size() == 3);
  CHECK(entries[2].file_name == "z.npy");
  CHECK(entries[0].method == 0);
  CHECK(npy_to_matrix(read_npz<double>(path, "x")) == x);
  const auto yy = read_npz<float>(path, "y");
  CHECK(yy.dtype == "<f4");
  CHECK(npy_to_matrix(yy) == y);
  CHECK(read_npz<double>(path, "z").dtype == "<f8");
  CHECK(read_npz<double>(path, "z").data == std::vector<double>{1, 2, 3});
  const auto missing = message_of([&] { read_npz<double>(path, "w"); });
  INFO(missing);
  CHECK(has(missing, "no array 'w'"));
  CHECK(has(missing, "x, y, z"));

  CHECK(has(message_of([&] {
              write_npz(dir.file("e.npz"), {npz_member("x", x), npz_member("x", y)});
            }),
            "two arrays are called 'x'"));
  CHECK(has(message_of([&] { write_npz(dir.file("e.npz"), {npz_member("", x)}); }), "empty"));
  write_npz(dir.file("empty.npz"), {});
  CHECK(list_npz(dir.file("empty.npz")).empty());
}

TEST_CASE("npz: damaged or lying archives are refused") {
  Matrix<double> x = Matrix<double>::Constant(3, 2, 1.5);
  const auto good = encode_npz({npz_member("x", x), npz_member("y", x)});
  auto refused = [](const std::vector<std::uint8_t>& b, const std::string& part) {
    const auto msg = message_of([&] { decode_npz<double>(b.data(), b.size(), "y", "<zip>"); });
    INFO("expected '" << part << "' in: " << msg);
    CHECK(has(msg, part));
    CHECK(has(msg, "<zip>"));
  };
  CHECK(decode_npz<double>(good.data(), good.size(), "y", "<zip>").data.size() == 6);

  // The second entry's data: a flipped byte fails its CRC-32.
  const auto entries = npz_entries(good.data(), good.size(), "<zip>");
  auto b = good;
  b[static_cast<std::size_t>(entries[1].local_offset) + 30 + 5 + 100] ^= 4;
  refused(b, "CRC-32 mismatch");

  const std::size_t eocd = good.size() - 22;
  b = good;
  poke<std::uint32_t>(b, eocd + 16, 0x7FFFFFF0);  // central directory offset
  refused(b, "lies outside");
  b = good;
  poke<std::uint16_t>(b, eocd + 10, 5000);  // entry count
  refused(b, "the entry count claims 5000 items");
  b = good;
  const std::size_t cd = peek<std::uint32_t>(good, eocd + 16);
  poke<std::uint32_t>(b, cd + 46 + 5 + 42, 0x7FFFFF00);  // second entry's local header offset
  refused(b, "lies outside");
  b = good;
  poke<std::uint32_t>(b, cd + 46 + 5 + 20, 0x7FFFFF00);  // second entry's sizes
  poke<std::uint32_t>(b, cd + 46 + 5 + 24, 0x7FFFFF00);
  refused(b, "truncated: the entry is 2147483392 bytes");
  b = good;
  poke<std::uint32_t>(b, cd + 46 + 5 + 20, 0xFFFFFFFF);  // zip64 marker without the extra field
  poke<std::uint32_t>(b, cd + 46 + 5 + 24, 0xFFFFFFFF);
  refused(b, "needs a zip64 extra field");
  b = good;
  poke<std::uint16_t>(b, cd + 46 + 5 + 10, 8);  // second entry says deflate
  refused(b, "only uncompressed .npz files are supported");
  b = good;
  b.push_back(0);
  refused(b, "no end-of-central-directory record");

  for (std::size_t len = 0; len < good.size(); ++len) {
    CAPTURE(len);
    CHECK_THROWS_AS(decode_npz<double>(good.data(), len, "y", "<prefix>"), io_error);
  }
}

TEST_CASE("fuzz seeds: valid .npy/.npz seeds read, damaged ones are refused") {
  const std::string dir = std::string(PLEXUS_FUZZ_CORPUS_DIR) + "/npy/";
  const std::map<std::string, std::string> refused = {
      {"absurd_header_length.npy", "absurd .npy header length"},
      {"bad_header_syntax.npy", "expected ',' or '}'"},
      {"big_endian.npy", "big-endian dtype '>f8'"},
      {"int_dtype.npy", "dtype '<i4' is not supported"},
      {"lying_shape.npy", "needs 1000000 x 8 bytes but only 16"},
      {"negative_dim.npy", "negative dimension"},
      {"overflowing_shape.npy", "overflows 64 bits"},
      {"truncated_data.npy", "truncated .npy data"},
      {"truncated_preamble.npy", "shorter than the 10-byte preamble"},
  };
  CHECK(npy_to_matrix(read_npy<double>(dir + "regression_hang_empty_huge_dim.npy")).rows() == 0);
  for (const auto& [name, part] : refused) {
    const auto msg = message_of([&] { read_npy<double>(dir + name); });
    INFO(name << ": " << msg);
    CHECK(has(msg, part));
  }
  for (const char* name :
       {"valid_empty.npy", "valid_f4_1d.npy", "valid_f4_2d.npy", "valid_f8_2d.npy", "valid_f8_3d.npy",
        "valid_fortran_f4_2d.npy", "valid_fortran_f8_3d.npy", "valid_scalar.npy", "valid_v2.npy", "valid_v3.npy"})
    CHECK_NOTHROW(read_npy<float>(dir + name));
  CHECK(read_npz_all<double>(dir + "valid_archive.npz").size() == 3);
  CHECK(has(message_of([&] { read_npz<double>(dir + "bad_crc.npz", "x"); }), "CRC-32 mismatch"));
  CHECK(has(message_of([&] { list_npz(dir + "truncated_archive.npz"); }), "no end-of-central-directory"));
  CHECK(has(message_of([&] { list_npz(dir + "zip64_marker_without_records.npz"); }), "no zip64 locator"));
}

TEST_CASE("npy and npz writers: a refusal names the function that was called") {
  ScratchDir dir;
  NpyArray<double> lie;  // a shape that does not match its data
  lie.shape = {2, 3};
  lie.data = {1, 2};
  auto starts = [](const std::string& msg, const std::string& fn) {
    INFO(msg);
    return msg.rfind(fn + ": ", 0) == 0;
  };
  CHECK(starts(message_of([&] { encode_npy(lie); }), "encode_npy"));
  CHECK(starts(message_of([&] { write_npy(dir.file("a.npy"), lie); }), "write_npy"));
  CHECK(starts(message_of([&] { npz_member("a", lie); }), "npz_member"));
  const Matrix<double> x = Matrix<double>::Zero(2, 2);
  const std::vector<NpzMember> twice = {npz_member("x", x), npz_member("x", x)};
  CHECK(starts(message_of([&] { encode_npz(twice); }), "encode_npz"));
  CHECK(starts(message_of([&] { write_npz(dir.file("a.npz"), twice); }), "write_npz"));
  // An empty path is refused without naming write_file_atomic, which the caller did not call.
  const std::string empty_path = message_of([&] { write_npz("", {}); });
  CHECK(has(empty_path, "the path is empty"));
  CHECK(!has(empty_path, "write_file_atomic"));
  CHECK(dir.files().empty());
}
