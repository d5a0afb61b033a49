"""Media store: keyframes, clips, safe paths, retention (never an open incident's media)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from storage_workload import make_update

from storage.errors import MediaError, StorageFull
from storage.media import ClipCollector, MediaStore, clip_frames
from storage.records import MediaRef
from storage.settings import RetentionConfig, StorageConfig
from storage.store import Store
from streamer.types import Frame

T0 = 1_700_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _frame(i: int, *, w: int = 160, h: int = 120, fps: float = 5.0) -> Frame:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : (i * 7) % w] = (0, 0, 255)  # a red bar that grows: frames differ
    cv2.putText(img, str(i), (10, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
    return Frame(camera_id="cam-a", seq=i, pts_s=i / fps, ts_s=T0 + i / fps, image=img)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_store(storage_config: StorageConfig, clock: Clock) -> Store:
    store = Store.open(storage_config, clock=clock)
    store.upsert_camera(camera_id="cam-a", name="A", location=None, url_masked="x")
    yield store  # type: ignore[misc]
    store.close()


def test_keyframe_is_a_jpeg_inside_the_media_dir(tmp_path: Path) -> None:
    media = MediaStore(StorageConfig(media_dir=str(tmp_path / "m")))
    img = _frame(3).image
    ref = media.save_keyframe("cam-a-1", img, T0 + 1.5, "onset")
    assert ref.kind == "keyframe:onset" and ref.content_type == "image/jpeg"
    assert (ref.width, ref.height) == (160, 120)
    path = media.path_of(ref)
    assert path.is_relative_to(tmp_path / "m") and path.stat().st_size == ref.bytes
    back = cv2.imread(str(path))
    assert back.shape == img.shape
    assert float(np.abs(back.astype(int) - img.astype(int)).mean()) < 8
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_clip_is_h264_mp4_with_the_frames_timing(tmp_path: Path) -> None:
    media = MediaStore(StorageConfig(media_dir=str(tmp_path / "m")))
    frames = [_frame(i, w=161, h=121) for i in range(20)]  # odd sizes get evened
    ref = media.save_clip("cam-a-1", frames, fps=5.0)
    assert ref.content_type == "video/mp4" and ref.kind == "clip"
    assert (ref.width, ref.height) == (160, 120)
    assert ref.duration_s == pytest.approx(4.0, abs=0.01)
    with av.open(str(media.path_of(ref))) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        decoded = list(container.decode(stream))
    assert len(decoded) == 20
    times = [float(f.time) for f in decoded]
    assert times[-1] - times[0] == pytest.approx(19 / 5.0, abs=0.01)


def test_clip_frames_and_collector_take_seconds_before_and_after_onset() -> None:
    frames = [_frame(i) for i in range(50)]  # 0.0 .. 9.8 s at 5 fps
    chosen = clip_frames(frames, onset_pts_s=5.0, before_s=2.0, after_s=1.0)
    assert chosen[0].pts_s == pytest.approx(3.0) and chosen[-1].pts_s == pytest.approx(6.0)
    collector = ClipCollector(frames[:26], onset_pts_s=5.0, before_s=2.0, after_s=1.0)
    done = [collector.add(f) for f in frames[26:31]]
    assert done == [False, False, False, False, True]
    assert [f.seq for f in collector.frames] == list(range(15, 31))


@pytest.mark.parametrize(
    "bad", ["../escape", "a/../../b", "/etc/passwd", "", "x\x00y", "..", "a\\b"]
)
def test_paths_cannot_escape_the_media_dir(tmp_path: Path, bad: str) -> None:
    media = MediaStore(StorageConfig(media_dir=str(tmp_path / "m")))
    with pytest.raises(MediaError):
        media.path_of(bad)


def test_symlink_out_of_the_media_dir_is_refused(tmp_path: Path) -> None:
    media = MediaStore(StorageConfig(media_dir=str(tmp_path / "m")))
    (tmp_path / "outside").mkdir()
    (tmp_path / "m" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(MediaError, match="leaves the media directory"):
        media.path_of("link/file.jpg")


@pytest.mark.parametrize("bad_id", ["../x", "a/b", ".hidden", "x..y", "", "a" * 129, "é"])
def test_incident_ids_that_could_escape_are_refused(tmp_path: Path, bad_id: str) -> None:
    media = MediaStore(StorageConfig(media_dir=str(tmp_path / "m")))
    with pytest.raises(MediaError, match="cannot name a media folder"):
        media.save_keyframe(bad_id, _frame(0).image, T0)
    assert list((tmp_path / "m").iterdir()) == []


def test_bad_keyframe_input_is_a_clear_error(tmp_path: Path) -> None:
    media = MediaStore(StorageConfig(media_dir=str(tmp_path / "m")))
    with pytest.raises(MediaError, match="HxWx3 uint8"):
        media.save_keyframe("i-1", np.zeros((4, 4), np.float32), T0)
    with pytest.raises(MediaError, match="kind"):
        media.save_keyframe("i-1", _frame(0).image, T0, "../x")
    with pytest.raises(MediaError, match="no frames"):
        media.save_clip("i-1", [], fps=2)


def _save(media: MediaStore, store: Store, incident: str, size: int = 2000) -> MediaRef:
    rng = np.random.default_rng(len(incident))
    img = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    ref = media.save_keyframe(incident, img, store.now_s(), "onset")
    store.add_media(ref)
    return ref


def test_retention_by_age_keeps_open_incidents(
    timed_store: Store, storage_config: StorageConfig, clock: Clock
) -> None:
    cfg = storage_config.model_copy(update={"retention": RetentionConfig(days=1, max_gb=10)})
    media = MediaStore(cfg, clock=clock)
    timed_store.record(make_update("old-closed", 1))
    timed_store.record(make_update("old-closed", 2, closed=True))
    timed_store.record(make_update("old-open", 1))
    old_closed = _save(media, timed_store, "old-closed")
    old_open = _save(media, timed_store, "old-open")
    clock.now += 2 * 86400
    timed_store.record(make_update("new-closed", 1))
    timed_store.record(make_update("new-closed", 2, closed=True))
    new_closed = _save(media, timed_store, "new-closed")

    result = media.sweep(timed_store)
    assert [r.path for r in result.deleted] == [old_closed.path]
    assert result.kept_open == 1 and result.deleted_bytes == old_closed.bytes
    assert not media.path_of(old_closed).exists()
    assert not media.path_of(old_closed).parent.exists()  # empty folders go too
    assert media.path_of(old_open).exists() and media.path_of(new_closed).exists()
    remaining = {r.ref.path for r in timed_store.media_for_retention()}
    assert remaining == {old_open.path, new_closed.path}
    assert media.sweep(timed_store).deleted == ()  # nothing more to do


def test_retention_by_size_deletes_oldest_first_never_open(
    timed_store: Store, storage_config: StorageConfig, clock: Clock
) -> None:
    timed_store.record(make_update("open-1", 1))
    refs = []
    media = MediaStore(storage_config, clock=clock)
    refs.append(("open-1", _save(media, timed_store, "open-1")))
    for i in range(4):
        iid = f"closed-{i}"
        timed_store.record(make_update(iid, 1))
        timed_store.record(make_update(iid, 2, closed=True))
        clock.now += 60
        refs.append((iid, _save(media, timed_store, iid)))
    sizes = {iid: r.bytes for iid, r in refs}
    total = sum(sizes.values())
    # room for everything but the two oldest closed incidents' media
    limit = total - sizes["closed-0"] - sizes["closed-1"] + 1
    cfg = storage_config.model_copy(
        update={"retention": RetentionConfig(days=365, max_gb=limit / 1024**3)}
    )
    result = MediaStore(cfg, clock=clock).sweep(timed_store)
    assert [r.incident_id for r in result.deleted] == ["closed-0", "closed-1"]
    assert result.kept_open == 1  # the open incident's (oldest) media was passed over
    assert result.remaining_bytes == total - sizes["closed-0"] - sizes["closed-1"]
    assert media.path_of(refs[0][1]).exists()


def test_retention_deletes_old_orphan_files_only(
    timed_store: Store, storage_config: StorageConfig, clock: Clock, tmp_path: Path
) -> None:
    media = MediaStore(storage_config, clock=clock)
    orphan = media.path_of("2023-11-14/ghost/keyframe-onset-1.jpg")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x" * 10)
    fresh = media.path_of("2023-11-14/ghost/keyframe-onset-2.jpg")
    fresh.write_bytes(b"y")
    old = clock.now - 2 * 3600
    os.utime(orphan, (old, old))
    os.utime(fresh, (clock.now, clock.now))
    result = media.sweep(timed_store)
    assert result.orphans_deleted == 1
    assert not orphan.exists() and fresh.exists()


def test_media_dir_on_a_full_disk_is_a_clear_error_and_leaves_no_partial_file(
    tmp_path: Path,
) -> None:
    mnt = tmp_path / f"full-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill here: {res.stderr.decode().strip()}")
    try:
        media = MediaStore(StorageConfig(media_dir=str(mnt)))
        noise = np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8)
        with pytest.raises(StorageFull, match="media disk full"):
            for i in range(50):
                media.save_keyframe(f"inc-{i}", noise, T0 + i)
        leftovers = [p for p in mnt.rglob("*") if p.is_file() and p.name.startswith(".tmp-")]
        assert leftovers == []
        for p in mnt.rglob("*.jpg"):
            assert cv2.imread(str(p)) is not None  # every file under a real name is whole
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
