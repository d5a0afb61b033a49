"""The JSON Schemas of the bus messages, generated from ``storage.message_models``.

``python -m storage.schemas`` (``make schemas``) writes them to ``docs/schemas/``;
``--check`` only reports the files that differ from what would be written (exit 1).
Keys are sorted and each file ends with a newline, so regenerating is byte-identical.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import CoreSchema

from storage.message_models import (
    SCHEMA_BASE_ID,
    ActionMessage,
    IncidentMessage,
    MediaRefMessage,
    ReportMessage,
)

#: The committed schemas (the repository's ``docs/schemas``).
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: File name -> the model it describes.
SCHEMAS: dict[str, type[BaseModel]] = {
    "action-message.v1.json": ActionMessage,
    "incident-message.v1.json": IncidentMessage,
    "media-ref.v1.json": MediaRefMessage,
    "report-message.v1.json": ReportMessage,
}


class _Generator(GenerateJsonSchema):
    """Pydantic's generator without the titles it makes up from field names."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        """Never: the field's name is its title."""
        return False


def json_schema(name: str) -> dict[str, Any]:
    """The schema of ``docs/schemas/<name>`` as a dict."""
    body = SCHEMAS[name].model_json_schema(schema_generator=_Generator, mode="validation")
    return {"$schema": DIALECT, "$id": SCHEMA_BASE_ID + name, **body}


def render(name: str) -> str:
    """The text of ``docs/schemas/<name>``: indented JSON, sorted keys, trailing newline."""
    return json.dumps(json_schema(name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale(folder: Path = SCHEMA_DIR) -> list[str]:
    """The schema files in ``folder`` that are missing or differ from :func:`render`."""
    out = []
    for name in SCHEMAS:
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != render(name):
            out.append(name)
    return out


def write(folder: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into ``folder``; returns the files that changed."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name in stale(folder):
        path = folder / name
        path.write_text(render(name), encoding="utf-8")
        changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the schemas (or, with ``--check``, say which are stale)."""
    parser = argparse.ArgumentParser(prog="python -m storage.schemas", description=__doc__)
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help="folder of the schemas")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(args.out)
        for name in names:
            sys.stderr.write(f"{args.out / name} is out of date: run `make schemas`\n")
        return 1 if names else 0
    for path in write(args.out):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
