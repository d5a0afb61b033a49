"""``vigil cameras``: check a camera URL before adding it."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.config import ConfigError, load_config

if TYPE_CHECKING:
    from streamer.probe import ProbeResult
    from streamer.settings import StreamerConfig

app = typer.Typer(help="Cameras: test a URL before saving it.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Cameras: test a URL before saving it."""


#: Exit status for each kind of probe failure (0 = OK, 2 = bad config file).
EXIT_CODES = {
    "auth": 3,
    "not_found": 4,
    "timeout": 5,
    "connection_refused": 5,
    "unsupported_codec": 6,
    "no_video": 6,
    "invalid_data": 6,
    "malformed_url": 7,
}
_WHAT = {
    "auth": "authentication failed",
    "not_found": "not found",
    "timeout": "timeout",
    "connection_refused": "connection refused",
    "unsupported_codec": "unsupported codec",
    "no_video": "no video stream",
    "invalid_data": "not a readable video stream",
    "malformed_url": "malformed URL",
}


@app.command("probe")
def probe_cmd(
    url: Annotated[str, typer.Argument(help="rtsp://, rtsps://, http(s)://, file or /dev/videoN")],
    transport: Annotated[
        str | None, typer.Option("--transport", help="RTSP transport: tcp or udp.")
    ] = None,
    snapshot: Annotated[
        Path | None,
        typer.Option("--snapshot", help="Where to write the snapshot JPEG (default: a temp file)."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Open and read timeout in seconds (default: config's)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("-c", "--config", help="Config file whose streamer: settings to use."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Open URL; print codec, resolution, fps, keyframe interval, time to first frame and a
    snapshot JPEG's path, or a clear error (authentication failed, not found, timeout,
    unsupported codec)."""
    from streamer.probe import probe
    from streamer.source import SourceError

    settings = _settings(config, timeout)
    if transport is not None and transport not in ("tcp", "udp"):
        typer.echo(f"error: --transport must be tcp or udp, got {transport!r}", err=True)
        raise typer.Exit(2)
    temp: Path | None = None
    if snapshot is None:
        fd, name = tempfile.mkstemp(prefix="vigil-probe-", suffix=".jpg")
        os.close(fd)
        snapshot = temp = Path(name)
    try:
        result = probe(url, config=settings, transport=transport, snapshot_path=snapshot)
    except (SourceError, OSError) as exc:
        raise _fail(exc, temp, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps({"ok": True, **asdict(result)}))
        return
    _print_result(result)


def _settings(config: Path | None, timeout: float | None) -> StreamerConfig:
    """The streamer settings of ``config`` (defaults without), with ``--timeout`` applied."""
    from streamer.settings import StreamerConfig

    settings = StreamerConfig()
    if config is not None:
        try:
            settings = load_config(config).streamer
        except ConfigError as exc:
            for issue in exc.issues:
                typer.echo(str(issue), err=True)
            raise typer.Exit(2) from None
    if timeout is not None:
        if not 0.5 <= timeout <= 120:
            typer.echo("error: --timeout must be between 0.5 and 120 seconds", err=True)
            raise typer.Exit(2)
        settings = settings.model_copy(
            update={
                "open_timeout_s": timeout,
                "read_timeout_s": timeout,
                "stall_s": min(settings.stall_s, timeout / 2),
            }
        )
    return settings


def _fail(exc: Exception, temp: Path | None, *, as_json: bool) -> typer.Exit:
    """Say why the probe failed (JSON or a line on stderr); the exit to raise."""
    from streamer.source import SourceError

    if temp is not None:
        temp.unlink(missing_ok=True)
    if not isinstance(exc, SourceError):  # the snapshot could not be written
        typer.echo(f"error: {exc}", err=True)
        return typer.Exit(1)
    what = _WHAT.get(exc.kind, "error")
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": exc.kind, "message": exc.message}))
    else:
        text = exc.message if exc.message.startswith(what) else f"{what}: {exc.message}"
        typer.echo(f"error: {text}", err=True)
    return typer.Exit(EXIT_CODES.get(exc.kind, 1))


def _print_result(result: ProbeResult) -> None:
    """The probe's findings, one ``key: value`` line each."""
    fps = f"{result.fps:.2f}" if result.fps else "unknown"
    if result.keyframe_interval_s is None:
        keyint = "unknown (fewer than two keyframes seen)"
    else:
        frames = result.keyframe_interval_frames
        keyint = f"{result.keyframe_interval_s:.2f} s" + (f" ({frames} frames)" if frames else "")
    codec = result.codec + (f" ({result.profile})" if result.profile else "")
    rows = [
        ("url", result.url),
        ("codec", codec),
        ("resolution", f"{result.width}x{result.height}"),
        ("fps", fps),
        ("keyframe interval", keyint),
        ("time to first frame", f"{result.time_to_first_frame_s:.2f} s"),
        ("snapshot", result.snapshot_path or "-"),
    ]
    for key, value in rows:
        typer.echo(f"{key + ':':<21}{value}")
