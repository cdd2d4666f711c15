// The file plexus_compare --init-out writes and the PyTorch and LibTorch
// twins read, so that all three train from the same weights and check that
// their first step's loss agrees. Little-endian, no padding:
//   "PLXINIT1"; int64 parameters, rows, input width, output width;
//   float32 parameters in Plexus' order (each Dense: its kernel, in x out
//   column-major, which is torch's out x in weight row-major; then its bias);
//   float32 inputs and targets of the first batch, row-major; float64 the
//   loss of Plexus' first step on that batch. plexus_serving --init-out
//   writes the same layout for the serving benchmark: its weights, 64
//   inputs, Plexus' outputs for them as the targets, and a loss of 0.
#pragma once

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

struct InitFile {
  std::vector<float> params, x, y;  // x, y: rows x in / rows x out, row-major
  std::int64_t rows = 0, in = 0, out = 0;
  double first_loss = 0;
};

template <typename Params, typename Mat>
void write_init_file(const std::string& path, const Params& params, const Mat& x, const Mat& y, double first_loss) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  const std::int64_t head[4] = {static_cast<std::int64_t>(params.size()), static_cast<std::int64_t>(x.rows()),
                                static_cast<std::int64_t>(x.cols()), static_cast<std::int64_t>(y.cols())};
  bool ok = std::fwrite("PLXINIT1", 1, 8, f) == 8 && std::fwrite(head, sizeof head, 1, f) == 1;
  for (std::int64_t i = 0; ok && i < head[0]; ++i) {
    const float v = static_cast<float>(params[i]);
    ok = std::fwrite(&v, sizeof v, 1, f) == 1;
  }
  for (const Mat* m : {&x, &y})
    for (std::int64_t r = 0; ok && r < m->rows(); ++r)
      for (std::int64_t c = 0; ok && c < m->cols(); ++c) {
        const float v = static_cast<float>((*m)(r, c));
        ok = std::fwrite(&v, sizeof v, 1, f) == 1;
      }
  ok = ok && std::fwrite(&first_loss, sizeof first_loss, 1, f) == 1;
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("failed writing " + path);
}

inline InitFile read_init_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot read " + path);
  InitFile r;
  char magic[8];
  std::int64_t head[4];
  bool ok = std::fread(magic, 1, 8, f) == 8 && std::string(magic, 8) == "PLXINIT1" &&
            std::fread(head, sizeof head, 1, f) == 1 && head[0] > 0 && head[1] > 0 && head[2] > 0 && head[3] > 0;
  if (ok) {
    r.rows = head[1], r.in = head[2], r.out = head[3];
    r.params.resize(static_cast<std::size_t>(head[0]));
    r.x.resize(static_cast<std::size_t>(r.rows * r.in));
    r.y.resize(static_cast<std::size_t>(r.rows * r.out));
    ok = std::fread(r.params.data(), sizeof(float), r.params.size(), f) == r.params.size() &&
         std::fread(r.x.data(), sizeof(float), r.x.size(), f) == r.x.size() &&
         std::fread(r.y.data(), sizeof(float), r.y.size(), f) == r.y.size() &&
         std::fread(&r.first_loss, sizeof r.first_loss, 1, f) == 1;
  }
  std::fclose(f);
  if (!ok) throw std::runtime_error(path + " is not a plexus_compare --init-out file (or is truncated)");
  return r;
}

}  // namespace bench
