"""Decode CPU per camera: ``time.thread_time()`` inside each reader thread, summed per camera,
in its status and in ``/metrics`` as ``vigil_camera_decode_cpu_seconds_total``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from streamer_media import write_clip
from streamer_testutil import drain

from streamer.cputime import CpuTotal
from streamer.queue import FrameQueue
from streamer.source import SourceSpec
from streamer.supervisor import Supervisor
from vigil.api.metrics import camera_metrics

Factory = Callable[..., tuple[Supervisor, FrameQueue]]


def test_thread_cpu_counts_work_not_waiting() -> None:
    total = CpuTotal()

    def work() -> None:
        meter = total.meter()
        time.sleep(0.3)  # waiting costs no CPU
        meter.tick()
        slept = total.total_s
        deadline = time.thread_time() + 0.2
        while time.thread_time() < deadline:  # 0.2 s of this thread's CPU
            pass
        meter.tick()
        assert slept < 0.05

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert 0.2 <= total.total_s < 0.5


def test_a_real_decode_is_counted_per_camera_and_exported(
    media_dir: Path, clip_gop25: Path, supervisor_factory: Factory
) -> None:
    big = write_clip(media_dir / "cpu-640.mp4", seconds=4, width=640, height=480, gop=25)
    sup, queue = supervisor_factory(pace=False, per_camera=64)
    cpu_before = time.process_time()
    sup.add(SourceSpec("big", str(big), 25))  # every frame decoded and sampled
    sup.add(SourceSpec("small", str(clip_gop25), 1))
    frames = drain(sup, queue)
    process_cpu = time.process_time() - cpu_before
    st = sup.statuses()
    assert len([f for f in frames if f.camera_id == "big"]) == 100
    big_cpu, small_cpu = st["big"].decode_cpu_s, st["small"].decode_cpu_s
    assert small_cpu > 0 and big_cpu > 0
    assert big_cpu + small_cpu <= process_cpu  # CPU of these threads, not wall time
    assert big_cpu > small_cpu  # 4x the pixels, every frame decoded and converted
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in camera_metrics(SimpleNamespace(camera_statuses=lambda: st))
        for s in family.samples
    }
    name = "vigil_camera_decode_cpu_seconds_total"
    assert samples[(name, (("camera", "big"),))] == big_cpu
    assert samples[(name, (("camera", "small"),))] == small_cpu


def test_the_total_carries_over_an_update_of_the_camera(
    clip_gop25: Path, supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=False, per_camera=64)
    sup.add(SourceSpec("cam", str(clip_gop25), 25))
    drain(sup, queue)
    first = sup.statuses()["cam"].decode_cpu_s
    assert first > 0
    sup.update(SourceSpec("cam", str(clip_gop25), 25))
    drain(sup, queue)
    assert sup.statuses()["cam"].decode_cpu_s > first  # a counter: never goes back
    sup.remove("cam")
    sup.add(SourceSpec("cam", str(clip_gop25), 1))  # one frame of each GOP decoded
    drain(sup, queue)
    assert 0 < sup.statuses()["cam"].decode_cpu_s < first  # a removed camera starts again
