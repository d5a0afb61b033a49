"""Source descriptions, URL checks, opening through FFmpeg (PyAV) and error classification."""

from __future__ import annotations

import enum
import errno
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import av
import av.error
from av.container import InputContainer

from streamer.masking import mask_text, mask_url
from streamer.settings import StreamerConfig


@dataclass(frozen=True)
class SourceSpec:
    """One camera's source.

    ``url``: ``rtsp://``, ``rtsps://``, ``http(s)://`` (HLS or any FFmpeg-readable stream), a
    plain file path or ``file://``, or ``/dev/videoN``. ``fps``: samples per second of stream
    time (1..5 in configs; any positive rate is accepted here). ``transport`` overrides the
    configured RTSP transport (``tcp``/``udp``). ``loop`` replays a file source forever (demos).
    ``start_wall_s``: for a file, the wall-clock time (Unix seconds) of its first frame; when
    None, the container's ``creation_time`` is used if it has one, else when reading starts.
    """

    camera_id: str
    url: str
    fps: float
    transport: str | None = None
    name: str | None = None
    loop: bool = False
    start_wall_s: float | None = None

    def __post_init__(self) -> None:
        if not self.camera_id:
            raise ValueError("SourceSpec.camera_id must not be empty")
        if not 0 < self.fps <= 1000:
            raise ValueError(f"camera {self.camera_id!r}: fps must be > 0, got {self.fps}")
        if self.transport is not None and self.transport not in ("tcp", "udp"):
            raise ValueError(
                f"camera {self.camera_id!r}: transport must be 'tcp' or 'udp', "
                f"got {self.transport!r}"
            )

    @property
    def masked_url(self) -> str:
        """The URL with its password masked."""
        return mask_url(self.url)


class SourceKind(enum.StrEnum):
    """How a URL is read."""

    RTSP = "rtsp"
    HTTP = "http"
    FILE = "file"
    DEVICE = "device"

    @property
    def live(self) -> bool:
        """Live sources reconnect; files end."""
        return self is not SourceKind.FILE


