// CSV files into matrices (header detection, label columns, separators,
// every refused input with its file, line and column), .npy into a matrix,
// and the seeded train/validation/test split.
#include "gradcheck.hpp"
#include "io_util.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <string>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using plexus_test::ScratchDir;
using MatD = Matrix<double>;

namespace {
void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
}  // namespace

TEST_CASE("read_csv: header detected, label column by name or index, CRLF and trailing empty lines") {
  ScratchDir dir;
  const std::string path = dir.file("iris.csv");
  write_text(path, "sepal, petal ,species\r\n5.1,1.4,0\r\n4.9,-1.5e-1,2\r\n+6,3,1\r\n\r\n\n");
  CsvOptions o;
  o.label_name = "species";
  const auto d = read_csv(path, o);
  CHECK(d.has_header);
  CHECK(d.features.rows() == 3);
  CHECK(d.features.cols() == 2);
  CHECK(d.labels.cols() == 1);
  CHECK(d.feature_names == std::vector<std::string>{"sepal", "petal"});
  CHECK(d.label_name == "species");
  MatD fx(3, 2), ly(3, 1);
  fx << 5.1, 1.4, 4.9, -0.15, 6, 3;
  ly << 0, 2, 1;
  CHECK(d.features == fx);
  CHECK(d.labels == ly);
  // the same column by index, into floats
  CsvOptions by_index;
  by_index.label_column = 2;
  const auto f = read_csv<float>(path, by_index);
  CHECK(f.features == fx.cast<float>());
  CHECK(f.labels == ly.cast<float>());
  // a label column in the middle, no header, another separator
  const std::string semi = dir.file("semi.csv");
  write_text(semi, "1;2;3\n4;5;6");
  CsvOptions mid;
  mid.separator = ';';
  mid.label_column = 1;
  const auto m = read_csv(semi, mid);
  CHECK(!m.has_header);
  CHECK(m.feature_names.empty());
  MatD mx(2, 2), my(2, 1);
  mx << 1, 3, 4, 6;
  my << 2, 5;
  CHECK(m.features == mx);
  CHECK(m.labels == my);
  // no label column: every column a feature, labels n x 0
  const auto all = read_csv(semi, CsvOptions{';'});
  CHECK(all.features.cols() == 3);
  CHECK(all.labels.rows() == 2);
  CHECK(all.labels.cols() == 0);
}

TEST_CASE("read_csv: the header flag overrides detection") {
  CsvOptions present;
  present.header = CsvHeader::present;
  const auto d = parse_csv("1,2\n3,4\n", present);  // numeric column names
  CHECK(d.feature_names == std::vector<std::string>{"1", "2"});
  CHECK(d.features.rows() == 1);
  CsvOptions absent;
  absent.header = CsvHeader::absent;
  CHECK(has(message_of([&] { parse_csv("a,b\n3,4\n", absent); }), "line 1, column 0: \"a\" is not a number"));
  CHECK(parse_csv("3,4\n").features.rows() == 1);
  CHECK(!parse_csv("3,4\n").has_header);
}

TEST_CASE("read_csv: every refused input names the file, the line and the column") {
  ScratchDir dir;
  auto message = [&](const std::string& text, CsvOptions o = {}) {
    const std::string path = dir.file("bad.csv");
    write_text(path, text);
    return message_of([&] { read_csv(path, o); });
  };
  const std::string file = "read_csv: '" + dir.file("bad.csv") + "'";
  std::string msg = message("x,y,z\n1,2,3\n4,abc,6\n");
  INFO(msg);
  CHECK(has(msg, file + ", line 3, column 1 (\"y\"): \"abc\" is not a number"));
  CHECK(has(message("x,y,z\n1,2,3\n4,5\n"), file + ", line 3: 2 fields, but the header has 3"));
  CHECK(has(message("1,2,3\n4,5,6,7\n"), file + ", line 2: 4 fields, but line 1 has 3"));
  CHECK(has(message("x,y\n1,\"2\"\n"), file + ", line 2, column 1 (\"y\"): quoted fields are not supported"));
  CHECK(has(message("\"x\",y\n1,2\n"), "line 1, column 0: quoted fields are not supported"));
  CHECK(has(message("x,y\n1,2\n\n3,4\n"), file + ", line 3: the line is empty"));
  CHECK(has(message("x,y\n1,\n"), file + ", line 2, column 1 (\"y\"): the cell is empty"));
  CHECK(has(message("x,y\n1,nan\n"), "column 1 (\"y\"): \"nan\" is not a finite number"));
  CHECK(has(message("x,y\n1,+-2\n"), "\"+-2\" is not a number"));
  CHECK(has(message("a,2,c\n1,2,3\n"), "line 1: column 0 (\"a\") is not a number but column 1 (\"2\") is"));
  CHECK(has(message(""), file + ": no data (the file is empty)"));
  CHECK(has(message("x,y\n\n"), file + ": no data rows after the header line"));
  CsvOptions o;
  o.label_name = "w";
  CHECK(has(message("x,y\n1,2\n", o), file + ": no column is called \"w\"; the header has \"x\", \"y\""));
  CHECK(has(message("1,2\n", o), "the label column is given by name (\"w\") but the file has no header line"));
  CsvOptions i;
  i.label_column = 2;
  CHECK(has(message("1,2\n", i), file + ": label column 2 does not exist; line 1 has 2 columns (0 to 1)"));
  write_text(dir.file("bad.csv"), "x\nabc\n");
  i.label_name = "x";
  CHECK_THROWS_AS(read_csv(dir.file("bad.csv"), i), value_error);
  CHECK_THROWS_AS(read_csv(dir.file("bad.csv"), CsvOptions{'.'}), value_error);
  CHECK_THROWS_AS(read_csv(dir.file("bad.csv"), CsvOptions{'"'}), value_error);
  // content errors are io_error; a missing file names itself
  CHECK_THROWS_AS(read_csv(dir.file("bad.csv")), io_error);
  msg = message_of([&] { read_csv(dir.file("missing.csv")); });
  CHECK(has(msg, "read_csv: cannot open '" + dir.file("missing.csv") + "'"));
}

