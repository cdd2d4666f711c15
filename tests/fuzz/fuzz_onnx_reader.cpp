// libFuzzer target: the ONNX importer on arbitrary bytes (the protobuf
// reader, the model decoder, the graph checks and the pattern matching).
// Every input must be imported or refused with a plexus::error; a crash, a
// sanitizer report, another exception, a huge allocation or a network that
// does not survive export -> import bit for bit is a bug.
// Also built without libFuzzer as a corpus replayer (replay_main.cpp).
// The umbrella header, not only <plexus/io/onnx.hpp>: the replayer links the
// compiled library, whose extern declarations come with plexus.hpp (the
// ONNX importer builds every layer kind: 40 s to compile them here, 16 s
// with the declarations).
#include <plexus/plexus.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using namespace plexus;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_onnx_reader: property violated: %s\n", what);
    std::abort();
  }
}

template <typename T>
void import_and_round_trip(const std::uint8_t* data, std::size_t size) {
  Network<T> net;
  try {
    net = import_onnx_bytes<T>(data, size, "<fuzz>");
  } catch (const plexus::error&) {
    return;
  }
  if (net.parameters().size() > (Index(1) << 22)) return;  // large but legal: skip the round trip's time
  const std::string bytes = encode_onnx(onnx_model_of(net));
  const Network<T> back =
      import_onnx_bytes<T>(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), "<fuzz round trip>");
  require(back.parameters() == net.parameters(), "parameters changed in an export -> import round trip");
  require(back.buffers() == net.buffers(), "buffers changed in an export -> import round trip");
  Matrix<T> x = Matrix<T>::Constant(2, net.input_width(), T(0.5));
  const Matrix<T> a = net.predict(x), b = back.predict(x);
  require(std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0 || !a.allFinite(),
          "predictions changed in an export -> import round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  import_and_round_trip<float>(data, size);
  import_and_round_trip<double>(data, size);
  return 0;
}