class SourceError(Exception):
    """A source could not be opened or read.

    ``kind`` is one of ``malformed_url``, ``auth``, ``not_found``, ``unsupported_codec``,
    ``no_video``, ``timeout``, ``connection_refused``, ``invalid_data``, ``io``; ``permanent``
    errors are not worth a quick retry. ``message`` never contains a password.
    """

    def __init__(self, kind: str, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.permanent = permanent

    def __str__(self) -> str:
        return self.message


#: HLS delivers a segment at a time: seconds of silence between segments are normal.
HLS_MIN_READ_TIMEOUT_S = 15.0
HLS_MIN_STALL_S = 10.0


@dataclass(frozen=True)
class ParsedSource:
    """A checked URL: its kind and what to hand to FFmpeg."""

    kind: SourceKind
    target: str  # path or URL given to av.open
    format: str | None  # FFmpeg demuxer to force (v4l2 for devices)

    @property
    def hls(self) -> bool:
        """An HLS playlist (``.m3u8``), which arrives in segments."""
        return self.kind is SourceKind.HTTP and urlsplit(self.target).path.lower().endswith(
            (".m3u8", ".m3u")
        )

    def read_timeout_s(self, config: StreamerConfig) -> float:
        """How long a read may wait for data (longer for HLS, whose segments come in bursts)."""
        if self.hls:
            return max(config.read_timeout_s, HLS_MIN_READ_TIMEOUT_S)
        return config.read_timeout_s

    def stall_s(self, config: StreamerConfig) -> float:
        """Silence after which an online source is marked stalled."""
        return max(config.stall_s, HLS_MIN_STALL_S) if self.hls else config.stall_s


def parse_source(url: str) -> ParsedSource:
    """Check ``url`` and tell how to read it; raises :class:`SourceError` (``malformed_url``)."""
    masked = mask_url(url)
    if not url or url != url.strip() or any(c in url for c in "\r\n\t\0"):
        raise SourceError("malformed_url", f"malformed URL {masked!r}", permanent=True)
    if url.startswith("/dev/"):
        return ParsedSource(SourceKind.DEVICE, url, "v4l2")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a non-numeric port
    except ValueError as exc:
        raise SourceError(
            "malformed_url", f"malformed URL {masked!r}: {exc}", permanent=True
        ) from None
    scheme = parts.scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        if not parts.hostname:
            raise SourceError("malformed_url", f"malformed URL {masked!r}: no host", permanent=True)
        return ParsedSource(SourceKind.RTSP, url, None)
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise SourceError("malformed_url", f"malformed URL {masked!r}: no host", permanent=True)
        return ParsedSource(SourceKind.HTTP, url, None)
    if scheme == "file":
        path = unquote(parts.path)
        if not path:
            raise SourceError("malformed_url", f"malformed URL {masked!r}: no path", permanent=True)
        if path.startswith("/dev/"):
            return ParsedSource(SourceKind.DEVICE, path, "v4l2")
        return ParsedSource(SourceKind.FILE, path, None)
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        return ParsedSource(SourceKind.FILE, url, None)
    raise SourceError(
        "malformed_url",
        f"unsupported URL scheme {scheme!r} in {masked!r} "
        "(use rtsp://, rtsps://, http(s)://, file:// or a path)",
        permanent=True,
    )


def open_options(
    parsed: ParsedSource, config: StreamerConfig, transport: str | None
) -> dict[str, str]:
    """FFmpeg options for a source: transport, socket timeouts, short probing."""
    read_us = str(int(parsed.read_timeout_s(config) * 1_000_000))
    analyze_us = str(int(config.analyze_s * 1_000_000))
    if parsed.kind is SourceKind.RTSP:
        return {
            "rtsp_transport": transport or config.transport,
            "timeout": read_us,  # socket I/O timeout (FFmpeg >= 5; `stimeout` is ignored)
            "analyzeduration": analyze_us,
        }
    if parsed.kind is SourceKind.HTTP:
        return {"timeout": read_us, "rw_timeout": read_us, "analyzeduration": analyze_us}
    return {}


def open_container(
    url: str, config: StreamerConfig, transport: str | None = None
) -> tuple[InputContainer, ParsedSource]:
    """Open a source with open and read timeouts set; raises :class:`SourceError`."""
    parsed = parse_source(url)
    if parsed.kind is SourceKind.FILE and not os.path.exists(parsed.target):
        raise SourceError(
            "not_found", f"not found: no such file {mask_url(parsed.target)!r}", permanent=True
        )
    kwargs: dict[str, Any] = {
        "options": open_options(parsed, config, transport),
        "timeout": (config.open_timeout_s, parsed.read_timeout_s(config)),
    }
    if parsed.format:
        kwargs["format"] = parsed.format
    started = time.monotonic()
    try:
        container = av.open(parsed.target, "r", **kwargs)
    except Exception as exc:  # FFmpeg reports everything as exceptions; classify them all
        error = classify_error(exc, url, parsed.kind)
        waited = time.monotonic() - started
        slow = waited >= 0.9 * min(config.open_timeout_s, config.read_timeout_s)
        if parsed.kind.live and slow and error.kind in ("invalid_data", "io"):
            # A server that accepts the connection but never answers makes FFmpeg fail with
            # whatever its socket timeout produced (often "invalid data"): that is a timeout.
            error = SourceError(
                "timeout",
                f"timeout: {mask_url(url)} (no answer within {waited:.1f}s; {_detail(exc, url)})",
                permanent=False,
            )
        raise error from exc
    if not container.streams.video:
        container.close()
        raise SourceError("no_video", f"no video stream in {mask_url(url)!r}", permanent=True)
    return container, parsed


def classify_error(exc: BaseException, url: str, kind: SourceKind) -> SourceError:
    """Turn an FFmpeg/OS exception into a :class:`SourceError` with a clear, masked reason."""
    if isinstance(exc, SourceError):
        return exc
    masked = mask_url(url)
    detail = _detail(exc, url)

    def err(k: str, what: str, permanent: bool) -> SourceError:
        return SourceError(k, f"{what}: {masked} ({detail})", permanent=permanent)

    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return err("auth", "authentication failed", True)
    if isinstance(exc, av.error.HTTPNotFoundError | FileNotFoundError):
        return err("not_found", "not found", True)
    if isinstance(exc, av.error.DecoderNotFoundError):
        return err("unsupported_codec", "unsupported codec", True)
    if isinstance(exc, av.error.ProtocolNotFoundError | av.error.DemuxerNotFoundError):
        return err("unsupported_codec", "unsupported protocol or format", True)
    if isinstance(exc, PermissionError):
        if kind.live and kind is not SourceKind.DEVICE:
            # FFmpeg's RTSP client reports a refused PLAY/SETUP with an unmapped status
            # (e.g. 500/503) as EPERM: a server-side error, worth a normal retry.
            return err("io", "server refused the request", False)
        return err("auth", "permission denied", True)
    if isinstance(exc, av.error.ExitError | TimeoutError) or (
        isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT
    ):
        return err("timeout", "timeout", False)
    if isinstance(exc, ConnectionRefusedError):
        return err("connection_refused", "connection refused", False)
    if isinstance(exc, av.error.HTTPClientError):
        return err("not_found", "request refused", True)
    if isinstance(exc, av.error.InvalidDataError):
        # A file that isn't media stays that way; a network server may recover.
        return err("invalid_data", "invalid data (not a readable video stream)", not kind.live)
    if isinstance(exc, IsADirectoryError | NotADirectoryError):
        return err("not_found", "not a file", True)
    return err("io", "read error", False)


def _detail(exc: BaseException, url: str) -> str:
    """The exception's message without the URL FFmpeg appends (and without secrets)."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return mask_text(str(text), url)
