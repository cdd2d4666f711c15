// libFuzzer target: .npy and .npz readers on arbitrary bytes. Every input
// must be read or refused with a plexus::error; a crash, a sanitizer report,
// another exception, a huge allocation or a broken round trip is a bug.
// Also built without libFuzzer as a corpus replayer (replay_main.cpp).
#include <plexus/io/npz.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using namespace plexus;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_npy_reader: property violated: %s\n", what);
    std::abort();
  }
}

template <typename T>
void npy_round_trip(const NpyArray<T>& a) {
  require(static_cast<std::uint64_t>(a.size()) == a.data.size(), "shape and element count disagree");
  const auto bytes = encode_npy(a, npy_type_of_v<T>);
  const auto b = decode_npy<T>(bytes.data(), bytes.size(), "<fuzz round trip>");
  require(b.shape == a.shape, "shape changed in a round trip");
  require(b.data.size() == a.data.size() &&
              (a.data.empty() || std::memcmp(b.data.data(), a.data.data(), sizeof(T) * a.data.size()) == 0),
          "data changed in a round trip");
  if (a.shape.size() >= 1) (void)npy_to_matrix(a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    npy_round_trip(decode_npy<double>(data, size, "<fuzz>"));
  } catch (const plexus::error&) {
  }
  try {
    npy_round_trip(decode_npy<float>(data, size, "<fuzz>"));
  } catch (const plexus::error&) {
  }
  try {
    const auto entries = npz_entries(data, size, "<fuzz>");
    std::vector<NpzMember> members;
    for (std::size_t i = 0; i < entries.size() && i < 64; ++i) {
      try {
        const auto a = decode_npz_entry<double>(data, size, entries[i], "<fuzz>");
        npy_round_trip(a);
        if (!entries[i].name.empty() && entries[i].name.find('\0') == std::string::npos)
          members.push_back(npz_member(entries[i].name, a));
      } catch (const plexus::error&) {
      }
    }
    // What was read can be written and read back.
    const auto zip = encode_npz(members);
    const auto back = npz_entries(zip.data(), zip.size(), "<fuzz round trip>");
    require(back.size() == members.size(), "member count changed in an npz round trip");
    for (const auto& e : back) decode_npz_entry<double>(zip.data(), zip.size(), e, "<fuzz round trip>");
  } catch (const plexus::error&) {
  }
  return 0;
}
