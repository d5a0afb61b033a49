"""Zones and masks: where in the picture an event counts, and under which zone name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from detectors.settings import ZoneConfig
from engines.types import Box


@dataclass(frozen=True)
class ZoneDecision:
    """Whether a detection counts, and the zone it was seen in."""

    counts: bool
    zone: str | None


def _anchor(box: Box) -> tuple[float, float]:
    """The point of a box that decides its zone: bottom centre (where a figure stands)."""
    x0, _, x1, y1 = box
    return ((x0 + x1) / 2.0, y1 - 1e-6)


def _inside(zone: ZoneConfig, point: tuple[float, float]) -> bool:
    poly = np.asarray(zone.polygon, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(poly, (float(point[0]), float(point[1])), False) >= 0


def applies(zone: ZoneConfig, event: str) -> bool:
    """A zone with no event list applies to every event."""
    return not zone.events or event in zone.events


class ZoneFilter:
    """Applies a camera's zones to detections of each event type.

    * A mask zone drops detections of its events whose anchor lies inside it.
    * A zone that lists events explicitly restricts those events to inside such zones.
    * A zone with no event list only labels detections inside it.
    A detection with no region (the scorer did not say where) counts, with no zone, unless the
    event is restricted to zones.
    """

    def __init__(self, zones: Sequence[ZoneConfig]) -> None:
        self.zones = list(zones)

    def decide(self, event: str, box: Box | None) -> ZoneDecision:
        """Decide whether a detection of ``event`` at ``box`` counts, and in which zone."""
        relevant = [z for z in self.zones if applies(z, event)]
        restricting = [z for z in relevant if not z.mask and z.events]
        if box is None:
            return ZoneDecision(counts=not restricting, zone=None)
        point = _anchor(box)
        for z in relevant:
            if z.mask and _inside(z, point):
                return ZoneDecision(counts=False, zone=None)
        for z in restricting:
            if _inside(z, point):
                return ZoneDecision(counts=True, zone=z.name)
        if restricting:
            return ZoneDecision(counts=False, zone=None)
        for z in relevant:
            if not z.mask and _inside(z, point):
                return ZoneDecision(counts=True, zone=z.name)
        return ZoneDecision(counts=True, zone=None)
