// After the first, a training step of the answer's architecture does not
// touch the heap. Counting replaces glibc's malloc family, which a sanitizer
// runtime (ASan, TSan, MSan) replaces too: built with one, by CMake's
// PLEXUS_SANITIZE or by flags of the user's own (-fsanitize=address in
// CMAKE_CXX_FLAGS), the program keeps only a case that says it was skipped.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)  // GCC
#define PLEXUS_TEST_SANITIZED 1
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define PLEXUS_TEST_SANITIZED 1
#endif
#endif

#ifdef PLEXUS_TEST_SANITIZED

// tests/CMakeLists.txt reports a case printing this as skipped.
TEST_CASE("no heap allocation in a training step after the first") {
  MESSAGE(
      "PLEXUS_SKIPPED: allocation counting is off in a sanitizer build: the sanitizer's runtime owns "
      "malloc, which this program would replace to count");
}

#else

#include "nets.hpp"

#include <atomic>
#include <cstddef>
#include <vector>

// Every heap allocation in this program (operator new, Eigen's aligned
// allocator, OpenMP's runtime) ends in glibc's malloc family: count there.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

namespace {
std::atomic<long> g_allocations{0};
void count() { g_allocations.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t a, std::size_t n) {
  count();
  return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) {
  count();
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) {
  count();
  *out = __libc_memalign(a, n);
  return *out ? 0 : 12;  // ENOMEM
}
}

using namespace plexus;

TEST_CASE("no heap allocation in a training step after the first") {
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    auto net = plexus_test::answer_like<float>(64, 32, 2, 4);
    net.build(9, 1);
    Adam<float> adam(net);
    MSE<float> mse;
    mi::InverseResidualLoss<float> inv(3);
    Matrix<float> x = Matrix<float>::Random(300, 9), t = Matrix<float>::Random(300, 9);
    train_step(net, mse, adam, x, t);
    train_step(net, inv, adam, x, t);
    const long before = g_allocations.load();
    for (int i = 0; i < 5; ++i) {
      train_step(net, mse, adam, x, t);
      train_step(net, inv, adam, x, t);
    }
    const long during = g_allocations.load() - before;
    INFO("threads " << threads << ": " << during << " allocations in 10 steps");
    CHECK(during == 0);
    // a batch cut into parts (three replicas of the network)
    StepOptions parts;
    parts.micro_batch = 128;
    train_step(net, mse, adam, x, t, parts);
    const long before_parts = g_allocations.load();
    for (int i = 0; i < 3; ++i) train_step(net, inv, adam, x, t, parts);
    CHECK(g_allocations.load() - before_parts == 0);
    // a smaller batch reuses the buffers too
    Matrix<float> xs = x.topRows(100), ts = t.topRows(100);
    const long before_small = g_allocations.load();
    train_step(net, mse, adam, xs, ts);
    CHECK(g_allocations.load() - before_small == 0);
  }
  set_num_threads(0);
}

TEST_CASE("no heap allocation with the classification losses, AdamW, RMSprop and clipping") {
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    auto net = plexus_test::answer_like<float>(32, 16, 1, 4);
    net.build(9, 1);
    AdamW<float> adamw(net);
    RMSprop<float> rms(net, RMSpropOptions{1e-3, 0.9, 1e-8, 0.01, 0.9, true});
    SoftmaxCrossEntropy<float> ce(0.1);
    BinaryCrossEntropy<float> bce;
    Huber<float> huber;
    MAE<float> mae;
    Matrix<float> x = Matrix<float>::Random(300, 9), t = (Matrix<float>::Random(300, 9).array() + 1) / 2;
    Matrix<float> labels(300, 1);
    for (Index i = 0; i < 300; ++i) labels(i, 0) = static_cast<float>(i % 9);
    StepOptions so;
    so.micro_batch = 128;  // cut into parts, on replicas
    so.clip_norm = 0.5;
    auto all = [&] {
      train_step(net, ce, adamw, x, labels, so);
      train_step(net, ce, rms, x, t, so);
      train_step(net, bce, adamw, x, t, so);
      train_step(net, huber, rms, x, t, so);
      train_step(net, mae, adamw, x, t, so);
    };
    all();
    const long before = g_allocations.load();
    for (int i = 0; i < 2; ++i) all();
    const long during = g_allocations.load() - before;  // before INFO, which allocates on first use
    INFO("threads " << threads << ": " << during << " allocations in 10 steps");
    CHECK(during == 0);
  }
  set_num_threads(0);
}

TEST_CASE("the counter sees allocations (the test can fail)") {
  volatile int n = 1000;
  const long before = g_allocations.load();
  Eigen::VectorXf v(n);                                // Eigen's aligned allocator
  std::vector<int> w(static_cast<std::size_t>(n), 1);  // operator new
  v.setOnes();
  CHECK(v.sum() + static_cast<float>(w[7]) == 1001.0f);
  CHECK(g_allocations.load() - before >= 2);
}

#endif  // PLEXUS_TEST_SANITIZED
