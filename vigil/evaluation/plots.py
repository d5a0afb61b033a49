"""Per-clip plots: each event type's score over time, its threshold dashed, the truth spans
shaded and the incidents as bars below; drawn by hand as SVG, and as PNG with OpenCV."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import cv2
import numpy as np

from vigil.evaluation.types import ClipResult

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
_FIXED = {"fall": "#1f77b4", "fire": "#d62728", "smoke": "#7f7f7f", "intrusion": "#9467bd"}


def color_of(event_type: str, order: list[str]) -> str:
    """The plot colour of an event type."""
    if event_type in _FIXED:
        return _FIXED[event_type]
    return _PALETTE[order.index(event_type) % len(_PALETTE)] if event_type in order else "#333"


@dataclass(frozen=True)
class Frame:
    """Plot geometry: the plot area inside the picture, and the time span."""

    width: int = 900
    height: int = 300
    left: int = 50
    right: int = 20
    top: int = 30
    bottom: int = 80
    duration_s: float = 1.0

    def x(self, t: float) -> float:
        """Picture x of stream time ``t``."""
        span = max(self.duration_s, 1e-6)
        return self.left + (self.width - self.left - self.right) * min(max(t, 0.0), span) / span

    def y(self, score: float) -> float:
        """Picture y of ``score`` (0..1)."""
        return self.top + (self.height - self.top - self.bottom) * (1.0 - min(max(score, 0.0), 1.0))

    @property
    def base(self) -> float:
        """Picture y of the plot area's bottom."""
        return self.y(0.0)


