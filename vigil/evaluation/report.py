"""What ``vigil eval`` prints and writes: the table, the JSON document, the markdown report
with a plot per clip, and the last line of ``key=value`` figures."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.evaluation.matching import AFTER_S, BEFORE_S, TypeMetrics, match_clip, summarize
from vigil.evaluation.plots import write_plots
from vigil.evaluation.types import ClipResult, Incident, TruthSpan


@dataclass
class Evaluation:
    """One evaluation: where, how, the per-clip results and their summary."""

    root: Path
    layout: str
    profile: str
    jobs: int
    event_types: list[str]
    results: list[ClipResult]
    wall_s: float = 0.0
    skipped: list[str] = field(default_factory=list)
    metrics: dict[str, TypeMetrics] = field(default_factory=dict)
    plots: dict[str, str] = field(default_factory=dict)  # clip name -> svg path under out

    def __post_init__(self) -> None:
        if not self.metrics:
            self.metrics = summarize(self.results, self.event_types)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _span(ev: TruthSpan) -> dict[str, Any]:
    return {"type": ev.event_type, "start_s": ev.start_s, "end_s": ev.end_s}


def _incident(inc: Incident, matched: bool) -> dict[str, Any]:
    return {
        "type": inc.event_type,
        "opened_s": inc.opened_s,
        "closed_s": inc.closed_s,
        "peak": round(inc.peak, 4),
        "matched": matched,
    }


def clip_outcome(res: ClipResult, event_types: Sequence[str]) -> dict[str, Any]:
    """One clip's incidents (each marked matched or not), misses and false positives."""
    matched: set[int] = set()
    missed: list[TruthSpan] = []
    false_pos: list[Incident] = []
    for ev in event_types:
        if not res.clip.labels(ev):
            continue
        m = match_clip(res.clip.events, res.incidents, ev, clip_end_s=res.duration_s)
        matched |= {id(x.incident) for x in m.matches}
        missed += m.missed
        false_pos += m.false_positives
    return {
        "name": res.clip.name,
        "path": str(res.clip.path),
        "layout": res.clip.layout,
        "negative": res.clip.negative,
        "labelled": sorted(res.clip.labelled) or list(event_types),
        "duration_s": round(res.duration_s, 3),
        "frames": res.frames,
        "wall_s": round(res.wall_s, 3),
        "events": [_span(e) for e in res.clip.events],
        "incidents": [_incident(i, id(i) in matched) for i in res.incidents],
        "missed": [_span(e) for e in missed],
        "false_positives": [_incident(i, False) for i in false_pos],
        "error": res.error,
    }


def to_json(ev: Evaluation) -> dict[str, Any]:
    """The whole evaluation as a JSON-ready mapping."""
    clips = [clip_outcome(r, ev.event_types) for r in ev.results]
    for c in clips:
        c["plot"] = ev.plots.get(c["name"])
    return {
        "root": str(ev.root),
        "layout": ev.layout,
        "profile": ev.profile,
        "jobs": ev.jobs,
        "wall_s": round(ev.wall_s, 3),
        "match_window_s": [-BEFORE_S, AFTER_S],
        "event_types": {k: m.as_dict() for k, m in ev.metrics.items()},
        "clips": clips,
        "skipped": ev.skipped,
    }


_HEAD = (
    "event", "events", "matched", "missed", "FP", "precision", "recall", "F1",
    "lat p50 s", "lat p95 s", "coverage", "neg h", "FA/h",
)  # fmt: skip


def _row(m: TypeMetrics) -> list[str]:
    return [
        m.event_type, str(m.events), str(m.matched), str(m.missed), str(m.false_positives),
        _fmt(m.precision), _fmt(m.recall), _fmt(m.f1), _fmt(m.latency_p50_s, 1),
        _fmt(m.latency_p95_s, 1), _fmt(m.coverage), _fmt(m.negative_hours, 3),
        _fmt(m.false_alarms_per_hour, 1),
    ]  # fmt: skip


