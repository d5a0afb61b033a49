"""Cameras added at run time: their stored form (secrets only as ``${VAR}``) and its expansion.

The database keeps a runtime camera's config as given, where every secret of its URL must be
an environment reference (``rtsp://user:${DOCK_PASSWORD}@host/...``); the reader gets the URL
with the references replaced from the environment. Literal passwords are refused.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from streamer.masking import register_url_secrets, url_secrets
from vigil.config import CameraConfig
from vigil.config_yaml import _ENV_REF

if TYPE_CHECKING:
    from vigil.app import App

log = logging.getLogger(__name__)


class CameraSecretError(ValueError):
    """A runtime camera's URL holds a literal secret, or names an unset variable."""


def literal_secrets(url: str) -> bool:
    """True if a secret of ``url`` (password, secret query value) is not a bare ``${VAR}``.

    ``${VAR:-default}`` counts as literal: its default would be kept in plain text.
    """
    refs = [_ENV_REF.fullmatch(secret) for secret in url_secrets(url)]
    return any(m is None or m["default"] is not None for m in refs)


def expand_url(url: str, env: Mapping[str, str]) -> str:
    """``url`` with each ``${VAR}`` (or ``${VAR:-default}``) replaced from ``env``."""
    missing: list[str] = []

    def repl(m: Any) -> str:
        if m["name"] in env:
            return env[m["name"]]
        if m["default"] is not None:
            return str(m["default"])
        missing.append(m["name"])
        return ""

    expanded = _ENV_REF.sub(repl, url)
    if missing:
        raise CameraSecretError(
            f"environment variable(s) {', '.join(missing)} not set in the Vigil process"
        )
    return expanded


def check_stored_form(cam: CameraConfig) -> None:
    """Refuse a camera whose URL would keep a secret in plain text."""
    if literal_secrets(cam.url):
        raise CameraSecretError(
            "the URL holds a password in plain text; put it in an environment variable of the "
            "Vigil process and write it as ${VAR} (e.g. rtsp://user:${CAM_PASSWORD}@host/stream)"
        )


def resolve(stored: Mapping[str, Any], env: Mapping[str, str] | None = None) -> CameraConfig:
    """The camera to watch from its stored config (URL references expanded)."""
    cam = CameraConfig.model_validate(dict(stored))
    check_stored_form(cam)
    url = expand_url(cam.url, os.environ if env is None else env)
    register_url_secrets(url)
    return cam.model_copy(update={"url": url})


def stored_form(cam: CameraConfig) -> dict[str, Any]:
    """What the database keeps of a runtime camera (the URL as given: references only)."""
    check_stored_form(cam)
    return cam.model_dump(mode="json", exclude_defaults=True)


def load_runtime_cameras(app: App) -> int:
    """Start the runtime cameras kept in ``app``'s database; how many started.

    Ids the config file names stay the config file's; a camera that cannot be resolved (an
    unset variable) is logged and skipped.
    """
    from storage.operator_store import OperatorStore

    assert app.store is not None
    config_ids = {c.id for c in app.config.cameras}
    started = 0
    for camera_id, stored in OperatorStore(app.store).runtime_cameras():
        if camera_id in config_ids:
            log.warning("runtime camera %s ignored: the config file defines that id", camera_id)
            continue
        try:
            cam = resolve(stored)
        except ValueError as exc:
            log.error("runtime camera %s not started: %s", camera_id, exc)
            continue
        if cam.enabled:
            app.add_camera(cam)
            started += 1
    return started
