"""The clips of open incidents: frames collected per incident, then handed to the clip thread.

A clip starts at an incident's onset with the window's recent frames and collects live frames
until ``clip_after_s`` past the onset. It is then written by :class:`storage.clips.ClipWriter`
from the camera's own packets when its :class:`streamer.prebuffer.PacketBuffer` holds the span
(full frame rate), else from the sampled frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.types import IncidentUpdate
from storage.clips import ClipJob, ClipWriter
from storage.media import ClipCollector
from storage.records import MediaRef
from storage.settings import MediaConfig
from streamer.prebuffer import PacketBuffer
from streamer.types import Frame

ClipDone = Callable[[MediaRef | None], None]


@dataclass
class OpenClip:
    """One incident's clip while its frames are collected."""

    incident_id: str
    camera_id: str
    collector: ClipCollector


class ClipRecorder:
    """Collects each open incident's clip and submits it once complete (or when told).

    ``fps_of(camera_id)`` is the camera's sampling rate (None once it is gone);
    ``packets_of(camera_id)`` its packet buffer, if any; ``on_late`` records a clip written
    after its incident's update (journalled after it).
    """

    def __init__(
        self,
        writer: ClipWriter | None,
        settings: MediaConfig,
        *,
        fps_of: Callable[[str], float | None],
        packets_of: Callable[[str], PacketBuffer | None],
        on_late: Callable[[MediaRef], None],
    ) -> None:
        self.writer = writer
        self.settings = settings
        self._fps_of = fps_of
        self._packets_of = packets_of
        self._on_late = on_late
        self._clips: list[OpenClip] = []

    def record_late(self, ref: MediaRef | None) -> None:
        """A clip written after its incident's update: recorded after it."""
        if ref is not None:
            self._on_late(ref)

    def start(self, upd: IncidentUpdate, history: Sequence[Frame]) -> None:
        """Start the clip of an incident that just opened, from its camera's recent frames."""
        if self.writer is None:
            return
        collector = ClipCollector(
            history,
            onset_pts_s=upd.onset_pts_s,
            before_s=self.settings.clip_before_s,
            after_s=self.settings.clip_after_s,
        )
        self._clips.append(OpenClip(upd.incident_id, upd.camera_id, collector))

    def feed(self, frame: Frame) -> None:
        """Add a live frame to its camera's clips; a complete clip goes to the clip thread."""
        for clip in list(self._clips):
            if clip.camera_id == frame.camera_id and clip.collector.add(frame):
                self.encode(clip, self.record_late)

    def take(self, incident_id: str) -> list[OpenClip]:
        """The clips still collecting for an incident (a close writes them at once)."""
        return [c for c in self._clips if c.incident_id == incident_id]

    def finish_camera(self, camera_id: str, packets: PacketBuffer | None) -> None:
        """Write the clips of a camera that is going away, from the packets it had."""
        for clip in [c for c in self._clips if c.camera_id == camera_id]:
            self.encode(clip, self.record_late, packets=packets)

    def finish_all(self) -> None:
        """Write every clip still collecting (the streams ended or Vigil stops)."""
        for clip in list(self._clips):
            self.encode(clip, self.record_late)

    def pending_for(self, incident_id: str) -> bool:
        """Whether the clip thread still has a clip of this incident to write."""
        return self.writer is not None and self.writer.pending_for(incident_id)

    def after_pending(self, incident_id: str, done: ClipDone) -> None:
        """Run ``done(None)`` on the clip thread once the incident's pending clips are written."""
        assert self.writer is not None
        self.writer.submit(ClipJob(incident_id, (), 0.0, done))

    def encode(
        self,
        clip: OpenClip,
        done: ClipDone,
        *,
        late: Callable[[MediaRef], None] | None = None,
        packets: PacketBuffer | None = None,
    ) -> None:
        """Hand a clip to the clip thread; ``done`` runs exactly once (``None``: no clip).

        The camera's own packets make the clip when its buffer holds the span (full frame
        rate); the sampled frames are the fallback.
        """
        if clip in self._clips:
            self._clips.remove(clip)
        frames = clip.collector.frames
        if self.writer is None or len(frames) < 2:
            done(None)
            return
        fps = self._fps_of(clip.camera_id) or 2.0
        if packets is None:
            packets = self._packets_of(clip.camera_id)
        packet_clip = None
        if packets is not None:
            c = clip.collector
            packet_clip = packets.clip(
                c.onset_pts_s - c.before_s, min(frames[-1].pts_s + 1.0 / fps, c.done_at_pts_s)
            )
        self.writer.submit(
            ClipJob(
                clip.incident_id,
                frames,
                fps,
                done,
                late or self.record_late,
                packets=packet_clip,
            )
        )
