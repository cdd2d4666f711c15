// Minimal SVG plots (a browser opens them): line charts in panels that share
// the x axis (one unit per y axis; optional log axes), and scatter plots.
// Written for the run reports; no dependencies.
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
    if (log) {  // powers of ten; within about a decade, also 2 and 5 times them, then every digit
      for (const std::vector<double>& mantissas :
           {std::vector<double>{1}, std::vector<double>{1, 2, 5}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
        t.clear();
        for (double p = std::floor(std::log10(lo)); p <= std::ceil(std::log10(hi)); ++p)
          for (double m : mantissas) {
            const double v = m * std::pow(10.0, p);
            if (v >= lo * 0.999 && v <= hi * 1.001) t.push_back(v);
          }
        if (t.size() >= 3) return t;
      }
      t.clear();  // a narrow range: evenly spaced values, placed on the log scale
    }
    const double span = hi - lo, raw = span / 5;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw / mag < 2 ? 2 * mag : raw / mag < 5 ? 5 * mag : 10 * mag;
    for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step)
      t.push_back(std::abs(v) < 1e-12 * span ? 0 : v);
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

inline std::string svg_open(const std::string& title, double W, double H) {
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
  s << "<text x='" << W / 2 << "' y='18' text-anchor='middle' font-size='14'>" << title << "</text>\n";
  return s.str();
}

// Grid, ticks, frame and both axis labels of the plot area [x0, x1] x [y0, y1]
// (y0 the top).
inline std::string axes(const std::string& xl, const std::string& yl, const Axis& ax, const Axis& ay, double x0,
                        double x1, double y0, double y1) {
  std::ostringstream s;
  for (double t : ax.ticks()) {
    const double x = ax.map(t, x0, x1);
    s << "<line x1='" << num(x) << "' y1='" << y0 << "' x2='" << num(x) << "' y2='" << y1 << "' stroke='#ddd'/>"
      << "<text x='" << num(x) << "' y='" << y1 + 16 << "' text-anchor='middle'>" << tick(t) << "</text>\n";
  }
  for (double t : ay.ticks()) {
    const double y = ay.map(t, y1, y0);
    s << "<line x1='" << x0 << "' y1='" << num(y) << "' x2='" << x1 << "' y2='" << num(y) << "' stroke='#ddd'/>"
      << "<text x='" << x0 - 6 << "' y='" << num(y + 4) << "' text-anchor='end'>" << tick(t) << "</text>\n";
  }
  s << "<rect x='" << x0 << "' y='" << y0 << "' width='" << x1 - x0 << "' height='" << y1 - y0
    << "' fill='none' stroke='black'/>\n";
  s << "<text x='" << (x0 + x1) / 2 << "' y='" << y1 + 34 << "' text-anchor='middle'>" << xl << "</text>\n";
  s << "<text transform='translate(16," << (y0 + y1) / 2 << ") rotate(-90)' text-anchor='middle'>" << yl << "</text>\n";
  return s.str();
}
}  // namespace svg_detail

// One panel of a line chart: series that share a unit, on one y axis.
struct Panel {
  std::string ylabel;
  std::vector<Series> series;
  bool logy = false;
};

// Whether every finite value of the series is positive (a log axis shows them all).
inline bool all_positive(const std::vector<Series>& series) {
  for (const Series& s : series)
    for (double v : s.y)
      if (std::isfinite(v) && v <= 0) return false;
  return true;
}

// Line-chart panels stacked over one shared x axis (each panel labels both
// its axes): one unit per y axis.
inline std::string panels_svg(const std::string& title, const std::string& xlabel, bool logx,
                              const std::vector<Panel>& panels) {
  using namespace svg_detail;
  const double W = 760, L = 80, R = 20, T = 30, ph = 280, gap = 56;
  const double H = T + static_cast<double>(panels.size()) * (ph + gap);
  std::vector<const std::vector<double>*> xs;
  for (const Panel& p : panels)
    for (const Series& s : p.series) xs.push_back(&s.x);
  const Axis ax = fit(xs, logx);
  std::string out = svg_open(title, W, H);
  double y0 = T;
  for (const Panel& panel : panels) {
    // the y range of the points drawn (not of those a log x axis leaves out)
    std::vector<std::vector<double>> drawn;
    for (const Series& s : panel.series) {
      drawn.emplace_back();
      for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (!logx || s.x[i] > 0) drawn.back().push_back(s.y[i]);
    }
    std::vector<const std::vector<double>*> ys;
    for (const auto& d : drawn) ys.push_back(&d);
    const Axis ay = fit(ys, panel.logy);
    const double y1 = y0 + ph;
    out += axes(xlabel, panel.ylabel, ax, ay, L, W - R, y0, y1);
    double ly = y0 + 16;
    for (const Series& s : panel.series) {
      std::ostringstream p;
      p << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.8' points='";
      for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (logx && s.x[i] <= 0) || (panel.logy && s.y[i] <= 0))
          continue;
        p << num(ax.map(std::clamp(s.x[i], ax.lo, ax.hi), L, W - R)) << ","
          << num(ay.map(std::clamp(s.y[i], ay.lo, ay.hi), y1, y0)) << " ";
      }
      p << "'/>\n<text x='" << W - R - 8 << "' y='" << ly << "' text-anchor='end' fill='" << s.color << "'>" << s.name
        << "</text>\n";
      ly += 16;
      out += p.str();
    }
    y0 = y1 + gap;
  }
  return out + "</svg>\n";
}

// A line chart of several series sharing both axes (one unit).
inline std::string line_plot_svg(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                                 const std::vector<Series>& series, bool logx, bool logy) {
  return panels_svg(title, xlabel, logx, {Panel{ylabel, series, logy}});
}

// A scatter plot with the diagonal y = x drawn for reference.
inline std::string scatter_svg(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                               const std::vector<double>& x, const std::vector<double>& y, double clip) {
  using namespace svg_detail;
  const double W = 560, H = 560, L = 70, R = 20, T = 30, B = 50;
  Axis a;
  a.lo = -clip, a.hi = clip;
  std::string out = svg_open(title, W, H) + axes(xlabel, ylabel, a, a, L, W - R, T, H - B);
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
