"""The event catalogue: what each event type *is*, declared once.

Every stage reads event knowledge from here: the scorers (zero-shot prompts), the detectors
(rule defaults), the reports (base severity, phrases, recommended action, grounding lexicon)
and the config (which names exist). Adding an event type is one :class:`EventSpec` in
:data:`CATALOGUE`; the tables of the other stages are views of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

SeverityName = Literal["low", "medium", "high", "critical"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event type: its name and what every stage needs to know of it."""

    name: str
    #: rule defaults differing from ``detectors.settings.EventConfig``'s (threshold, ...)
    rule_defaults: Mapping[str, float]
    base_severity: SeverityName
    #: (title noun, sentence subject) in reports: ("Fall", "A fall")
    phrases: tuple[str, str]
    #: what an operator should do
    action: str
    #: lower-case words that name the event (whole words) in a generated report
    lexicon: tuple[str, ...]
    #: zero-shot prompts: the event, and the look-alikes it must not be confused with
    positive_prompts: tuple[str, ...] = ()
    negative_prompts: tuple[str, ...] = ()


_SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        name="fall",
        rule_defaults={"threshold": 0.6, "min_duration_s": 1.5, "cooldown_s": 30.0},
        base_severity="high",
        phrases=("Fall", "A fall"),
        action="Check on the person now; send help and call emergency services if they do not "
        "get up.",
        lexicon=_words(
            "fall falls fell fallen falling collapse collapsed collapsing slipped tripped"
        ),
        positive_prompts=(
            "a photo of a person lying on the floor",
            "a photo of a person falling down",
            "a photo of a person who has collapsed on the ground",
        ),
        negative_prompts=(
            "a photo of a person standing",
            "a photo of a person walking",
            "a photo of a person sitting on a chair",
        ),
    ),
    EventSpec(
        name="fire",
        rule_defaults={"threshold": 0.6, "min_duration_s": 2.0, "cooldown_s": 60.0},
        base_severity="high",
        phrases=("Fire", "Fire"),
        action="Verify on the live view, then raise the fire alarm, evacuate the area and call "
        "the fire brigade.",
        lexicon=_words("fire fires flame flames burning blaze ablaze"),
        positive_prompts=(
            "a photo of flames",
            "a photo of a fire burning",
            "a photo of a building on fire",
        ),
        negative_prompts=(
            "a photo of a bright lamp",
            "a photo of an orange wall",
            "a photo of a sunset",
        ),
    ),
    EventSpec(
        name="smoke",
        rule_defaults={"threshold": 0.6, "min_duration_s": 3.0, "cooldown_s": 60.0},
        base_severity="medium",
        phrases=("Smoke", "Smoke"),
        action="Check the area for the source of the smoke and be ready to raise the fire alarm.",
        lexicon=_words("smoke smoky smoking fumes"),
        positive_prompts=(
            "a photo of smoke",
            "a photo of thick smoke filling a room",
            "a photo of a cloud of smoke rising",
        ),
        negative_prompts=(
            "a photo of fog",
            "a photo of clouds in the sky",
            "a photo of steam from a cup",
        ),
    ),
    EventSpec(
        name="intrusion",
        rule_defaults={"threshold": 0.5, "min_duration_s": 1.0, "cooldown_s": 30.0},
        base_severity="medium",
        phrases=("Intrusion", "An intrusion"),
        action="Check the live view and send security to the area.",
        lexicon=_words(
            "intrusion intruder intruders trespass trespasser trespassing break-in unauthorized "
            "unauthorised burglar burglary"
        ),
        positive_prompts=(
            "a photo of a person",
            "a photo of a person walking through the scene",
            "a photo of a group of people",
        ),
        negative_prompts=(
            "a photo of an empty room",
            "a photo of an empty street",
            "a photo of an empty parking lot",
        ),
    ),
)

#: Every event type Vigil knows, by name, in declaration order.
CATALOGUE: Mapping[str, EventSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: Names of the known event types, in declaration order.
EVENT_NAMES: tuple[str, ...] = tuple(CATALOGUE)


def spec(name: str) -> EventSpec | None:
    """The catalogue entry of an event type (None for an unknown one)."""
    return CATALOGUE.get(name)
