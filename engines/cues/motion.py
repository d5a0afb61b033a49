"""The view's own motion (pan, zoom, shake) and exposure, so the cue rules can discount them.

Each sample's downscaled grey frame is registered to a *reference* frame of the camera (the
view as it was when the background model was last (re)learned): ORB features matched to the
reference's and a similarity transform (shift, scale, rotation) fitted with RANSAC; where the
scene has too little texture for features, phase correlation (Hanning window) on a smaller copy
gives the shift alone. The scorer warps each frame into the reference's coordinates before the
background model sees it, so a shaking or slightly drifting view is stabilised; once the view
has moved too far from the reference (a pan or zoom), the reference and the background are
relearned instead.

The exposure gain is the median ratio of the frame to the previous (compensated) one over
well-lit pixels; the scorer divides it out, so an exposure step or lights switching does not
flood the background model, and lets the correction relax slowly so that the model follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_ORB_FEATURES = 250
_MIN_INLIERS = 14  # fewer RANSAC inliers than this: too little texture, use phase correlation
_SMALL_SIDE = 240  # longest side of the copy used for phase correlation
_MIN_RESPONSE = 0.08  # phase-correlation peak below this: no trustworthy shift


@dataclass(frozen=True)
class ViewMotion:
    """A frame's transform into the reference's coordinates, and how it was found.

    ``matrix`` maps the frame's pixels to the reference's (2x3, downscaled pixels); ``ok`` is
    False when neither method found a trustworthy transform (the view changed too much).
    """

    matrix: np.ndarray
    ok: bool
    method: str
    inliers: int = 0

    @property
    def shift(self) -> tuple[float, float]:
        """The translation part (pixels)."""
        return float(self.matrix[0, 2]), float(self.matrix[1, 2])

    @property
    def scale(self) -> float:
        """The scale of the transform (1.0: no zoom)."""
        return float(np.hypot(self.matrix[0, 0], self.matrix[1, 0]))

    @property
    def rotation_deg(self) -> float:
        """The rotation of the transform, in degrees."""
        return float(np.degrees(np.arctan2(self.matrix[1, 0], self.matrix[0, 0])))


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float64)


@dataclass
class Reference:
    """A reference view: its grey frame, ORB features and small copy for phase correlation."""

    gray: np.ndarray
    keypoints: tuple[cv2.KeyPoint, ...]
    descriptors: np.ndarray | None
    small: np.ndarray
    small_scale: float


class ViewRegistrar:
    """Registers frames to a reference view (ORB + RANSAC, phase correlation as fallback)."""

    def __init__(self) -> None:
        self._orb = cv2.ORB.create(nfeatures=_ORB_FEATURES, fastThreshold=7, edgeThreshold=15)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self.ref: Reference | None = None

    def set_reference(self, gray: np.ndarray) -> None:
        """Make ``gray`` the reference view."""
        kps, des = self._orb.detectAndCompute(_half(gray), None)
        small, s = _small(gray)
        self.ref = Reference(gray, tuple(kps), des, small, s)

    def register(self, gray: np.ndarray) -> ViewMotion:
        """The transform of ``gray`` into the reference view (identity, not ok, without one)."""
        ref = self.ref
        if ref is None:
            return ViewMotion(IDENTITY.copy(), False, "none")
        kps, des = self._orb.detectAndCompute(_half(gray), None)
        found = None
        if des is not None and ref.descriptors is not None and len(kps) >= _MIN_INLIERS:
            found = self._features(tuple(kps), des, ref)
        small, sc = _small(gray)
        if found is not None:
            cand = _refined(small, sc, found, ref)
        else:
            cand = _phase(small, sc, ref, IDENTITY)
        return _validated(small, sc, cand, ref, gray.shape)

    def _features(
        self, kps: tuple[cv2.KeyPoint, ...], des: np.ndarray, ref: Reference
    ) -> ViewMotion | None:
        assert ref.descriptors is not None
        matches = self._matcher.match(des, ref.descriptors)
        if len(matches) < _MIN_INLIERS:
            return None
        src = np.array([kps[m.queryIdx].pt for m in matches], np.float32)
        dst = np.array([ref.keypoints[m.trainIdx].pt for m in matches], np.float32)
        m, inl = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0, maxIters=500
        )
        n_in = int(inl.sum()) if inl is not None else 0
        if m is None or n_in < _MIN_INLIERS or n_in < 0.25 * len(matches):
            return None
        full = np.asarray(m, np.float64).copy()
        full[:, 2] *= 2.0  # features are found at half size
        return ViewMotion(full, True, "orb", n_in)


def _half(gray: np.ndarray) -> np.ndarray:
    """``gray`` at half size (features are found there: a quarter of the cost)."""
    return cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def _small(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """A float32 copy of ``gray`` with its longest side at most ``_SMALL_SIDE``, and its scale."""
    s = min(1.0, _SMALL_SIDE / max(gray.shape))
    small = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else gray
    # sensor noise would dominate the whitened spectrum of a scene with little texture
    return cv2.GaussianBlur(small.astype(np.float32), (0, 0), 1.5), s


def _validated(
    small: np.ndarray, s: float, cand: ViewMotion, ref: Reference, shape: tuple[int, ...]
) -> ViewMotion:
    """``cand`` where it explains the frame better than no motion at all, else identity.

    The check is the median absolute difference to the reference over the small copies (less
    a margin), after warping by the candidate and without; a scene with too little texture
    to tell (or a candidate that does not fit) counts as a still view.
    """
    if cand.method == "none":
        return cand
    hh, ww = small.shape
    m_small = cand.matrix.copy()
    m_small[:, 2] *= s
    warped = cv2.warpAffine(small, m_small, (ww, hh), borderMode=cv2.BORDER_REFLECT)
    my, mx = hh // 12, ww // 12
    core = (slice(my, hh - my), slice(mx, ww - mx))
    # the median: the motion of most of the view, not of a large textured object moving in it
    d_id = float(np.median(np.abs(small[core] - ref.small[core])))
    d_m = float(np.median(np.abs(warped[core] - ref.small[core])))
    if d_m < 0.85 * d_id or centre_shift(cand.matrix, shape[1], shape[0]) < 0.3:
        return cand
    return ViewMotion(IDENTITY.copy(), True, "none", cand.inliers)


def _phase(small: np.ndarray, s: float, ref: Reference, init: np.ndarray) -> ViewMotion:
    """``init`` (frame to reference) with its shift corrected by phase correlation.

    ``small`` is the frame's small copy at scale ``s``. Where the correlation peak is weak (a
    scene with too little texture), ``init`` is kept.
    """
    hh, ww = small.shape
    if init is not IDENTITY:
        m_small = init.copy()
        m_small[:, 2] *= s
        small = cv2.warpAffine(small, m_small, (ww, hh), borderMode=cv2.BORDER_REFLECT)
    win = cv2.createHanningWindow((ww, hh), cv2.CV_32F)
    a = small - float(small.mean())
    b = ref.small - float(ref.small.mean())
    (dx, dy), response = cv2.phaseCorrelate(a, b, win)
    m = init.copy()
    if response < _MIN_RESPONSE:
        return ViewMotion(m, True, "none")
    m[0, 2] += dx / s
    m[1, 2] += dy / s
    return ViewMotion(m, True, "phase" if init is IDENTITY else "orb+phase")


def _refined(small: np.ndarray, s: float, found: ViewMotion, ref: Reference) -> ViewMotion:
    """The feature-based transform with its shift refined to sub-pixel by phase correlation."""
    fine = _phase(small, s, ref, found.matrix)
    if fine.method == "none" or np.hypot(*np.subtract(fine.shift, found.shift)) > 3.0:
        return found
    return ViewMotion(fine.matrix, True, fine.method, found.inliers)


def centre_shift(m: np.ndarray, w: int, h: int) -> float:
    """How far (pixels) the transform moves the frame's centre."""
    c = np.array([w / 2, h / 2, 1.0])
    x, y = m @ c
    return float(np.hypot(x - w / 2, y - h / 2))


