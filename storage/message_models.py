"""The bus messages as pydantic models: the one definition of their shape.

``docs/schemas/*.v1.json`` are generated from these models (``python -m storage.schemas``,
``make schemas``). The builders in ``storage.messages`` fill them without validation or
coercion (``model_construct``), so what Vigil publishes is exactly what it published when the
messages were plain dicts; consumers may validate with ``IncidentMessage.model_validate``.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

#: Bumped on any incompatible change of the message shape.
SCHEMA_VERSION: Final = 1

#: The ``$id`` of each schema file is this plus the file's name.
SCHEMA_BASE_ID: Final = "https://vigil.example/schemas/"
#: The media reference schema, which the other messages ``$ref``.
MEDIA_REF_SCHEMA: Final = SCHEMA_BASE_ID + "media-ref.v1.json"

UpdateKindName = Literal["open", "update", "close"]
StatusName = Literal["open", "closed", "acknowledged", "resolved", "false_alarm"]
SeverityName = Literal["low", "medium", "high", "critical"]
ContentType = Literal["image/jpeg", "video/mp4"]
WorkflowStateName = Literal["new", "acknowledged", "investigating", "resolved"]
DispositionName = Literal["true_alarm", "false_alarm", "test", "nuisance"]
ActionName = Literal[
    "acknowledge", "investigate", "resolve", "reopen", "note", "assign", "escalate"
]

#: An ISO 8601 UTC time string (``2023-11-14T22:13:20.000Z``).
IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
#: A score between 0 and 1.
Score = Annotated[float, Field(ge=0, le=1)]
IncidentId = Annotated[str, Field(min_length=1, max_length=128)]
CameraId = Annotated[str, Field(min_length=1, max_length=64)]
EventType = Annotated[str, Field(min_length=1, max_length=32)]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _top_level(
    title: str,
    description: str,
    regex_engine: Literal["rust-regex", "python-re"] = "rust-regex",
) -> ConfigDict:
    """The config of a message with its own schema file (title and description on top)."""
    return ConfigDict(
        frozen=True,
        extra="forbid",
        title=title,
        json_schema_extra={"description": description},
        regex_engine=regex_engine,
    )


class MediaRefMessage(BaseModel):
    """A keyframe or clip of an incident, as messages carry it."""

    model_config = _top_level(
        "Vigil media reference",
        "A keyframe (JPEG) or clip (H.264 MP4) of an incident. `path` is relative to the media "
        "directory (storage.media_dir) and never leaves it.",
        regex_engine="python-re",  # the path pattern has look-aheads
    )

    kind: str = Field(min_length=1, max_length=32, description="keyframe, keyframe:<label> or clip")
    path: str = Field(
        min_length=1,
        max_length=1024,
        pattern=r"^(?!/)(?!.*(^|/)\.\.(/|$)).+$",
        description="Relative to the media directory; never absolute, never through `..`.",
    )
    content_type: ContentType = Field(description="The file's type.")
    ts_s: float = Field(
        description="Wall-clock Unix seconds of the frame (clip: of its first frame)."
    )
    bytes: int = Field(ge=0, description="Size of the file.")
    width: Annotated[int, Field(ge=1)] | None = Field(description="Pixels, if known.")
    height: Annotated[int, Field(ge=1)] | None = Field(description="Pixels, if known.")
    duration_s: Annotated[float, Field(ge=0)] | None = Field(
        description="Seconds of video (clips only)."
    )


#: A media reference inside another message: a ``$ref`` to its own schema file.
MediaItem = Annotated[MediaRefMessage, WithJsonSchema({"$ref": MEDIA_REF_SCHEMA})]


class ScorePart(BaseModel):
    """The detector's score of an incident update."""

    model_config = _FROZEN

    current: Score = Field(description="Score of this update.")
    peak: Score = Field(description="Highest score of the incident so far.")
    mean: Score = Field(description="Mean score of the incident so far.")


class ReportPart(BaseModel):
    """The newest report of an incident, as carried by an incident message."""

    model_config = _FROZEN

    seq: int = Field(ge=1, description="Which report of the incident (1, 2, ...).")
    incident_version: int = Field(ge=1, description="The incident update it describes.")
    title: str = Field(description="One line.")
    summary: str = Field(description="What happened.")
    severity: SeverityName = Field(description="How urgent.")
    action: str = Field(description="Recommended action.")
    text: str = Field(description="Title, summary and action as one block of text.")
    backend: str = Field(description="template, transformers or openai")
    model: str | None = Field(description="The language model, if one wrote it.")
    fallback_used: bool = Field(description="True if the template stood in for the model.")


