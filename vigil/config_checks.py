"""Checks across a config's fields (camera ids, zone events, what the model profile detects),
run over the raw data so that every camera is checked whatever else in the file is wrong."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError, ValidationInfo

from engines.settings import ModelConfig
from engines.types import EVENT_TYPES

#: Validation context under which the checks across fields are left to ``parse_config``, which
#: runs them over the whole file at once (a model validator runs only once every field of its
#: model validated, so it would hide its problems behind any other).
_CROSS_CHECKED = "vigil_cross_checked"

_BOOL: TypeAdapter[bool] = TypeAdapter(bool)

#: Event types a camera detects when its config lists none.
DEFAULT_CAMERA_EVENTS: tuple[str, ...] = ("fall", "fire")


def _cross_checked(info: ValidationInfo) -> bool:
    return isinstance(info.context, Mapping) and bool(info.context.get(_CROSS_CHECKED))


def _zone_event_problems(
    camera_events: Collection[str], zone_events: Sequence[Any]
) -> list[tuple[int, str]]:
    """(index, message) for each zone event that is unknown or not among the camera's events."""
    problems: list[tuple[int, str]] = []
    for k, ev in enumerate(zone_events):
        if not isinstance(ev, str):
            continue  # not a string: a type error of its own
        if ev not in EVENT_TYPES:
            problems.append((k, f"unknown event type {ev!r}; known: {', '.join(EVENT_TYPES)}"))
        elif ev not in camera_events:
            listed = ", ".join(camera_events) or "none"
            problems.append((k, f"{ev!r} is not among the camera's events ({listed})"))
    return problems


def _undetectable_problems(
    events: Mapping[str, bool], profile: str, detects: Collection[str] | None
) -> list[tuple[str, str]]:
    """(event, message) for each enabled event type that the model profile cannot detect."""
    if detects is None:
        return []
    return [
        (
            ev,
            f"{ev!r} cannot be detected by the {profile!r} profile (it detects: "
            f"{', '.join(detects) or 'nothing'})",
        )
        for ev, enabled in events.items()
        if enabled and ev in EVENT_TYPES and ev not in detects
    ]


def _duplicate_id_problems(ids: Sequence[Any]) -> list[tuple[int, str]]:
    """(index, message) for each camera whose id an earlier camera already has."""
    first: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    for i, cid in enumerate(ids):
        if not isinstance(cid, str):
            continue
        if cid in first:
            problems.append(
                (i, f"camera id {cid!r} is used more than once (first by cameras[{first[cid]}])")
            )
        else:
            first[cid] = i
    return problems


def _raw_camera_events(cam: Mapping[Any, Any]) -> dict[str, bool] | None:
    """A raw camera's event types, each with whether it is enabled (None: not a mapping)."""
    if "events" not in cam:
        return dict.fromkeys(DEFAULT_CAMERA_EVENTS, True)
    raw = cam["events"]
    if not isinstance(raw, Mapping):
        return None
    events: dict[str, bool] = {}
    for ev, rule in raw.items():
        if not isinstance(ev, str):
            continue
        enabled = True
        if isinstance(rule, Mapping):
            with contextlib.suppress(ValidationError):  # reported by the rule's validation
                enabled = _BOOL.validate_python(rule.get("enabled", True))
        events[ev] = enabled
    return events


def _raw_profile(model: Any) -> tuple[str, tuple[str, ...] | None] | None:
    """The model profile of a raw ``model`` section and what it detects (None: unknown)."""
    raw = {} if model is None else model
    if not isinstance(raw, Mapping):
        return None
    try:
        cfg = ModelConfig.model_validate(raw)
    except ValidationError:
        # what cues detects does not depend on its settings; clip's may: leave it to the
        # errors already reported for the section
        try:
            cfg = ModelConfig.model_validate({k: v for k, v in raw.items() if k == "profile"})
        except ValidationError:
            return None
        if cfg.profile != "cues":
            return None
    return cfg.profile, cfg.detectable_events()


def _cross_check(data: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """The problems across fields of raw config data, each with its key path.

    Runs over the raw data, so that every camera is checked whatever else in the file is
    wrong: duplicate camera ids, zone events the camera does not have, and events that the
    model profile cannot detect.
    """
    cameras = data.get("cameras")
    if not isinstance(cameras, list):
        return []
    problems: list[tuple[tuple[Any, ...], str]] = []
    ids = [cam.get("id") if isinstance(cam, Mapping) else None for cam in cameras]
    for i, msg in _duplicate_id_problems(ids):
        problems.append((("cameras", i, "id"), msg))
    profile = _raw_profile(data.get("model"))
    for i, cam in enumerate(cameras):
        if not isinstance(cam, Mapping):
            continue
        events = _raw_camera_events(cam)
        if events is None:
            continue
        zones = cam.get("zones")
        for j, zone in enumerate(zones if isinstance(zones, list) else []):
            zone_events = zone.get("events") if isinstance(zone, Mapping) else None
            if isinstance(zone_events, list):
                for k, msg in _zone_event_problems(list(events), zone_events):
                    problems.append((("cameras", i, "zones", j, "events", k), msg))
        if profile is not None:
            for ev, msg in _undetectable_problems(events, *profile):
                if "events" in cam:
                    problems.append((("cameras", i, "events", ev), msg))
                else:
                    defaults = ", ".join(DEFAULT_CAMERA_EVENTS)
                    msg += f"; the camera lists no events, so it has the defaults ({defaults})"
                    problems.append((("cameras", i, "events"), msg))
    return problems