def exposure_gain(gray: np.ndarray, ref: np.ndarray, valid: np.ndarray | None = None) -> float:
    """The median ratio of ``gray`` to ``ref`` over well-lit, unclipped pixels (1.0 if none)."""
    a = gray[::3, ::3].astype(np.float32)
    b = ref[::3, ::3].astype(np.float32)
    ok = (b > 20) & (b < 235) & (a > 5) & (a < 250)
    if valid is not None:
        ok &= valid[::3, ::3]
    if int(ok.sum()) < 200:
        return 1.0
    return float(np.median(a[ok] / b[ok]))


_RESET_SHIFT = 0.15  # moved this share of the frame width away from the reference: relearn
_RESET_SCALE = 0.12  # zoomed this much away from the reference: relearn
_RESET_ROT_DEG = 6.0
_MOVING_PX = 1.0  # per-sample centre shift above this: the view is moving
_MOVING_ZOOM = 0.01  # per-sample scale change above this: the view is zooming
_HOLD_SHIFT = 0.03  # per-sample shift above this share of the width: no fall may start
_HOLD_ZOOM = 0.03
_SETTLE_S = 1.5  # after a reset, blobs are ignored this long while the background relearns
_GAIN_STEP = 0.02  # exposure changes smaller than this per sample are left to the model
_GAIN_RELAX_S = 30.0  # time constant of the exposure correction's return to 1


