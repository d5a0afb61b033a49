"""Annotated keyframes: the box is where the detector said, the label and banner are drawn,
the clean frame is untouched."""

from __future__ import annotations

import numpy as np

from storage.annotate import Annotation, annotate


def _scene() -> np.ndarray:
    img = np.full((360, 640, 3), 90, np.uint8)
    img[200:260, 400:460] = (0, 140, 255)  # a small orange patch
    return img


def test_box_surrounds_the_region_and_the_clean_frame_is_kept() -> None:
    img = _scene()
    before = img.copy()
    note = Annotation(
        "fire", 0.87, "Loading dock", "2026-12-02 19:03:07 CET", (0.625, 0.555, 0.72, 0.72)
    )
    out = annotate(img, note)
    assert np.array_equal(img, before)  # the input is not drawn on
    assert out.shape == img.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - img.astype(int)).max(axis=2) > 40
    x0, y0, x1, y1 = round(0.625 * 639), round(0.555 * 359), round(0.72 * 639), round(0.72 * 359)
    # the box's edges are drawn ...
    assert diff[y0, x0 + 5 : x1 - 5].all() and diff[y1, x0 + 5 : x1 - 5].all()
    assert diff[y0 + 5 : y1 - 5, x0].all() and diff[y0 + 5 : y1 - 5, x1].all()
    # ... what is inside stays visible ...
    assert not diff[y0 + 8 : y1 - 8, x0 + 8 : x1 - 8].any()
    # ... the label sits just above the box, the banner at the top, nothing elsewhere
    assert diff[y0 - 30 : y0 - 2, x0 : x0 + 60].any()
    assert diff[:30, :300].mean() > 0.5  # darkened banner with camera and time
    assert not diff[120:180, 20:300].any()


def test_without_a_region_the_label_goes_in_the_banner() -> None:
    img = _scene()
    out = annotate(img, Annotation("fall", 0.7, "cam-1", "2026-12-02 19:03:07 UTC", None))
    diff = np.abs(out.astype(int) - img.astype(int)).max(axis=2) > 40
    rows = np.flatnonzero(diff.any(axis=1))
    assert rows.max() < 90  # two banner rows, nothing drawn below
    assert diff[40:80].any()  # the second row: event and score


def test_a_malformed_or_empty_region_draws_no_box() -> None:
    img = _scene()
    for region in [(0.5, 0.5, 0.5, 0.5), (0.9, 0.9, 0.1, 0.1), (float("nan"), 0, 1, 1), (0, 1)]:
        out = annotate(img, Annotation("fire", 0.9, "cam", "t", region))
        diff = np.abs(out.astype(int) - img.astype(int)).max(axis=2) > 40
        assert not diff[120:, :].any()


def test_regions_outside_the_frame_are_clipped() -> None:
    img = _scene()
    out = annotate(img, Annotation("intrusion", 0.5, "cam", "t", (-0.5, 0.5, 1.5, 2.0)))
    assert out.shape == img.shape
    diff = np.abs(out.astype(int) - img.astype(int)).max(axis=2) > 40
    assert diff[180, 0] and diff[359, 320]  # left edge and bottom edge at the frame's border