TEST_CASE("read_matrix_npy reads what matrix_to_npy wrote") {
  ScratchDir dir;
  const MatD m = plexus_test::random_matrix(4, 3, 1);
  write_npy(dir.file("m.npy"), matrix_to_npy(m));
  CHECK(read_matrix_npy(dir.file("m.npy")) == m);
  CHECK(read_matrix_npy<float>(dir.file("m.npy")) == m.cast<float>());
}

TEST_CASE("split_rows: in order like Keras' validation_split, or shuffled from a seed") {
  MatD x(10, 2), y(10, 1);
  for (Index i = 0; i < 10; ++i) {
    x(i, 0) = i;
    x(i, 1) = 100 + i;
    y(i, 0) = -i;
  }
  // unshuffled: the last 20% is validation (Keras: split_at = floor(10 * 0.8))
  auto parts = split_rows(x, y, {0.8, 0.2}, 0, false);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].x == x.topRows(8));
  CHECK(parts[1].x == x.bottomRows(2));
  CHECK(parts[1].y == y.bottomRows(2));
  // 7 rows: floor(5.6) = 5 for training, 2 for validation
  CHECK(split_rows<double>(x.topRows(7), y.topRows(7), {0.8, 0.2}, 0, false)[0].x.rows() == 5);
  // three parts whose running sum rounds below (0.7 + 0.1 = 0.7999...)
  auto three = split_rows(x, y, {0.7, 0.1, 0.2}, 0, false);
  CHECK(three[0].x.rows() == 7);
  CHECK(three[1].x.rows() == 1);
  CHECK(three[2].x.rows() == 2);
  // shuffled: a permutation, rows kept together, the same for the same seed
  auto a = split_rows(x, y, {0.5, 0.3, 0.2}, 42), b = split_rows(x, y, {0.5, 0.3, 0.2}, 42);
  auto c = split_rows(x, y, {0.5, 0.3, 0.2}, 43);
  std::set<double> seen;
  for (const auto& p : a)
    for (Index r = 0; r < p.x.rows(); ++r) {
      seen.insert(p.x(r, 0));
      CHECK(p.x(r, 1) == 100 + p.x(r, 0));
      CHECK(p.y(r, 0) == -p.x(r, 0));
    }
  CHECK(seen.size() == 10);
  CHECK(a[0].x == b[0].x);
  CHECK(a[2].y == b[2].y);
  CHECK(!(a[0].x == c[0].x));
  CHECK(!(a[0].x == x.topRows(5)));
  // errors
  CHECK(has(message_of([&] {
              split_rows<double>(x, y.topRows(9), {0.5, 0.5});
            }),
            "split_rows: the inputs are 10x2 but the targets are 9x1"));
  CHECK(has(message_of([&] { split_rows(x, y, {0.5, 0.4}); }), "the fractions sum to 0.9, not 1"));
  CHECK(has(message_of([&] { split_rows(x, y, {1.0, 0.0}); }), "every fraction must be > 0, got 0"));
  CHECK(has(message_of([&] {
              split_rows(x, y, {0.05, 0.95});
            }),
            "part 0 (fraction 0.05) of 10 rows would have no rows"));
  CHECK_THROWS_AS(split_rows(x, y, {}), value_error);
}

TEST_CASE("parse_csv and read_csv: a refusal names the function that was called") {
  ScratchDir dir;
  const std::string path = dir.file("bad.csv");
  write_text(path, "x,y\n1,abc\n");
  CHECK(message_of([&] { parse_csv("x,y\n1,abc\n"); }).rfind("parse_csv: <text>, line 2", 0) == 0);
  CHECK(message_of([&] { parse_csv("1,2\n", CsvOptions{'.'}, "<mine>"); }).rfind("parse_csv: <mine>: ", 0) == 0);
  CHECK(message_of([&] { read_csv(path); }).rfind("read_csv: '" + path + "', line 2", 0) == 0);
}