def _step(duration_s: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if duration_s / step <= 12:
            return float(step)
    return 7200.0


def _types(res: ClipResult) -> list[str]:
    types = list(res.scores)
    for ev in [e.event_type for e in res.clip.events] + [i.event_type for i in res.incidents]:
        if ev not in types:
            types.append(ev)
    return types


def _frame(res: ClipResult, types: list[str]) -> Frame:
    lanes = 40 + 22 * len(types)
    return Frame(height=220 + lanes, bottom=lanes, duration_s=max(res.duration_s, 1.0))


def _lane_y(g: Frame, k: int) -> float:
    """Picture y of event type ``k``'s lane: truth bar above it, incident bar below."""
    return g.base + 34 + 22 * k


def _span_of(res: ClipResult, start: float | None, end: float | None) -> tuple[float, float]:
    return (start or 0.0, end if end is not None else res.duration_s)


def svg_plot(res: ClipResult) -> str:
    """The clip's plot as an SVG document."""
    types = _types(res)
    g = _frame(res, types)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{g.width}" height="{g.height}" '
        f'viewBox="0 0 {g.width} {g.height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{g.width}" height="{g.height}" fill="white"/>',
        f'<text x="{g.left}" y="18" font-size="13">{escape(res.clip.name)}</text>',
    ]
    for truth in res.clip.events:
        lo, hi = _span_of(res, truth.start_s, truth.end_s)
        opacity = 0.18 if truth.start_s is not None else 0.08
        out.append(
            f'<rect x="{g.x(lo):.1f}" y="{g.top}" width="{max(g.x(hi) - g.x(lo), 1):.1f}" '
            f'height="{g.base - g.top:.1f}" fill="{color_of(truth.event_type, types)}" '
            f'fill-opacity="{opacity}"><title>truth {escape(truth.event_type)}</title></rect>'
        )
    out += _svg_axes(g)
    for k, ev in enumerate(types):
        col = color_of(ev, types)
        pts = " ".join(f"{g.x(t):.1f},{g.y(s):.1f}" for t, s in res.scores.get(ev, []))
        if pts:
            out.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="1.5"/>')
        if ev in res.thresholds:
            yy = g.y(res.thresholds[ev])
            out.append(
                f'<line x1="{g.left}" x2="{g.x(g.duration_s):.1f}" y1="{yy:.1f}" y2="{yy:.1f}" '
                f'stroke="{col}" stroke-dasharray="4 3" stroke-opacity="0.7"/>'
            )
        lane = _lane_y(g, k)
        out.append(f'<text x="4" y="{lane + 4:.1f}" fill="{col}">{escape(ev)}</text>')
        for t in (e for e in res.clip.events if e.event_type == ev):
            lo, hi = _span_of(res, t.start_s, t.end_s)
            out.append(_svg_bar(g, lo, hi, lane - 8, col, 0.35, f"truth {ev}"))
        for inc in (i for i in res.incidents if i.event_type == ev):
            lo, hi = _span_of(res, inc.opened_s, inc.closed_s)
            out.append(
                _svg_bar(g, lo, hi, lane + 1, col, 1.0, f"incident {ev} {inc.opened_s:.1f}s")
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_bar(g: Frame, lo: float, hi: float, y: float, col: str, alpha: float, tip: str) -> str:
    return (
        f'<rect x="{g.x(lo):.1f}" y="{y:.1f}" width="{max(g.x(hi) - g.x(lo), 2):.1f}" '
        f'height="7" fill="{col}" fill-opacity="{alpha}"><title>{escape(tip)}</title></rect>'
    )


def _svg_axes(g: Frame) -> list[str]:
    out = [
        f'<line x1="{g.left}" x2="{g.x(g.duration_s):.1f}" y1="{g.base:.1f}" y2="{g.base:.1f}" '
        'stroke="#444"/>',
        f'<line x1="{g.left}" x2="{g.left}" y1="{g.top}" y2="{g.base:.1f}" stroke="#444"/>',
    ]
    for s in (0.0, 0.5, 1.0):
        out.append(f'<text x="{g.left - 28}" y="{g.y(s) + 4:.1f}">{s:.1f}</text>')
    for t in _ticks(g.duration_s):
        out.append(f'<text x="{g.x(t) - 8:.1f}" y="{g.base + 14:.1f}">{t:g}s</text>')
    return out


def _ticks(duration_s: float) -> list[float]:
    step = _step(duration_s)
    return [k * step for k in range(int(duration_s / step + 1e-6) + 1)]


def _bgr(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    r, gr, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return (b, gr, r)


def png_plot(res: ClipResult) -> np.ndarray:
    """The clip's plot as a BGR picture (the same content as the SVG, drawn with OpenCV)."""
    types = _types(res)
    g = _frame(res, types)
    blank = np.full((g.height, g.width, 3), 255, np.uint8)
    shade = blank.copy()
    for truth in res.clip.events:
        lo, hi = _span_of(res, truth.start_s, truth.end_s)
        p0, p1 = (int(g.x(lo)), g.top), (max(int(g.x(hi)), int(g.x(lo)) + 1), int(g.base))
        cv2.rectangle(shade, p0, p1, _bgr(color_of(truth.event_type, types)), -1)
    img = np.asarray(cv2.addWeighted(shade, 0.18, blank, 0.82, 0), np.uint8)
    dark = (60, 60, 60)
    cv2.line(img, (g.left, int(g.base)), (int(g.x(g.duration_s)), int(g.base)), dark, 1)
    cv2.line(img, (g.left, g.top), (g.left, int(g.base)), dark, 1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, res.clip.name[:90], (g.left, 18), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for k, ev in enumerate(types):
        col = _bgr(color_of(ev, types))
        pts = np.array([(g.x(t), g.y(s)) for t, s in res.scores.get(ev, [])], np.int32)
        if len(pts) > 1:
            cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, col, 1, cv2.LINE_AA)
        if ev in res.thresholds:
            yy = int(g.y(res.thresholds[ev]))
            for x0 in range(g.left, int(g.x(g.duration_s)), 8):
                cv2.line(img, (x0, yy), (x0 + 4, yy), col, 1)
        lane = int(_lane_y(g, k))
        cv2.putText(img, ev, (4, lane + 4), font, 0.38, col, 1, cv2.LINE_AA)
        light = tuple(int(255 - 0.35 * (255 - c)) for c in col)
        for e in (e for e in res.clip.events if e.event_type == ev):
            _png_bar(img, g, _span_of(res, e.start_s, e.end_s), lane - 8, light)
        for inc in (i for i in res.incidents if i.event_type == ev):
            _png_bar(img, g, _span_of(res, inc.opened_s, inc.closed_s), lane + 1, col)
    for t in _ticks(g.duration_s):
        label = f"{t:g}s"
        cv2.putText(
            img, label, (int(g.x(t)) - 8, int(g.base) + 14), font, 0.35, dark, 1, cv2.LINE_AA
        )
    for sc in (0.0, 0.5, 1.0):
        cv2.putText(
            img, f"{sc:.1f}", (g.left - 28, int(g.y(sc)) + 4), font, 0.35, dark, 1, cv2.LINE_AA
        )
    return img


def _png_bar(
    img: np.ndarray, g: Frame, span: tuple[float, float], y: int, col: tuple[int, ...]
) -> None:
    x0 = int(g.x(span[0]))
    cv2.rectangle(img, (x0, y), (max(int(g.x(span[1])), x0 + 2), y + 6), col, -1)


def write_plots(res: ClipResult, folder: Path, stem: str) -> tuple[Path, Path]:
    """Write ``stem.svg`` and ``stem.png`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    svg = folder / f"{stem}.svg"
    svg.write_text(svg_plot(res), encoding="utf-8")
    png = folder / f"{stem}.png"
    if not cv2.imwrite(str(png), png_plot(res)):
        raise OSError(f"could not write {png}")
    return svg, png
