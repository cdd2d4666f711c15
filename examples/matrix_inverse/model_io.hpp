// TEMPORARY (development): replaced once the model-file library lands.
#pragma once
#include "recipes.hpp"
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>
namespace mi {
struct ModelMeta {
  std::string recipe;
  Convention conv;
  plexus::InverseDistribution distribution = plexus::InverseDistribution::answer;
  std::map<std::string, std::string> extra;
};
inline void write_text(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  { std::ofstream f(tmp, std::ios::binary); f << text; if (!f) throw std::runtime_error("cannot write " + tmp); }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp);
}
template <typename T>
void save_inverse_model(const plexus::Network<T>&, const std::string&, const ModelMeta&) {
  throw std::runtime_error("model files are not available yet");
}
inline int cmd_predict(const std::vector<std::string>&) { throw std::runtime_error("predict: not available yet"); }
inline int cmd_evaluate(const std::vector<std::string>&) { throw std::runtime_error("evaluate: not available yet"); }
}  // namespace mi
