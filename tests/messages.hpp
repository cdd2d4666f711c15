// Catching the message of a plexus::error, and looking for parts of it.
#pragma once

#include <plexus/plexus.hpp>

#include <string>

namespace plexus_test {

// The message of the plexus::error f throws, or "<no exception>".
template <typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const plexus::error& e) {
    return e.what();
  }
  return "<no exception>";
}

inline bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace plexus_test
