#!/usr/bin/env python3
"""Residual against condition number, as one SVG (NumPy only, no matplotlib).

Reads the CSV of `matrix_inverse evaluate --residuals FILE.csv` (columns
condition, r_views, r_once) and draws r = ||A X - I||_F against
||A||_F ||A^-1||_F on log-log axes: each matrix as a faint dot (the network
once and averaged over the views), and the median r in bins of the
condition number as lines.

usage: plot_condition.py RESIDUALS.csv OUT.svg [TITLE]
"""
import sys

import numpy as np


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1])
    data = np.genfromtxt(sys.argv[1], delimiter=",", names=True)
    title = sys.argv[3] if len(sys.argv) == 4 else "residual against condition number"
    cond, rv, ro = data["condition"], data["r_views"], data["r_once"]
    floor = 1e-5
    rv, ro = np.maximum(rv, floor), np.maximum(ro, floor)

    W, H, L, R, T, B = 760, 520, 80, 190, 50, 60
    x0, x1 = np.log10(cond.min()) - 0.05, np.log10(cond.max()) + 0.05
    y0 = np.floor(np.log10(min(rv.min(), ro.min())))
    y1 = np.ceil(np.log10(max(rv.max(), ro.max())))

    def px(c):
        return L + (np.log10(c) - x0) / (x1 - x0) * (W - L - R)

    def py(r):
        return T + (y1 - np.log10(r)) / (y1 - y0) * (H - T - B)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2 - R / 2 + L / 2}" y="25" text-anchor="middle" font-size="14">{title}</text>']
    # grid and ticks: decades
    for e in range(int(np.floor(x0)), int(np.ceil(x1)) + 1):
        if x0 <= e <= x1:
            x = px(10.0 ** e)
            out.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H - B}" stroke="#ddd"/>')
            out.append(f'<text x="{x:.1f}" y="{H - B + 16}" text-anchor="middle">1e{e}</text>')
    for e in range(int(y0), int(y1) + 1):
        y = py(10.0 ** e)
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">1e{e}</text>')
    for level, dash in ((0.008, "2,3"), (0.05, "6,3")):
        y = py(level)
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#555" stroke-dasharray="{dash}"/>')
        out.append(f'<text x="{W - R + 4}" y="{y + 4:.1f}" fill="#555">r = {level:g}</text>')
    out.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="black"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 20}" text-anchor="middle">condition number ||A||_F ||A^-1||_F</text>')
    out.append(f'<text x="20" y="{(T + H - B) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 20 {(T + H - B) / 2})">r = ||A X - I||_F</text>')
    # the matrices (at most 1,500 of each, the first ones)
    n = min(len(cond), 1500)
    for r, colour in ((ro, "#ff7f0e"), (rv, "#1f77b4")):
        for c, v in zip(cond[:n], r[:n]):
            out.append(f'<circle cx="{px(c):.1f}" cy="{py(v):.1f}" r="1.3" fill="{colour}" fill-opacity="0.25"/>')
    # binned medians over all matrices
    edges = np.logspace(x0, x1, 16)
    for r, colour in ((ro, "#ff7f0e"), (rv, "#1f77b4")):
        pts = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = (cond >= lo) & (cond < hi)
            if sel.sum() >= 20:
                pts.append((px(np.sqrt(lo * hi)), py(np.median(r[sel]))))
        if pts:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
    legend = [("#ff7f0e", f"network once (median {np.median(data['r_once']):.4f})"),
              ("#1f77b4", f"views averaged (median {np.median(data['r_views']):.4f})")]
    for i, (colour, text) in enumerate(legend):
        y = T + 20 + 36 * i
        out.append(f'<line x1="{W - R + 8}" y1="{y}" x2="{W - R + 28}" y2="{y}" stroke="{colour}" stroke-width="2.5"/>')
        words = text.split(" (")
        out.append(f'<text x="{W - R + 32}" y="{y + 4}">{words[0]}</text>')
        out.append(f'<text x="{W - R + 32}" y="{y + 18}">({words[1]}</text>')
    out.append(f'<text x="{W - R + 8}" y="{T + 100}" fill="#555">lines: median r per</text>')
    out.append(f'<text x="{W - R + 8}" y="{T + 114}" fill="#555">bin of condition number</text>')
    out.append(f'<text x="{W - R + 8}" y="{T + 128}" fill="#555">dots: {n} matrices</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
