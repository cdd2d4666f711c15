// libFuzzer target: model files and checkpoints from arbitrary bytes. Every
// input must either load or be refused with a plexus::error; anything else
// (a crash, a sanitizer report, another exception, a huge allocation, a
// broken round trip) is a bug. Also built without libFuzzer as a corpus
// replayer (replay_main.cpp) for ctest.
#include <plexus/plexus.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace plexus;

// Stops the run loudly: the fuzzer and the replayer both report it.
void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_model_loader: property violated: %s\n", what);
    std::abort();
  }
}

template <typename T>
void exercise(const std::uint8_t* data, std::size_t size, const ModelInfo& info) {
  std::map<std::string, std::string> meta;
  Network<T> net = decode_model<T>(data, size, "<fuzz>", &meta);
  require(net.parameter_count() == info.parameter_count, "parameter count differs from peek");
  require(meta == info.metadata, "metadata differs from peek");

  // Saving what was loaded and loading it again gives the same network.
  const auto again = encode_model(net, meta);
  Network<T> net2 = decode_model<T>(again.data(), again.size(), "<fuzz round trip>");
  require(net2.parameter_count() == net.parameter_count() &&
              std::memcmp(net2.parameters().data(), net.parameters().data(),
                          sizeof(T) * static_cast<std::size_t>(net.parameter_count())) == 0,
          "parameters changed in a save/load round trip");
  require(spec_difference(net2.layers().spec(), net.layers().spec()).empty(), "architecture changed in a round trip");

  // A forward pass when the activations are small enough to be cheap.
  const SpecSummary sum = check_spec(info.architecture, info.input_width);
  if (sum.max_width <= 4096 && sum.parameter_count <= 100000 && sum.layer_count <= 1000) {
    Matrix<T> x = Matrix<T>::Constant(2, net.input_width(), T(0.5));
    const Matrix<T> y = net.predict(x);
    require(y.rows() == 2 && y.cols() == net.output_width(), "prediction has the wrong shape");
  }

  if (info.kind == FileKind::checkpoint) {
    std::unique_ptr<Optimizer<T>> opt;
    if (info.optimizer == "Adam") opt = std::make_unique<Adam<T>>(net);
    if (info.optimizer == "SGD") opt = std::make_unique<SGD<T>>(net);
    if (opt) {
      TrainingState state;
      try {
        decode_checkpoint(data, size, "<fuzz>", net, *opt, state);
        require(opt->steps() == info.optimizer_steps, "optimizer steps differ from peek");
      } catch (const io_error&) {
        // e.g. state vectors that do not fit this optimizer
      }
    }
  }
}

void check_one(const std::uint8_t* data, std::size_t size) {
  ModelInfo info;
  bool valid = false;
  try {
    info = decode_model_info(data, size, "<fuzz>");
    valid = true;
  } catch (const plexus::error&) {
  }
  if (valid) {
    // peek accepted it: loading with the file's type must succeed, the other type must be refused.
    if (info.scalar == ScalarType::float32) {
      exercise<float>(data, size, info);
      bool refused = false;
      try {
        decode_model<double>(data, size, "<fuzz>");
      } catch (const io_error&) {
        refused = true;
      }
      require(refused, "a float32 file loaded as double");
    } else {
      exercise<double>(data, size, info);
      bool refused = false;
      try {
        decode_model<float>(data, size, "<fuzz>");
      } catch (const io_error&) {
        refused = true;
      }
      require(refused, "a float64 file loaded as float");
    }
  } else {
    // peek refused it: so must every loader.
    for (int as_double = 0; as_double < 2; ++as_double) {
      bool refused = false;
      try {
        if (as_double) decode_model<double>(data, size, "<fuzz>");
        else decode_model<float>(data, size, "<fuzz>");
      } catch (const plexus::error&) {
        refused = true;
      }
      require(refused, "a file peek refused was loaded");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_one(data, size);
  // Random bytes almost never carry a valid CRC-64, so on their own they
  // would only exercise the header checks. A second pass gives the input a
  // consistent payload length and checksum, so the payload parser sees
  // every mutation too.
  constexpr std::size_t overhead = plexus::kModelHeaderBytes + plexus::kModelChecksumBytes;
  if (size >= overhead) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const std::uint64_t payload = size - overhead;
    std::memcpy(fixed.data() + 24, &payload, 8);
    const std::uint64_t crc = plexus::crc64(fixed.data(), size - 8);
    std::memcpy(fixed.data() + size - 8, &crc, 8);
    check_one(fixed.data(), fixed.size());
  }
  return 0;
}