@dataclass
class ViewState:
    """A camera's registration to its reference view, and its exposure correction."""

    registrar: ViewRegistrar
    matrix: np.ndarray
    gain: float = 1.0
    prev_img: np.ndarray | None = None
    prev_gray: np.ndarray | None = None
    prev_clipped: float = 0.0  # share of the previous sample's raw pixels at saturation
    settle_until_s: float = -1.0
    relearn_until_s: float = -1.0
    resets: int = 0


def new_view_state() -> ViewState:
    """A camera's view state before its first frame."""
    return ViewState(ViewRegistrar(), IDENTITY.copy())


@dataclass
class Stabilised:
    """One sample in the reference view's coordinates, and how the view moved to get there.

    ``inner`` is the part of the frame the camera actually saw this sample (x0, y0, x1, y1);
    outside it the previous sample's pixels are kept. ``reset``: the reference and the
    background are to be relearned now; ``settling``: blobs are not to be trusted yet;
    ``relearn``: the background model should learn quickly (after a reset, or an exposure step
    where highlights clip: what the correction cannot restore); ``hold``: the view moved
    too much this sample for a fall to start.
    """

    img: np.ndarray
    gray: np.ndarray
    colour: np.ndarray  # ``img`` before the exposure correction (true colours, for fire)
    inner: tuple[int, int, int, int]
    moved_px: float
    zoom: float
    gain: float
    gain_step: bool
    reset: bool
    settling: bool
    relearn: bool
    hold: bool

    def cues(self) -> dict[str, float]:
        """The view's motion and exposure as cues."""
        return {
            "camera_motion_px": round(self.moved_px, 2),
            "camera_zoom_ratio": round(self.zoom, 4),
            "camera_moving": float(self.moved_px > _MOVING_PX or abs(self.zoom - 1) > _MOVING_ZOOM),
            "camera_reset": float(self.reset),
            "exposure_gain": round(self.gain, 3),
        }


