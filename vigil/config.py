"""Loading and validation of Vigil's YAML config.

Every error names the file, the YAML line, the key path and what is wrong. ``${VAR}`` and
``${VAR:-default}`` in string values are replaced from the environment (secrets never live in
the file); URLs are shown with their password masked.
"""

from __future__ import annotations

import difflib
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from streamer.masking import register_secret, register_url_secrets
from vigil.config_checks import _CROSS_CHECKED, DEFAULT_CAMERA_EVENTS, _cross_check
from vigil.config_models import CameraConfig, LoggingConfig, VigilConfig
from vigil.config_paths import _resolve_paths
from vigil.config_yaml import (
    MAX_DEPTH,
    MAX_NODES,
    _format_path,
    _line_index,
    _nearest_line,
    _substitute_env,
    load_yaml,
)

__all__ = [
    "DEFAULT_CAMERA_EVENTS",
    "MAX_DEPTH",
    "MAX_NODES",
    "CameraConfig",
    "ConfigError",
    "ConfigIssue",
    "LoggingConfig",
    "VigilConfig",
    "load_config",
    "parse_config",
    "register_config_secrets",
]


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


def _read_data(text: str, source: str) -> tuple[dict[Any, Any], yaml.Node | None]:
    """The top-level mapping of config text and its node tree, or ``ConfigError``."""
    try:
        data, node = load_yaml(text)
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
    return data, node


def _validation_issues(
    exc: ValidationError, source: str, lines: dict[tuple[Any, ...], int]
) -> list[ConfigIssue]:
    """One issue per error of the models' validation, in words for people."""
    issues: list[ConfigIssue] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _suggestion(loc)
        elif err["type"] == "missing":
            msg = "required key is missing"
        msg = msg.removeprefix("Value error, ")
        issues.append(ConfigIssue(source, _nearest_line(lines, loc), _format_path(loc), msg))
    return issues


def _storage_path_issues(
    cfg: VigilConfig, config_file: Path, source: str, lines: dict[tuple[Any, ...], int]
) -> list[ConfigIssue]:
    """Storage folders that are unsafe to write and sweep (checked on disk)."""
    from storage.paths import path_problems

    issues: list[ConfigIssue] = []
    for prob in path_problems(cfg.storage, config_file=config_file):
        loc = ("storage", prob.field)
        issues.append(
            ConfigIssue(source, _nearest_line(lines, loc), _format_path(loc), prob.message)
        )
    return issues


def _raise_sorted(issues: list[ConfigIssue]) -> typing.NoReturn:
    issues.sort(key=lambda i: (i.line is None, i.line or 0))
    raise ConfigError(issues)


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
    data, node = _read_data(text, source)
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
    try:
        cfg = VigilConfig.model_validate(data, context={_CROSS_CHECKED: True})
    except ValidationError as exc:
        _raise_sorted(issues + _validation_issues(exc, source, lines))
    register_config_secrets(cfg, env)
    if check_paths_of is not None:
        issues += _storage_path_issues(cfg, check_paths_of, source, lines)
    if issues:
        _raise_sorted(issues)
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
