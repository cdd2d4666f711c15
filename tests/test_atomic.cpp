// Atomic writes and size-limited reads, including a crash test: a child
// process saving a model in a loop is SIGKILLed at random moments, and the
// target must always load, holding one complete version. Linux (fork).
#include "io_util.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using plexus_test::ScratchDir;
using plexus_test::slurp;

TEST_CASE("atomic writes: create, overwrite, and no temporary file left behind") {
  ScratchDir dir;
  const std::string path = dir.file("f.bin");
  write_file_atomic(path, std::vector<std::uint8_t>{1, 2, 3});
  CHECK(slurp(path) == std::vector<std::uint8_t>{1, 2, 3});
  write_file_atomic(path, std::vector<std::uint8_t>(100000, 7));
  CHECK(slurp(path) == std::vector<std::uint8_t>(100000, 7));
  write_file_atomic(path, std::vector<std::uint8_t>{});
  CHECK(slurp(path).empty());
  CHECK(dir.files() == std::vector<std::string>{"f.bin"});
  CHECK(read_file(path, 0).empty());
}

TEST_CASE("atomic writes: failures name the path and the reason, and clean up") {
  ScratchDir dir;
  const std::string sub = dir.file("sub");
  REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
  // Renaming a file over a directory fails after the data was written.
  const auto msg = message_of([&] { write_file_atomic(sub, std::vector<std::uint8_t>{1}); });
  INFO(msg);
  CHECK(has(msg, sub));
  CHECK(has(msg, "renaming"));
  CHECK(has(msg, "Is a directory"));
  CHECK(dir.files() == std::vector<std::string>{"sub"});  // the temporary file is gone
  ::rmdir(sub.c_str());

  CHECK(has(message_of([&] { write_file_atomic(dir.file("x/"), std::vector<std::uint8_t>{1}); }), "names a directory"));
  CHECK(has(message_of([&] { write_file_atomic(dir.file("none/f"), std::vector<std::uint8_t>{1}); }),
            "No such file or directory"));
  CHECK_THROWS_AS(write_file_atomic("", std::vector<std::uint8_t>{1}), io_error);
}

TEST_CASE("read_file refuses files over its limit before reading them") {
  ScratchDir dir;
  write_file_atomic(dir.file("f"), std::vector<std::uint8_t>(100, 1));
  CHECK(read_file(dir.file("f"), 100).size() == 100);
  const auto msg = message_of([&] { read_file(dir.file("f"), 99); });
  INFO(msg);
  CHECK(has(msg, dir.file("f")));
  CHECK(has(msg, "it is 100 bytes, more than the limit of 99 bytes"));
  // Files whose size the system does not report (st_size 0) are cut off while read.
  CHECK(has(message_of([] { read_file("/proc/self/maps", 10); }), "more than the limit of 10 bytes"));
  CHECK(has(message_of([&] { read_file(dir.path(), 1000); }), "is a directory"));
  CHECK(has(message_of([&] { read_file(dir.file("none"), 1000); }), "No such file or directory"));
}

TEST_CASE("atomic writes: concurrent writers in one process never collide") {
  ScratchDir dir;
  const std::string path = dir.file("shared.bin");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        write_file_atomic(path,
                          std::vector<std::uint8_t>(1000 + static_cast<std::size_t>(t), static_cast<std::uint8_t>(t)));
    });
  for (auto& th : threads) th.join();
  const auto b = slurp(path);
  REQUIRE(b.size() >= 1000);
  const std::uint8_t t = b[0];
  CHECK(b.size() == 1000u + t);
  CHECK(b == std::vector<std::uint8_t>(b.size(), t));
  CHECK(dir.files() == std::vector<std::string>{"shared.bin"});
}

TEST_CASE("atomic writes: a saver killed at random moments leaves the old or the new model, never a mix") {
  ScratchDir dir;
  const std::string path = dir.file("model.plx");
  // About 1 MB of parameters, so that many kills land in the middle of a write.
  Network<float> net;
  net.add(Dense<float>(512, Activation::relu));
  net.add(Dense<float>(256));
  net.build(256, 1);
  const Vector<float> original = net.parameters();
  save_model(net, path, {{"version", "0"}});

  // Kill times are drawn from [0, 2 x the time one save takes here), so that
  // they land before, during and after writes whatever the build's speed
  // (sanitizers make saving several times slower).
  const auto t0 = std::chrono::steady_clock::now();
  save_model(net, dir.file("timing.plx"));
  const double save_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  std::remove(dir.file("timing.plx").c_str());

  Rng rng(2024);
  std::set<long> versions;
  int stale = 0;
  for (int round = 0; round < 20; ++round) {
    int progress[2];
    REQUIRE(::pipe(progress) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The child saves new versions until it is killed, reporting each
      // completed save on the pipe; it never returns to the test.
      ::close(progress[0]);
      try {
        for (long v = 1;; ++v) {
          net.parameters().setConstant(static_cast<float>(v));
          save_model(net, path, {{"version", std::to_string(v)}});
          const char done = 1;
          if (::write(progress[1], &done, 1) != 1) ::_exit(4);
        }
      } catch (...) {
        ::_exit(3);
      }
    }
    ::close(progress[1]);
    // Every other round waits for a completed save first, so new versions
    // are certain to replace old ones; the kill then lands at a random point
    // of a later save.
    if (round % 2 == 1) {
      char done = 0;
      REQUIRE(::read(progress[0], &done, 1) == 1);
    }
    ::usleep(static_cast<useconds_t>(rng.uniform(0.0, 2.0 * save_us)));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    ::close(progress[0]);
    CHECK(WIFSIGNALED(status));  // killed, not failed

    std::map<std::string, std::string> meta;
    Network<float> loaded;
    const auto msg = message_of([&] { loaded = load_model<float>(path, &meta); });
    INFO("round " << round << ": " << msg);
    REQUIRE(msg == "<no exception>");
    const long v = std::stol(meta.at("version"));
    versions.insert(v);
    if (v == 0) CHECK(loaded.parameters() == original);
    else CHECK(loaded.parameters() == Vector<float>::Constant(original.size(), static_cast<float>(v)));

    // Only the target and, from the killed writer, stale temporary files.
    for (const auto& f : dir.files()) {
      if (f == "model.plx") continue;
      CHECK(f.rfind("model.plx.tmp.", 0) == 0);
      std::remove(dir.file(f).c_str());
      ++stale;
    }
  }
  MESSAGE("one save takes ~" << save_us << " us; versions seen: " << versions.size()
                             << ", stale temporary files from killed writers: " << stale);
  CHECK(versions.size() > 1);  // the children did replace the file
}
