"""Loading and validation of Vigil's YAML config.

Every error names the file, the YAML line, the key path and what is wrong. ``${VAR}`` and
``${VAR:-default}`` in string values are replaced from the environment (secrets never live in
the file); URLs are shown with their password masked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import os
import re
import typing
import zoneinfo
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, cast

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from detectors.settings import EventConfig, ZoneConfig
from engines.settings import ModelConfig
from engines.types import EVENT_TYPES
from reports.settings import ReportsConfig
from storage.settings import BusConfig, StorageConfig
from streamer.masking import mask_url, register_secret, register_url_secrets
from streamer.settings import StreamerConfig

_ENV_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")

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


class CameraConfig(BaseModel):
    """One camera: where its stream is and what to look for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        ...,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Stable id (letters, digits, _ . -), used as the Kafka key.",
    )
    name: str | None = Field(None, max_length=128, description="Human name (defaults to id).")
    location: str | None = Field(None, max_length=256, description="Where the camera is.")
    url: str = Field(
        ...,
        min_length=1,
        description="rtsp://, rtsps://, http(s):// (HLS), file path, file://, or /dev/videoN.",
    )
    fps: float = Field(2.0, ge=1.0, le=5.0, description="Frames sampled per second of stream.")
    enabled: bool = Field(True, description="Disabled cameras are configured but not read.")
    start_time: str | None = Field(
        None,
        description="Files only: when the first frame was recorded (ISO 8601, e.g. "
        "2026-11-30T14:05:00; the site's time zone unless it has an offset). Default: the "
        "file's creation_time tag if present, else when reading starts.",
    )
    transport: str | None = Field(None, description="RTSP transport override: tcp or udp.")
    events: dict[str, EventConfig] = Field(
        default_factory=lambda: {ev: EventConfig() for ev in DEFAULT_CAMERA_EVENTS},
        description="Event types to detect, each with its rule (model.profile must detect them).",
    )
    zones: list[ZoneConfig] = Field(default_factory=list, description="Named zones and masks.")

    @property
    def display_name(self) -> str:
        """Name for people: ``name`` or else ``id``."""
        return self.name or self.id

    @property
    def masked_url(self) -> str:
        """The URL with its password masked."""
        return mask_url(self.url)

    @field_validator("start_time")
    @classmethod
    def _check_start_time(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                dt.datetime.fromisoformat(v)
            except ValueError:
                raise ValueError(
                    f"{v!r} is not an ISO 8601 date and time (e.g. 2026-11-30T14:05:00)"
                ) from None
        return v

    def start_wall_s(self, tz: zoneinfo.ZoneInfo) -> float | None:
        """``start_time`` as Unix seconds (naive times are in ``tz``, the site's)."""
        if self.start_time is None:
            return None
        when = dt.datetime.fromisoformat(self.start_time)
        return (when if when.tzinfo else when.replace(tzinfo=tz)).timestamp()

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        from streamer.source import SourceError, parse_source

        bad = next((c for c in v if ord(c) < 32 or ord(c) == 127), None)
        if bad is not None:
            raise ValueError(f"the URL contains a control character ({bad!r}): {mask_url(v)!r}")
        try:
            parse_source(v)
        except SourceError as exc:  # its message is already masked
            raise ValueError(exc.message) from None
        return v

    @field_validator("transport")
    @classmethod
    def _check_transport(cls, v: str | None) -> str | None:
        if v is not None and v not in ("tcp", "udp"):
            raise ValueError(f"transport must be 'tcp' or 'udp', got {v!r}")
        return v

    @field_validator("events", mode="before")
    @classmethod
    def _none_is_default_rule(cls, v: Any) -> Any:
        # `fire: {}` and `fire:` (null) both mean "detect with defaults".
        if isinstance(v, Mapping):
            return {k: ({} if val is None else val) for k, val in v.items()}
        return v

    @field_validator("events")
    @classmethod
    def _check_events(cls, v: dict[str, EventConfig]) -> dict[str, EventConfig]:
        unknown = sorted(set(v) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(
                f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
            )
        return v

    @model_validator(mode="after")
    def _check_zone_events(self, info: ValidationInfo) -> Self:
        if _cross_checked(info):
            return self
        for j, z in enumerate(self.zones):
            for k, msg in _zone_event_problems(list(self.events), z.events):
                raise ValueError(f"zones[{j}].events[{k}]: {msg}")
        return self


class LoggingConfig(BaseModel):
    """Log output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", description="Log level.")
    json_lines: bool = Field(False, alias="json", description="One JSON object per log line.")


class VigilConfig(BaseModel):
    """The whole configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field("default", min_length=1, max_length=128, description="Site name.")
    timezone: str = Field("UTC", description="IANA time zone for reports, e.g. Europe/Berlin.")
    storage: StorageConfig = Field(default_factory=StorageConfig)
    bus: BusConfig = Field(default_factory=BusConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    streamer: StreamerConfig = Field(default_factory=StreamerConfig)
    cameras: list[CameraConfig] = Field(default_factory=list, description="Cameras to watch.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as UTC)") from exc
        return v

    @model_validator(mode="after")
    def _check_cameras(self, info: ValidationInfo) -> Self:
        if _cross_checked(info):
            return self
        for i, msg in _duplicate_id_problems([cam.id for cam in self.cameras]):
            raise ValueError(f"cameras[{i}].id: {msg}")
        detects = self.model.detectable_events()
        for i, cam in enumerate(self.cameras):
            enabled = {ev: rule.enabled for ev, rule in cam.events.items()}
            for ev, msg in _undetectable_problems(enabled, self.model.profile, detects):
                raise ValueError(f"cameras[{i}].events.{ev}: {msg}")
        return self

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The site's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def camera(self, camera_id: str) -> CameraConfig:
        """The camera with this id (KeyError if none)."""
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(camera_id)


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        key = f" {self.path}:" if self.path else ""
        return f"{where}{key} {self.message}"


class ConfigError(Exception):
    """A config file could not be loaded; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class _LineLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys."""


#: Bounds that keep a hostile file from exhausting memory or the stack.
MAX_DEPTH = 32
MAX_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:  # '<<: *defaults' (merged below, explicit keys win)
            continue
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "a key must be a plain value, not a list or mapping",
                key_node.start_mark,
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=deep)


def _check_bounds(text: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` before anything recursive sees the text."""
    depth = 0
    for event in yaml.parse(text, Loader=_LineLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"nested more than {MAX_DEPTH} levels deep",
                    problem_mark=cast("yaml.error.Mark", event.start_mark),
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _expanded_size(root: yaml.Node | None) -> tuple[int, yaml.Node | None]:
    """Nodes the document has once aliases are expanded (memoised: linear in the file)."""
    sizes: dict[int, int] = {}
    biggest: yaml.Node | None = None

    def size(node: yaml.Node) -> int:
        nonlocal biggest
        if id(node) in sizes:
            return sizes[id(node)]
        if isinstance(node, yaml.MappingNode):
            n = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n = 1 + sum(size(v) for v in node.value)
        else:
            n = 1
        n = min(n, MAX_NODES + 1)
        if n > MAX_NODES and biggest is None:
            biggest = node
        sizes[id(node)] = n
        return n

    return (size(root) if root is not None else 0), biggest


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_index(node: yaml.Node | None, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each key path (tuple of keys and list indexes) to its 1-based YAML line."""
    lines: dict[tuple[Any, ...], int] = {}
    if node is None:
        return lines
    lines[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, key_node.value)
            sub = _line_index(value_node, path)
            sub[path] = key_node.start_mark.line + 1
            lines.update(sub)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_index(item, (*prefix, i)))
    return lines


def _substitute_env(
    data: Any, env: Mapping[str, str], path: tuple[Any, ...], missing: list[tuple[Any, ...]]
) -> Any:
    if isinstance(data, dict):
        return {k: _substitute_env(v, env, (*path, k), missing) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute_env(v, env, (*path, i), missing) for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:

        def repl(m: re.Match[str]) -> str:
            name, default = m["name"], m["default"]
            if name in env:
                return env[name]
            if default is not None:
                return default
            missing.append((*path, name))
            return ""

        return _ENV_REF.sub(repl, data)
    return data


def _format_path(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _nearest_line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def _is_relative_path(value: Any) -> bool:
    return (
        isinstance(value, str)
        and bool(value.strip())
        and not (value.startswith(("/", "~")) or "://" in value or value.startswith("file:"))
    )


def _joined(base: Path, relative: str) -> str:
    """``relative`` (a path in the config file) under ``base``, the config file's folder."""
    return str(base / relative)


def _resolve_paths(
    data: dict[str, Any], base: Path
) -> tuple[dict[str, Any], list[tuple[tuple[Any, ...], str]]]:
    """Make the config's relative paths (given or default) relative to ``base``, the config
    file's folder; return the data and the problems found (a local model folder missing)."""
    from engines.settings import ClipConfig
    from storage.settings import StorageConfig

    problems: list[tuple[tuple[Any, ...], str]] = []

    def section(parent: dict[str, Any], key: str) -> dict[str, Any] | None:
        value = parent.setdefault(key, {})
        return value if isinstance(value, dict) else None

    def fix(parent: dict[str, Any] | None, key: str, default: str | None = None) -> None:
        if parent is None:
            return
        value = parent.get(key, default)
        if isinstance(value, str) and _is_relative_path(value):
            parent[key] = _joined(base, value)

    storage = section(data, "storage")
    if storage is not None:
        url = storage.get("database_url", StorageConfig.model_fields["database_url"].default)
        if isinstance(url, str) and url.startswith("sqlite:///"):
            db = url.removeprefix("sqlite:///")
            if _is_relative_path(db) and not db.startswith(":memory:"):
                storage["database_url"] = f"sqlite:///{_joined(base, db)}"
        fix(storage, "media_dir", StorageConfig.model_fields["media_dir"].default)
        fix(storage, "journal_dir")
        if not storage.get("journal_dir") and not str(storage.get("database_url", "")).startswith(
            "sqlite:///"
        ):
            storage["journal_dir"] = str(base / "data" / "journal")
    cameras = data.get("cameras")
    if isinstance(cameras, list):
        for cam in cameras:
            if isinstance(cam, dict) and not str(cam.get("url", "")).startswith("/dev/"):
                fix(cam, "url")
    model = section(data, "model")
    clip = section(model, "clip") if model is not None else None
    if clip is not None:
        fix(clip, "cache_dir", ClipConfig.model_fields["cache_dir"].default)
        fix(clip, "onnx_dir")
        temporal = clip.get("temporal")
        if isinstance(temporal, dict):
            fix(temporal, "weights")
        visual = clip.get("visual")
        if isinstance(visual, str) and _is_relative_path(visual):
            local = base / visual
            if local.exists():
                clip["visual"] = str(local)
            elif visual.startswith("."):
                problems.append(
                    (("model", "clip", "visual"), f"local model folder {str(local)!r} not found")
                )
    reports = data.get("reports")
    if isinstance(reports, dict) and isinstance(reports.get("transformers"), dict):
        fix(reports["transformers"], "model")
    return data, problems


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The config model that holds the key at ``loc`` (None if not a model's key)."""
    model: type[BaseModel] = VigilConfig
    name_next = False  # after a mapping of names (events), the next part is a name
    for part in loc:
        if isinstance(part, int) or name_next:
            name_next = False
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        name_next = _is_named_mapping(field.annotation)
        found = _find_model(field.annotation)
        if found is None:
            return None
        model = found
    return model


def _is_named_mapping(annotation: Any) -> bool:
    if typing.get_origin(annotation) is dict:
        return True
    return any(_is_named_mapping(a) for a in typing.get_args(annotation))


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if typing.get_origin(annotation) is dict and arg is typing.get_args(annotation)[0]:
            continue  # dict keys are names (events), not model keys
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _suggestion(loc: tuple[Any, ...]) -> str:
    """`` (did you mean 'x'?)`` for a misspelt key, else ''."""
    if not loc:
        return ""
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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


def parse_config(
    text: str,
    *,
    source: str = "<config>",
    env: Mapping[str, str] | None = None,
    check_paths_of: Path | None = None,
    base_dir: Path | None = None,
) -> VigilConfig:
    """Parse and validate config text; raise ``ConfigError`` listing every problem.

    With ``check_paths_of`` (the config file's path), storage folders are also checked on disk:
    a ``media_dir`` that retention could not sweep safely is a problem (``storage.paths``).
    With ``base_dir``, relative paths in the config (and default paths) are taken relative to
    it (``load_config`` passes the config file's folder).
    """
    env = os.environ if env is None else env
    try:
        _check_bounds(text)
        node = yaml.compose(text, Loader=_LineLoader)
        total, biggest = _expanded_size(node)
        if total > MAX_NODES:
            raise yaml.MarkedYAMLError(
                problem=f"aliases expand to more than {MAX_NODES} values",
                problem_mark=biggest.start_mark if biggest is not None else None,
            )
        data = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigIssue(source, line, "", f"invalid YAML: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(source, None, "", f"invalid YAML: {exc}")]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(source, 1, "", "the top level must be a mapping of keys")])
    # Top-level keys starting with "x-" hold YAML anchors to merge elsewhere ('<<: *name')
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    lines = _line_index(node)
    missing: list[tuple[Any, ...]] = []
    data = _substitute_env(data, env, (), missing)
    path_issues: list[tuple[tuple[Any, ...], str]] = []
    if base_dir is not None:
        data, path_issues = _resolve_paths(data, base_dir)
    issues = [
        ConfigIssue(
            source,
            _nearest_line(lines, p[:-1]),
            _format_path(p[:-1]),
            f"environment variable {p[-1]} is not set",
        )
        for p in missing
    ]
    issues += [
        ConfigIssue(source, _nearest_line(lines, loc), _format_path(loc), msg)
        for loc, msg in [*path_issues, *_cross_check(data)]
    ]
    cfg: VigilConfig | None = None
    try:
        cfg = VigilConfig.model_validate(data, context={_CROSS_CHECKED: True})
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key" + _suggestion(loc)
            elif err["type"] == "missing":
                msg = "required key is missing"
            msg = msg.removeprefix("Value error, ")
            issues.append(ConfigIssue(source, _nearest_line(lines, loc), _format_path(loc), msg))
    if cfg is None:
        issues.sort(key=lambda i: (i.line is None, i.line or 0))
        raise ConfigError(issues)
    register_config_secrets(cfg, env)
    if check_paths_of is not None:
        from storage.paths import path_problems

        for prob in path_problems(cfg.storage, config_file=check_paths_of):
            loc = ("storage", prob.field)
            issues.append(
                ConfigIssue(source, _nearest_line(lines, loc), _format_path(loc), prob.message)
            )
    if issues:
        issues.sort(key=lambda i: (i.line is None, i.line or 0))
        raise ConfigError(issues)
    return cfg


def register_config_secrets(cfg: VigilConfig, env: Mapping[str, str]) -> None:
    """Teach the masker every secret of a config, so that no free text shows one."""
    for cam in cfg.cameras:
        register_url_secrets(cam.url)
    register_url_secrets(cfg.storage.database_url)
    kafka = cfg.bus.kafka
    if kafka is not None and kafka.sasl_password is not None:
        register_secret(kafka.sasl_password.get_secret_value())
    key_env = cfg.reports.openai.api_key_env
    if key_env:
        register_secret(env.get(key_env))
    register_url_secrets(cfg.reports.openai.base_url)


def load_config(
    path: str | Path, *, env: Mapping[str, str] | None = None, check_paths: bool = False
) -> VigilConfig:
    """Load a config file; relative paths inside it are relative to the file's folder.

    ``check_paths`` also refuses storage folders that are unsafe to write and sweep (for the
    commands that write: ``run``, ``demo``, ``config check``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(str(p), None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(p), None, "", f"cannot read: {exc}")]) from None
    return parse_config(
        text,
        source=str(p),
        env=env,
        check_paths_of=p if check_paths else None,
        base_dir=p.resolve().parent,
    )
