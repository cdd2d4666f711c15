// PLEXUS_ENGINE, end to end (run by ctest with the variable set, label
// `engines`):
//   engine_env                      the engine it names runs; an unknown
//                                   engine, or one this CPU lacks, makes
//                                   every call that needs an engine throw a
//                                   plexus::value_error that names it.
//                                   Prints PASS or FAIL.
//   engine_env --run E PROGRAM ...  runs PROGRAM with PLEXUS_ENGINE=E, or
//                                   exits 77 (skipped) if this CPU lacks E.
#include <plexus/engine/gemm.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int run_with(const std::string& name, char** argv) {
  for (int i = 0; i < plexus::kEngineCount; ++i) {
    const auto e = static_cast<plexus::Engine>(i);
    if (name != plexus::to_string(e)) continue;
    if (!plexus::engine_supported(e)) {
      std::printf("SKIP: engine %s: the CPU lacks %s\n", name.c_str(), plexus::engine_missing(e).c_str());
      return 77;
    }
    setenv("PLEXUS_ENGINE", name.c_str(), 1);
    execv(argv[0], argv);
    std::perror("engine_env: execv");
    return 1;
  }
  std::printf("FAIL: unknown engine %s\n", name.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string(argv[1]) == "--run") return run_with(argv[2], argv + 3);
  const char* value = std::getenv("PLEXUS_ENGINE");
  const std::string want = value ? value : "";
  bool known = false, supported = false;
  for (int i = 0; i < plexus::kEngineCount; ++i)
    if (want == plexus::to_string(static_cast<plexus::Engine>(i))) {
      known = true;
      supported = plexus::engine_supported(static_cast<plexus::Engine>(i));
    }
  const bool should_run = want.empty() || supported;
  std::string outcome;
  bool ok = false;
  for (int attempt = 0; attempt < 2; ++attempt) {  // a bad value fails every call, not just the first
    try {
      std::vector<float> a(64, 1.0f), c(64, 0.0f);
      plexus::gemm<float>(false, false, 8, 8, 8, 1.0f, a.data(), 8, a.data(), 8, 0.0f, c.data(), 8);
      const std::string running = plexus::engine_name();
      outcome = "runs " + running;
      ok = should_run && c[0] == 8.0f &&
           running == (want.empty() ? std::string(plexus::to_string(plexus::best_engine())) : want);
    } catch (const plexus::value_error& e) {
      outcome = std::string("throws: ") + e.what();
      ok = !should_run && has(outcome, "PLEXUS_ENGINE") && has(outcome, "'" + want + "'") &&
           (known ? has(outcome, "the CPU lacks") : has(outcome, "unknown engine"));
    }
    if (!ok) break;
  }
  std::printf("%s: PLEXUS_ENGINE='%s' (%s): %s\n", ok ? "PASS" : "FAIL", want.c_str(),
              !known && !want.empty() ? "unknown"
              : should_run            ? "this CPU has it"
                                      : "this CPU lacks it",
              outcome.c_str());
  return ok ? 0 : 1;
}
