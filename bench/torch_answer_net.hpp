// The answer's network in torch::nn, shared by the LibTorch programs
// (plexus_torch_twin, plexus_torch_serving), and the loading of Plexus'
// parameters into it from an init file (init_file.hpp), so that each side
// runs the same weights as Plexus.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

// Dense(9 -> width, relu); blocks x Residual(layers x concat([x, relu(Dense(growth)(x))]), Dense(width, zeros));
// Dense(width -> 9): the same order of Linear modules as Plexus' parameters.
struct AnswerNet : torch::nn::Module {
  AnswerNet(int width, int growth, int blocks, int layers) : layers_(layers) {
    auto linear = [&](int in, int out, bool zero) {
      auto l = register_module("l" + std::to_string(all.size()), torch::nn::Linear(in, out));
      torch::NoGradGuard g;
      if (zero) l->weight.zero_();
      else torch::nn::init::xavier_uniform_(l->weight);
      l->bias.zero_();
      all.push_back(l);
    };
    linear(9, width, false);
    for (int b = 0; b < blocks; ++b) {
      for (int i = 0; i < layers; ++i) linear(width + i * growth, growth, false);
      linear(width + layers * growth, width, true);
    }
    linear(width, 9, false);
  }

  torch::Tensor forward(torch::Tensor x) {
    std::size_t at = 0;
    x = torch::relu(all[at++]->forward(x));
    const std::size_t blocks = (all.size() - 2) / static_cast<std::size_t>(layers_ + 1);
    for (std::size_t b = 0; b < blocks; ++b) {
      torch::Tensor skip = x;
      for (int i = 0; i < layers_; ++i) x = torch::cat({x, torch::relu(all[at++]->forward(x))}, 1);
      x = skip + all[at++]->forward(x);
    }
    return all[at]->forward(x);
  }

  std::vector<torch::nn::Linear> all;
  int layers_;
};

// Copies Plexus' parameters (each Dense's kernel, in x out column-major,
// which is torch's out x in weight row-major; then its bias) into `net`.
// Throws when the counts differ: a file from another architecture would
// otherwise load silently into the wrong shapes.
inline void load_plexus_params(AnswerNet& net, const std::vector<float>& params, const std::string& file) {
  std::size_t at = 0;
  torch::NoGradGuard g;
  for (auto& l : net.all)
    for (torch::Tensor* t : {&l->weight, &l->bias}) {
      const auto n = static_cast<std::size_t>(t->numel());
      if (at + n > params.size())
        throw std::runtime_error(file + " has " + std::to_string(params.size()) + " parameters, the network more");
      // from_blob does not copy; copy_ does, so `params` may go away after.
      t->copy_(torch::from_blob(const_cast<float*>(params.data() + at), t->sizes(), torch::kFloat32));
      at += n;
    }
  if (at != params.size())
    throw std::runtime_error(file + " has " + std::to_string(params.size()) + " parameters, the network " +
                             std::to_string(at));
}

}  // namespace bench