def table(metrics: Mapping[str, TypeMetrics]) -> str:
    """The per-event-type metrics as a fixed-width text table."""
    rows = [list(_HEAD)] + [_row(m) for m in metrics.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def comparison(before: Evaluation, after: Evaluation) -> str:
    """Per event type: the threshold, false alarms, FA/h and recall before and after."""

    def threshold(ev: Evaluation, event_type: str) -> str:
        found = {r.thresholds.get(event_type) for r in ev.results} - {None}
        return _fmt(found.pop(), 3) if len(found) == 1 else "-"

    rows = [
        ["event", "threshold", "", "FP", "", "FA/h", "", "recall", ""],
        ["", *("before", "after") * 4],
    ]
    for name, m in before.metrics.items():
        a = after.metrics[name]
        rows.append(
            [
                name, threshold(before, name), threshold(after, name),
                str(m.false_positives), str(a.false_positives),
                _fmt(m.false_alarms_per_hour, 1), _fmt(a.false_alarms_per_hour, 1),
                _fmt(m.recall), _fmt(a.recall),
            ]
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    )


def clip_lines(ev: Evaluation) -> list[str]:
    """One line per clip: its incidents and misses."""
    out = []
    for res in ev.results:
        o = clip_outcome(res, ev.event_types)
        if res.error:
            out.append(f"{o['name']}: ERROR {res.error}")
            continue
        incs = ", ".join(
            f"{i['type']}@{i['opened_s']:.1f}s{'' if i['matched'] else ' (FP)'}"
            for i in o["incidents"]
        )
        miss = ", ".join(f"{m['type']}@{_fmt(m['start_s'], 1)}s" for m in o["missed"])
        out.append(
            f"{o['name']} ({o['duration_s']:.0f} s{', negative' if o['negative'] else ''}): "
            f"incidents [{incs}] missed [{miss}]"
        )
    return out


def key_values(ev: Evaluation) -> str:
    """The last line: ``key=value`` figures (``na`` where a figure is undefined)."""

    def v(x: float | None, digits: int = 3) -> str:
        return "na" if x is None else f"{x:.{digits}f}"

    parts = [
        f"clips={len(ev.results)}",
        f"negative_clips={sum(1 for r in ev.results if r.clip.negative)}",
        f"errors={sum(1 for r in ev.results if r.error)}",
    ]
    for name, m in ev.metrics.items():
        parts += [
            f"{name}_events={m.events}",
            f"{name}_precision={v(m.precision)}",
            f"{name}_recall={v(m.recall)}",
            f"{name}_f1={v(m.f1)}",
            f"{name}_latency_p50_s={v(m.latency_p50_s, 2)}",
            f"{name}_latency_p95_s={v(m.latency_p95_s, 2)}",
            f"{name}_coverage={v(m.coverage)}",
            f"{name}_false_alarms_per_hour={v(m.false_alarms_per_hour, 2)}",
        ]
    parts.append(f"wall_s={ev.wall_s:.1f}")
    return " ".join(parts)


def slug(name: str, taken: set[str]) -> str:
    """A file stem for a clip's plot, unique among ``taken``."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "clip"
    stem, n = base, 2
    while stem in taken:
        stem, n = f"{base}-{n}", n + 1
    taken.add(stem)
    return stem


def write_report(ev: Evaluation, out: Path) -> Path:
    """Write ``report.md`` and ``plots/<clip>.svg|png`` under ``out``; returns the report."""
    out.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for res in ev.results:
        svg, _png = write_plots(res, out / "plots", slug(res.clip.name, taken))
        ev.plots[res.clip.name] = svg.relative_to(out).as_posix()
    report = out / "report.md"
    report.write_text(markdown(ev), encoding="utf-8")
    return report


def markdown(ev: Evaluation) -> str:
    """The markdown report: settings, the metrics table, then each clip with its plot."""
    lines = [
        f"# Vigil evaluation: {ev.root.name}",
        "",
        f"- folder: `{ev.root}` ({ev.layout} layout, {len(ev.results)} clips)",
        f"- profile: `{ev.profile}`; {ev.jobs} clip(s) at a time; {ev.wall_s:.1f} s",
        f"- an incident matches a truth event of its type if it opens within "
        f"[start - {BEFORE_S:g} s, start + {AFTER_S:g} s]",
        "",
        "| " + " | ".join(_HEAD) + " |",
        "|" + "---|" * len(_HEAD),
    ]
    lines += ["| " + " | ".join(_row(m)) + " |" for m in ev.metrics.values()]
    lines += ["", "## Clips", ""]
    for res, line in zip(ev.results, clip_lines(ev), strict=True):
        lines += [f"### {res.clip.name}", "", line, ""]
        plot = ev.plots.get(res.clip.name)
        if plot:
            lines += [f"![{res.clip.name}]({plot})", ""]
    if ev.skipped:
        lines += ["## Skipped", ""] + [f"- {s}" for s in ev.skipped] + [""]
    lines += ["```", key_values(ev), "```", ""]
    return "\n".join(lines)