class IncidentMessage(BaseModel):
    """The ``<prefix>.incidents`` message of one incident update."""

    model_config = _top_level(
        "Vigil incident message (topic <prefix>.incidents, key = camera id)",
        "One incident update: opened, updated or closed. Delivery is at least once: drop "
        "duplicates by (incident_id, version). Versions of one incident grow by one per update; "
        "messages of one camera arrive in order. Times are Unix seconds (UTC) with ISO 8601 "
        "copies.",
    )

    schema_version: Literal[1] = Field(description="Version of the message shape.")
    message_type: Literal["incident"] = Field(description="Always `incident`.")
    incident_id: IncidentId = Field(description="The incident.")
    version: int = Field(ge=1, description="The update's number within its incident.")
    update_kind: UpdateKindName = Field(description="What happened to the incident.")
    camera_id: CameraId = Field(description="The camera.")
    camera_name: str = Field(description="The camera's human name.")
    event_type: EventType = Field(description="fall, fire, ...")
    status: StatusName = Field(description="The incident's status after this update.")
    zone: str | None = Field(description="Where in the picture, if zones are set up.")
    ts_s: float = Field(description="When this update happened.")
    opened_ts_s: float = Field(description="When the incident opened.")
    closed_ts_s: float | None = Field(description="When it closed (null while open).")
    opened_at: IsoTime = Field(description="`opened_ts_s` in ISO 8601.")
    closed_at: IsoTime | None = Field(description="`closed_ts_s` in ISO 8601.")
    duration_s: float = Field(ge=0, description="From opening to closing (or to this update).")
    offset_s: float = Field(
        ge=0,
        description="Where the onset is in its stream: seconds from the stream's first frame "
        "(for a file, its position in the file).",
    )
    score: ScorePart = Field(description="Scores of the incident.")
    cues: dict[str, float] = Field(description="Cue measurements of this update, by name.")
    close_reason: str | None = Field(description="Why it closed (close updates only).")
    report: ReportPart | None = Field(
        description="The newest report of the incident when this message was written, if any."
    )
    media: list[MediaItem] = Field(description="Keyframes and clips recorded so far.")


class ReportMessage(BaseModel):
    """The ``<prefix>.reports`` message of one stored report."""

    model_config = _top_level(
        "Vigil report message (topic <prefix>.reports, key = camera id)",
        "A report of an incident. `version` counts the reports of one incident (1, 2, ... e.g. "
        "the template report, then a generated one); drop duplicates by (incident_id, version). "
        "`incident_version` is the incident update the report describes.",
    )

    schema_version: Literal[1] = Field(description="Version of the message shape.")
    message_type: Literal["report"] = Field(description="Always `report`.")
    incident_id: IncidentId = Field(description="The incident.")
    version: int = Field(ge=1, description="Which report of the incident (1, 2, ...).")
    incident_version: int = Field(ge=1, description="The incident update it describes.")
    camera_id: CameraId = Field(description="The camera.")
    event_type: EventType = Field(description="fall, fire, ...")
    ts_s: float = Field(description="When the report was stored.")
    created_at: IsoTime = Field(description="`ts_s` in ISO 8601.")
    title: str = Field(description="One line.")
    summary: str = Field(description="What happened.")
    severity: SeverityName = Field(description="How urgent.")
    action: str = Field(description="Recommended action.")
    text: str = Field(description="Title, summary and action as one block of text.")
    backend: str = Field(description="template, transformers or openai")
    model: str | None = Field(description="The language model, if one wrote it.")
    latency_s: float = Field(ge=0, description="How long writing the report took.")
    fallback_used: bool = Field(description="True if the template stood in for the model.")
    fallback_reason: str | None = Field(description="Why the model's report was not used.")
    media: list[MediaItem] = Field(description="Keyframes and clips recorded so far.")


class WorkflowPart(BaseModel):
    """An incident's operator workflow before or after an action."""

    model_config = _FROZEN

    state: WorkflowStateName = Field(description="Where the operators stand.")
    disposition: DispositionName | None = Field(
        description="What a resolved incident turned out to be (null unless resolved)."
    )
    owner: str | None = Field(max_length=64, description="Who the incident is assigned to.")


class ActionMessage(BaseModel):
    """The ``<prefix>.actions`` message of one operator (or system) workflow action."""

    model_config = _top_level(
        "Vigil action message (topic <prefix>.actions, key = camera id)",
        "One action on an incident's operator workflow (acknowledge, resolve, a note, an "
        "escalation, ...). `version` counts the actions of one incident (1, 2, ...); drop "
        "duplicates by (incident_id, version). `before` and `after` are the workflow around "
        "the action.",
    )

    schema_version: Literal[1] = Field(description="Version of the message shape.")
    incident_id: IncidentId = Field(description="The incident.")
    version: int = Field(ge=1, description="Which action on the incident (1, 2, ...).")
    camera_id: CameraId = Field(description="The camera.")
    event_type: EventType = Field(description="fall, fire, ...")
    action: ActionName = Field(description="What was done.")
    actor: str = Field(
        min_length=1, max_length=128, description="Who: a user, `token:<name>` or `system`."
    )
    ts: IsoTime = Field(description="When, in ISO 8601.")
    before: WorkflowPart = Field(description="The workflow before the action.")
    after: WorkflowPart = Field(description="The workflow after the action.")
    note: str | None = Field(max_length=4000, description="The operator's note, if any.")
