// Helpers for the io tests: scratch directories, raw file access, a network
// that uses every layer kind, and catching an error's message.
#pragma once

#include <plexus/plexus.hpp>

#include "messages.hpp"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace plexus_test {

// A fresh directory under $TMPDIR (or /tmp), removed with its files at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/plexus_io_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~ScratchDir() {
    for (const auto& f : files()) std::remove((path_ + "/" + f).c_str());
    ::rmdir(path_.c_str());
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }
  // Names of the directory's entries, "." and ".." excluded.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
      }
      ::closedir(d);
    }
    return out;
  }

 private:
  std::string path_;
};

// Same shape and the same bits (NaNs and signed zeros included).
template <typename T>
bool same_bits(const plexus::Matrix<T>& a, const plexus::Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
}
template <typename T>
bool same_bits(const plexus::Vector<T>& a, const plexus::Vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
}

inline std::vector<std::uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void spit(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Every layer kind: Dense (each activation and initialiser), Activation,
// nested Sequential, Concat (chained, so the zero-copy path is used) and Residual.
template <typename T>
plexus::Network<T> every_kind_net(int width = 12) {
  using namespace plexus;
  Network<T> net;
  net.add(Dense<T>(width, Activation::relu, Init::he_normal));
  Sequential<T> body;
  body.add(Concat<T>(Dense<T>(5, Activation::tanh, Init::torch_default, Init::torch_default)));
  body.add(Concat<T>(Dense<T>(4, Activation::sigmoid, Init::he_uniform)));
  body.add(ActivationLayer<T>(Activation::tanh));
  body.add(Dense<T>(width, Activation::identity, Init::glorot_uniform, Init::glorot_uniform));
  net.add(Residual<T>(std::move(body)));
  Sequential<T> inner;
  inner.add(ActivationLayer<T>(Activation::relu));
  inner.add(Dense<T>(7, Activation::tanh));
  net.add(std::move(inner));
  net.add(Concat<T>(ActivationLayer<T>(Activation::sigmoid)));
  net.add(Dense<T>(6, leaky_relu(0.3)));
  net.add(ActivationLayer<T>(elu(0.5)));
  net.add(Dense<T>(5, Activation::gelu));
  net.add(SiLU<T>());
  net.add(Dense<T>(4, Activation::softplus));
  net.add(Dense<T>(3));
  return net;
}

// A network whose parameters are all nonzero and distinct, so a swapped or
// lost value shows up.
template <typename T>
plexus::Network<T> every_kind_net_built(std::uint64_t seed = 7, int input_width = 6) {
  auto net = every_kind_net<T>();
  net.build(input_width, seed);
  plexus::Rng rng(seed + 1000);
  for (plexus::Index i = 0; i < net.parameter_count(); ++i)
    net.parameters()[i] = static_cast<T>(rng.uniform(-1.0, 1.0));
  return net;
}

// Bytes of a little-endian value at `at`.
template <typename U>
void poke(std::vector<std::uint8_t>& b, std::size_t at, U v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}
template <typename U>
U peek(const std::vector<std::uint8_t>& b, std::size_t at) {
  U v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

// Recomputes the CRC-64 trailer of a Plexus file after an edit, so that the
// parser itself (not the checksum) must catch the damage.
inline void reseal(std::vector<std::uint8_t>& b) {
  const std::size_t covered = b.size() - 8;
  poke<std::uint64_t>(b, covered, plexus::crc64(b.data(), covered));
}

}  // namespace plexus_test