def stabilise(
    vs: ViewState, img: np.ndarray, gray: np.ndarray, pts_s: float, dt: float
) -> Stabilised:
    """Register a sample to the camera's reference view, warp it there and correct exposure."""
    h, w = gray.shape
    if vs.registrar.ref is None:
        vs.registrar.set_reference(gray)
        vs.prev_img, vs.prev_gray = img, gray
        return Stabilised(
            img, gray, img, (0, 0, w, h), 0.0, 1.0, 1.0, False, False, False, False, False
        )
    vm = vs.registrar.register(gray)
    m = vm.matrix
    c = np.array([w / 2, h / 2, 1.0])
    moved = float(np.hypot(*(m @ c - vs.matrix @ c)))
    zoom = vm.scale / max(float(np.hypot(vs.matrix[0, 0], vs.matrix[1, 0])), 1e-6)
    far = (
        not vm.ok
        or centre_shift(m, w, h) > _RESET_SHIFT * w
        or abs(vm.scale - 1) > _RESET_SCALE
        or abs(vm.rotation_deg) > _RESET_ROT_DEG
    )
    if far:
        vs.registrar.set_reference(gray)
        vs.resets += 1
        vs.settle_until_s = pts_s + _SETTLE_S
        m = IDENTITY.copy()
    vs.matrix = m
    inner = (0, 0, w, h)
    if not far and (centre_shift(m, w, h) > 0.25 or abs(vm.scale - 1) > 0.002):
        img, gray, inner = _warp(vs, img, gray, m)
    gain, step = _exposure(vs, gray, dt, far)
    clipped = float((gray[::4, ::4] >= 250).mean())
    # a correction cannot restore clipped highlights: there the model must relearn
    relearn_now = far or (step and max(clipped, vs.prev_clipped) > 0.0005)
    vs.prev_clipped = clipped
    colour = img
    if abs(gain - 1.0) > 0.01:
        img = cv2.convertScaleAbs(img, alpha=gain)
        gray = cv2.convertScaleAbs(gray, alpha=gain)
    vs.prev_img, vs.prev_gray = img, gray
    hold = moved > _HOLD_SHIFT * w or abs(zoom - 1) > _HOLD_ZOOM or step
    settling = pts_s < vs.settle_until_s
    if relearn_now:
        vs.relearn_until_s = pts_s + _SETTLE_S
    relearn = pts_s < vs.relearn_until_s
    return Stabilised(
        img, gray, colour, inner, moved, zoom, gain, step, far, settling, relearn, hold or settling
    )


def _warp(
    vs: ViewState, img: np.ndarray, gray: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """The sample warped into the reference view; where it saw nothing, the previous sample."""
    h, w = gray.shape
    assert vs.prev_img is not None and vs.prev_gray is not None
    out_img = vs.prev_img.copy()
    out_gray = vs.prev_gray.copy()
    cv2.warpAffine(img, m, (w, h), dst=out_img, borderMode=cv2.BORDER_TRANSPARENT)
    cv2.warpAffine(gray, m, (w, h), dst=out_gray, borderMode=cv2.BORDER_TRANSPARENT)
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float64) @ m.T
    x0 = max(0, int(np.ceil(max(corners[0, 0], corners[3, 0]))))
    x1 = min(w, int(np.floor(min(corners[1, 0], corners[2, 0]))))
    y0 = max(0, int(np.ceil(max(corners[0, 1], corners[1, 1]))))
    y1 = min(h, int(np.floor(min(corners[2, 1], corners[3, 1]))))
    return out_img, out_gray, (x0, y0, max(x0 + 1, x1), max(y0 + 1, y1))


def _exposure(vs: ViewState, gray: np.ndarray, dt: float, reset: bool) -> tuple[float, bool]:
    """The exposure correction for this sample, and whether the exposure stepped."""
    if reset or vs.prev_gray is None:
        vs.gain = 1.0
        return 1.0, False
    rel = exposure_gain(gray, vs.prev_gray) * vs.gain
    step = abs(rel - 1.0) > _GAIN_STEP
    if step:
        vs.gain /= rel
    # relax the correction back to 1 slowly, so the background model follows the new light
    vs.gain = float(np.exp(np.log(vs.gain) * max(0.0, 1.0 - dt / _GAIN_RELAX_S)))
    vs.gain = min(4.0, max(0.25, vs.gain))
    return vs.gain, step
