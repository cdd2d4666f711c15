// Minimal SVG plots (a browser opens them): line charts with optional log
// axes, and scatter plots. Written for the run reports; no dependencies.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace mi {

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
};

namespace svg_detail {
inline std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}
inline std::string tick(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double map(double v, double a, double b) const {
    const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
    return a + t * (b - a);
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (log) {
      for (double p = std::floor(std::log10(lo)); p <= std::ceil(std::log10(hi)); ++p) {
        const double v = std::pow(10.0, p);
        if (v >= lo * 0.999 && v <= hi * 1.001) t.push_back(v);
      }
      if (t.size() < 2) t = {lo, hi};
      return t;
    }
    const double span = hi - lo, raw = span / 5;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw / mag < 2 ? 2 * mag : raw / mag < 5 ? 5 * mag : 10 * mag;
    for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) t.push_back(std::abs(v) < 1e-12 * span ? 0 : v);
    return t;
  }
};
inline Axis fit(const std::vector<const std::vector<double>*>& data, bool log) {
  Axis a;
  a.log = log;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (auto* d : data)
    for (double v : *d)
      if (std::isfinite(v) && (!log || v > 0)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(lo <= hi)) lo = log ? 0.1 : 0, hi = 1;
  if (lo == hi) {
    lo = log ? lo / 2 : lo - 1;
    hi = log ? hi * 2 : hi + 1;
  }
  if (!log) {
    const double pad = 0.03 * (hi - lo);
    lo -= pad, hi += pad;
  }
  a.lo = lo, a.hi = hi;
  return a;
}

inline std::string frame(const std::string& title, const std::string& xl, const std::string& yl, const Axis& ax,
                         const Axis& ay, double W, double H, double L, double R, double T, double B) {
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
  s << "<text x='" << W / 2 << "' y='18' text-anchor='middle' font-size='14'>" << title << "</text>\n";
  for (double t : ax.ticks()) {
    const double x = ax.map(t, L, W - R);
    s << "<line x1='" << num(x) << "' y1='" << T << "' x2='" << num(x) << "' y2='" << H - B << "' stroke='#ddd'/>"
      << "<text x='" << num(x) << "' y='" << H - B + 16 << "' text-anchor='middle'>" << tick(t) << "</text>\n";
  }
  for (double t : ay.ticks()) {
    const double y = ay.map(t, H - B, T);
    s << "<line x1='" << L << "' y1='" << num(y) << "' x2='" << W - R << "' y2='" << num(y) << "' stroke='#ddd'/>"
      << "<text x='" << L - 6 << "' y='" << num(y + 4) << "' text-anchor='end'>" << tick(t) << "</text>\n";
  }
  s << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
    << "' fill='none' stroke='black'/>\n";
  s << "<text x='" << (L + W - R) / 2 << "' y='" << H - 8 << "' text-anchor='middle'>" << xl << "</text>\n";
  s << "<text transform='translate(16," << (T + H - B) / 2 << ") rotate(-90)' text-anchor='middle'>" << yl
    << "</text>\n";
  return s.str();
}
}  // namespace svg_detail

// A line chart of several series sharing axes.
inline std::string line_plot_svg(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                                 const std::vector<Series>& series, bool logx, bool logy) {
  using namespace svg_detail;
  const double W = 760, H = 480, L = 70, R = 20, T = 30, B = 50;
  std::vector<const std::vector<double>*> xs, ys;
  for (auto& s : series) xs.push_back(&s.x), ys.push_back(&s.y);
  const Axis ax = fit(xs, logx), ay = fit(ys, logy);
  std::string out = frame(title, xlabel, ylabel, ax, ay, W, H, L, R, T, B);
  double ly = T + 16;
  for (auto& s : series) {
    std::ostringstream p;
    p << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.8' points='";
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (logx && s.x[i] <= 0) || (logy && s.y[i] <= 0)) continue;
      p << num(ax.map(std::clamp(s.x[i], ax.lo, ax.hi), L, W - R)) << ","
        << num(ay.map(std::clamp(s.y[i], ay.lo, ay.hi), H - B, T)) << " ";
    }
    p << "'/>\n<text x='" << W - R - 8 << "' y='" << ly << "' text-anchor='end' fill='" << s.color << "'>" << s.name
      << "</text>\n";
    ly += 16;
    out += p.str();
  }
  return out + "</svg>\n";
}

// A scatter plot with the diagonal y = x drawn for reference.
inline std::string scatter_svg(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                               const std::vector<double>& x, const std::vector<double>& y, double clip) {
  using namespace svg_detail;
  const double W = 560, H = 560, L = 70, R = 20, T = 30, B = 50;
  Axis a;
  a.lo = -clip, a.hi = clip;
  std::string out = frame(title, xlabel, ylabel, a, a, W, H, L, R, T, B);
  std::ostringstream p;
  p << "<line x1='" << num(a.map(-clip, L, W - R)) << "' y1='" << num(a.map(-clip, H - B, T)) << "' x2='"
    << num(a.map(clip, L, W - R)) << "' y2='" << num(a.map(clip, H - B, T)) << "' stroke='#d62728'/>\n";
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]) || std::abs(x[i]) > clip || std::abs(y[i]) > clip) continue;
    p << "<circle cx='" << num(a.map(x[i], L, W - R)) << "' cy='" << num(a.map(y[i], H - B, T))
      << "' r='1.3' fill='#1f77b4' fill-opacity='0.35'/>";
    if (i % 16 == 15) p << "\n";
  }
  return out + p.str() + "\n</svg>\n";
}

}  // namespace mi
