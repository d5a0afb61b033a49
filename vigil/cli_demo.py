"""``vigil demo``: the generated clip analysed with the embedded defaults, faster than real
time, and the incidents it found."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from streamer.masking import mask_url
from vigil.cli_common import load_or_exit as _load
from vigil.cli_common import open_store_or_exit as _open_store
from vigil.cli_incidents import print_detail
from vigil.cli_run import install_signals, start_app
from vigil.config import VigilConfig

err = Console(stderr=True)


def _prepare_storage(cfg: VigilConfig, config: Path, *, reset: bool) -> Path:
    """Make the demo's storage ready (exit 2 if refused); the SQLite database file."""
    from storage.paths import sqlite_file
    from vigil.demo import DemoRefused, prepare_demo_storage

    try:
        prepare_demo_storage(cfg.storage, config_file=config, reset=reset)
    except DemoRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    db_path = sqlite_file(cfg.storage)
    assert db_path is not None
    return db_path


def _clip_durations(cfg: VigilConfig, seed: int) -> dict[str, float]:
    """Each camera's clip length in seconds, generating the demo clips that need it."""
    from vigil.cli_status import progress_bar
    from vigil.scene import generate_scene

    durations: dict[str, float] = {}
    for cam in cfg.cameras:
        clip = Path(cam.url)
        if clip.suffix == ".mp4" and _needs_generating(clip, seed):
            typer.echo(f"generating the demo clip {clip} (seed {seed}) ...")
            clip.parent.mkdir(parents=True, exist_ok=True)
            with progress_bar(f"writing {clip.name}") as update:
                truth = generate_scene(clip, seed=seed, progress=update)
            durations[cam.id] = truth.duration_s
        else:
            durations[cam.id] = _clip_duration(clip)
    return durations


def _analyse(cfg: VigilConfig, durations: dict[str, float]) -> None:
    """Run the app over the clips with a progress bar on stderr."""
    app_obj = start_app(cfg, pace=False)
    install_signals(app_obj)
    done: dict[str, float] = {}
    with Progress(
        TextColumn("[bold]analysing[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(", ".join(durations), total=sum(durations.values()) or 1.0)

        def progress(_stats: Any) -> None:
            for cam_id, pts_s in app_obj.stream_positions().items():
                done[cam_id] = min(pts_s, durations.get(cam_id, pts_s))
            bar.update(task, completed=sum(done.values()))

        try:
            app_obj.run(progress=progress)
        finally:
            app_obj.stop()


def _print_incidents(cfg: VigilConfig) -> None:
    """Print how many incidents the database holds and each one, oldest first."""
    store = _open_store(cfg)
    try:
        records = store.list_incidents(limit=1000)
        typer.echo(f"\n{len(records)} incident(s)")
        for rec in sorted(records, key=lambda r: r.opened_ts_s):
            detail = store.get_incident(rec.incident_id)
            print_detail(detail, cfg.tz)
    finally:
        store.close()


def demo(
    config: Annotated[Path, typer.Option("-c", "--config", help="Demo config file.")] = Path(
        "configs/demo.yaml"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the generated demo clip.")] = 0,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Also reset data the demo did not create (only Vigil's database, journal "
            "and media files are deleted).",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show INFO logs.")] = False,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="Then serve the operator API on the results until Ctrl-C (with a demo login).",
        ),
    ] = True,
) -> None:
    """Run the demo: generated clip, embedded defaults, faster than real time."""
    cfg = _load(config, check_paths=True)
    if not verbose:
        logging.getLogger().setLevel(logging.WARNING)
    db_url = cfg.storage.database_url
    db_path = _prepare_storage(cfg, config, reset=reset)
    durations = _clip_durations(cfg, seed)
    _analyse(cfg, durations)
    _print_incidents(cfg)
    typer.echo(f"database: {mask_url(db_url)} ({db_path.resolve()})")
    typer.echo(f"try: vigil incidents list -c {config}")
    if serve:
        _serve(cfg)


#: The demo's login (its password is new at every run and printed).
DEMO_USER = "demo"


def _demo_login(ops: Any) -> str:
    """Create (or reset) the demo operator and return its new password."""
    from vigil.auth import generate_password, hash_password

    password = generate_password()
    if ops.user_with_hash(DEMO_USER) is None:
        ops.add_user(
            name=DEMO_USER, role="operator", password_hash=hash_password(password), cameras=None
        )
    else:
        ops.set_password(DEMO_USER, hash_password(password))
    return password


def _serve(cfg: VigilConfig) -> None:
    """Serve the API over the demo's database until Ctrl-C / SIGTERM."""
    import signal
    import threading

    from storage.operator_store import OperatorStore
    from vigil.cli_serve import start_api

    store = _open_store(cfg)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = start_api(cfg, store)
    if server is None:
        store.close()
        typer.echo(f"error: could not serve the API on {cfg.api.bind}", err=True)
        raise typer.Exit(1)
    password = _demo_login(OperatorStore(store))
    typer.echo(
        f"\nVigil console: {server.url}/  (live alerts, incidents, history, cameras)\n"
        f"Vigil API: {server.url}/api/docs  (OpenAPI {server.url}/api/openapi.json)\n"
        f"log in as {DEMO_USER} / {password}: in the console, or\n"
        f"  curl -c cookies -H 'content-type: application/json' "
        f'-d \'{{"username":"{DEMO_USER}","password":"{password}"}}\' '
        f"{server.url}/api/auth/login\n"
        f"  curl -b cookies {server.url}/api/incidents\n"
        "Ctrl-C stops."
    )
    try:
        stop.wait()
    finally:
        server.stop()
        store.close()


def _needs_generating(clip: Path, seed: int) -> bool:
    """A demo clip is (re)generated if missing, or if it is a generated one of another seed."""
    from vigil.scene import load_truth, truth_path

    if not clip.exists():
        return True
    if not truth_path(clip).exists():
        return False  # the user's own clip: used as it is
    try:
        return load_truth(clip).seed != seed
    except (OSError, ValueError, TypeError, KeyError):
        return True


def _clip_duration(path: Path) -> float:
    try:
        import av

        with av.open(str(path)) as c:
            if c.duration:
                return float(c.duration) / 1_000_000
    except Exception:
        return 0.0
    return 0.0
