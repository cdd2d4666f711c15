// classify's command line: `--name value` or `--name=value` flags, each
// known to its command, parsed strictly; a bad flag is a UsageError (exit 2).
#pragma once

#include <cerrno>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace classify {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Flag {
  std::string name, value_hint, help;
};

class Args {
 public:
  Args(const std::string& command, const std::vector<std::string>& argv, const std::vector<Flag>& flags)
      : command_(command), flags_(flags) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a.rfind("--", 0) != 0) throw UsageError(command + ": unexpected argument '" + a + "' (flags start with --)");
      std::string name = a.substr(2), value;
      const auto eq = name.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) value = name.substr(eq + 1), name = name.substr(0, eq);
      const Flag* f = find(name);
      if (!f) throw UsageError(command + ": unknown flag --" + name + " (known: " + names() + ")");
      if (values_.count(name)) throw UsageError(command + ": --" + name + " given twice");
      if (f->value_hint.empty()) {
        if (inline_value) throw UsageError(command + ": --" + name + " takes no value");
      } else if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError(command + ": --" + name + " needs a value (" + f->value_hint + ")");
        value = argv[++i];
      }
      values_[name] = value;
    }
  }

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string str(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  std::string required(const std::string& name) const {
    if (!has(name)) throw UsageError(command_ + ": --" + name + " is required (see classify " + command_ + " --help)");
    return str(name);
  }
  double real(const std::string& name, double fallback, double lo, double hi) const {
    if (!has(name)) return fallback;
    const std::string& s = values_.at(name);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno != 0 || !(v >= lo && v <= hi))
      throw UsageError(command_ + ": --" + name + " must be a number in [" + num(lo) + ", " + num(hi) + "], got '" + s +
                       "'");
    return v;
  }
  long long integer(const std::string& name, long long fallback, long long lo, long long hi) const {
    if (!has(name)) return fallback;
    const std::string& s = values_.at(name);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
      throw UsageError(command_ + ": --" + name + " must be a whole number in [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "], got '" + s + "'");
    return v;
  }

  std::string help() const {
    std::string s;
    for (const auto& f : flags_) {
      std::string left = "  --" + f.name + (f.value_hint.empty() ? "" : " " + f.value_hint);
      if (left.size() < 28) left.resize(28, ' ');
      else left += "\n" + std::string(28, ' ');
      s += left + f.help + "\n";
    }
    return s;
  }

 private:
  static std::string num(double v) {
    std::string s = std::to_string(v);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  const Flag* find(const std::string& name) const {
    for (const auto& f : flags_)
      if (f.name == name) return &f;
    return nullptr;
  }
  std::string names() const {
    std::string s;
    for (const auto& f : flags_) s += (s.empty() ? "--" : ", --") + f.name;
    return s;
  }

  std::string command_;
  std::vector<Flag> flags_;
  std::map<std::string, std::string> values_;
};

}  // namespace classify
