// A strict command-line flag parser for the example: every flag must be
// known, every number must parse completely and lie in its range; anything
// else is a one-line usage error. A command lists its flags once (FlagSpec):
// the parser accepts exactly those and --help prints exactly those.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mi {

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One flag of a command: its name (without "--"), the placeholder of its
// value ("" for a switch) and its line of help.
struct FlagSpec {
  std::string name, value, help;
};

// `text` as lines of at most `width` columns (longer words stay whole), each
// after `indent` spaces but the first, which continues a line already at
// column `first`.
inline std::string wrap(const std::string& text, std::size_t width, std::size_t indent = 0, std::size_t first = 0) {
  std::string out;
  std::size_t col = first, at = 0;
  bool line_empty = true;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    const std::size_t n = end - at;
    if (n > 0) {
      if (!line_empty && col + 1 + n > width) {
        out += "\n" + std::string(indent, ' ');
        col = indent;
        line_empty = true;
      }
      if (!line_empty) out += ' ', ++col;
      out.append(text, at, n);
      col += n;
      line_empty = false;
    }
    at = end + 1;
  }
  return out;
}

// The "flags:" section of a command's help: one entry per flag, in order.
inline std::string flags_help(const std::vector<FlagSpec>& flags) {
  const std::size_t indent = 26, width = 100;
  std::string out;
  for (const FlagSpec& f : flags) {
    const std::string head = "  --" + f.name + (f.value.empty() ? "" : " " + f.value);
    out += head;
    if (head.size() + 2 > indent) out += "\n" + std::string(indent, ' ');
    else out += std::string(indent - head.size(), ' ');
    out += wrap(f.help, width, indent, indent) + "\n";
  }
  return out;
}

class Args {
 public:
  // `argv` after the subcommand; accepts exactly the flags in `flags`.
  // A flag whose placeholder has k words ("LO HI") takes k values.
  Args(const std::string& command, const std::vector<std::string>& argv, const std::vector<FlagSpec>& flags)
      : Args(command, argv, arity(flags)) {}

  // `argv` after the subcommand; `flags`: name -> takes a value.
  Args(const std::string& command, const std::vector<std::string>& argv, const std::map<std::string, bool>& flags)
      : Args(command, argv, counts(flags)) {}

  // `argv` after the subcommand; `flags`: name -> how many values it takes.
  Args(const std::string& command, const std::vector<std::string>& argv, const std::map<std::string, int>& flags)
      : command_(command) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) throw usage_error(command + ": unexpected argument '" + a + "'");
      std::string value;
      bool has_value = false;
      if (auto eq = a.find('='); eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_value = true;
      }
      const std::string name = a.substr(2);
      auto it = flags.find(name);
      if (it == flags.end()) throw usage_error(command + ": unknown flag '--" + name + "' (see --help)");
      if (it->second > 1 && has_value) {
        throw usage_error(command + ": flag --" + name + " takes " + std::to_string(it->second) +
                          " values, each its own argument (--" + name + " A B), not --" + name + "=");
      } else if (it->second && !has_value) {
        if (i + static_cast<std::size_t>(it->second) >= argv.size())
          throw usage_error(command + ": flag --" + name + " needs " +
                            (it->second > 1 ? std::to_string(it->second) + " values" : std::string("a value")));
        for (int k = 0; k < it->second; ++k) value += (k ? " " : "") + argv[++i];
      } else if (!it->second && has_value) {
        throw usage_error(command + ": flag --" + name + " takes no value");
      }
      if (values_.count(name)) throw usage_error(command + ": flag --" + name + " given twice");
      values_[name] = value;
    }
  }

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string str(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    if (it->second.empty()) throw usage_error(command_ + ": --" + name + " needs a non-empty value");
    return it->second;
  }
  double real(const std::string& name, double fallback, double lo, double hi) const {
    if (!has(name)) return fallback;
    const std::string& s = values_.at(name);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v))
      throw usage_error(command_ + ": --" + name + " expects a number, got '" + s + "'");
    if (v < lo || v > hi)
      throw usage_error(command_ + ": --" + name + " must be between " + fmt(lo) + " and " + fmt(hi) + ", got " + s);
    return v;
  }
  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const {
    if (!has(name)) return fallback;
    const std::string& s = values_.at(name);
    // accept 1e6-style integers too: parse as double, require integrality
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v) || v != std::floor(v))
      throw usage_error(command_ + ": --" + name + " expects a whole number, got '" + s + "'");
    if (v < static_cast<double>(lo) || v > static_cast<double>(hi))
      throw usage_error(command_ + ": --" + name + " must be between " + std::to_string(lo) + " and " +
                        std::to_string(hi) + ", got " + s);
    return static_cast<std::int64_t>(v);
  }
  // The values of a flag that takes several numbers ("LO HI"), each read as
  // real() reads one.
  std::vector<double> reals(const std::string& name, double lo, double hi) const {
    std::vector<double> out;
    const std::string& s = values_.at(name);
    std::size_t at = 0;
    while (at <= s.size()) {
      std::size_t end = s.find(' ', at);
      if (end == std::string::npos) end = s.size();
      const Args one(command_, {"--" + name, s.substr(at, end - at)}, std::map<std::string, int>{{name, 1}});
      out.push_back(one.real(name, 0.0, lo, hi));
      at = end + 1;
    }
    return out;
  }
  const std::string& command() const { return command_; }
  std::vector<std::string> given() const {
    std::vector<std::string> names;
    for (const auto& kv : values_) names.push_back(kv.first);
    return names;
  }

 private:
  static std::map<std::string, int> arity(const std::vector<FlagSpec>& flags) {
    std::map<std::string, int> m;
    for (const FlagSpec& f : flags) {
      int words = 0;
      for (std::size_t i = 0; i < f.value.size(); ++i) words += f.value[i] != ' ' && (i == 0 || f.value[i - 1] == ' ');
      m[f.name] = words;
    }
    return m;
  }
  static std::map<std::string, int> counts(const std::map<std::string, bool>& flags) {
    std::map<std::string, int> m;
    for (const auto& [name, takes] : flags) m[name] = takes ? 1 : 0;
    return m;
  }

  static std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  std::string command_;
  std::map<std::string, std::string> values_;
};

}  // namespace mi
