"""Grounding check: generated report text may state only what the evidence shows.

The check reads the text the way an operator would and lists every claim it cannot trace back
to the :class:`~reports.evidence.Evidence`:

- **cameras and zones**: the evidence's camera name, id, location, zone and site are masked
  first; any other camera (``camera Gate 3``, ``dock-2 camera``), identifier (``cam7``) or zone
  (``zone B``, ``the danger zone``) left in the text is a problem;
- **times**: ISO 8601 stamps, clock times (``14:03``, ``2:03 pm``, with ``UTC`` or an offset
  converted), dates, weekdays and parts of the day must fall within the incident (site time
  zone; to the second where seconds are given, else to the minute); ``yesterday`` and the like
  never fit (this check is in :mod:`reports.grounding_times`);
- **numbers**: every number must match a quantity of the evidence as rendered with rounding
  (``60%`` or ``0.6`` for a ratio of 0.6, ``14 s`` or ``0.2 min`` for a duration; half a unit of
  the last written digit, or 0.5 %, as tolerance);
- **counts**: ``two people``, ``several persons`` and the like must match a count the detector
  measured (a cue named ``*count*``/``*people*``/``*persons*``); without one, only a single
  figure is allowed and only for fall and intrusion incidents;
- **event words**: words of another event type (``fire`` in a fall report, ``intruder`` in a
  smoke report, or events Vigil does not detect such as ``fight``) are problems, and the report
  must name its own event; compound names such as ``fire alarm`` or ``fire brigade`` are not
  event claims;
- **invented details**: words describing people's identity or appearance (``man``,
  ``jacket``, ``wearing``) or objects (``forklift``) that no detector measures;
- **severity**: a level stated in the text (``critical severity``) must be the rules' level.
"""

from __future__ import annotations

import math
import re

from engines.catalogue import CATALOGUE
from reports.evidence import Evidence
from reports.grounding_times import MASK, check_times, local_dates
from reports.types import Severity

_QUOTES = "\"'“”‘’"


def _w(words: str) -> tuple[str, ...]:
    """A whitespace-separated word list as a tuple."""
    return tuple(words.split())


#: Words that name each event type (lower case; matched as whole words).
EVENT_LEXICON: dict[str, tuple[str, ...]] = {ev.name: ev.lexicon for ev in CATALOGUE.values()}
#: Events Vigil does not detect: naming one is always an invention.
#: (a word that an event of the catalogue uses is never one of them)
OTHER_EVENT_WORDS = tuple(
    w
    for w in _w(
        "fight fighting assault violence violent weapon weapons gun knife armed shooting theft "
        "stealing robbery vandalism explosion exploded flood flooding leak accident crash "
        "collision loitering riot hostage overdose seizure"
    )
    if not any(w in ev.lexicon for ev in CATALOGUE.values())
)
#: Compound nouns with an event word that are not claims about the event.
_NOT_EVENT_CLAIMS = re.compile(
    r"\bfire[ -](?:alarms?|brigades?|departments?|services?|extinguishers?|exits?|doors?|"
    r"response|safety|drills?|fighters?|stations?|hoses?|marshals?|procedures?|plan)\b|"
    r"\b(?:smoke|fire)[ -](?:detectors?|alarms?)\b|\bfall[ -]back\b",
    re.IGNORECASE,
)
#: Details about people or objects that no detector measures.
INVENTED_DETAIL_WORDS = _w(
    "man men woman women boy boys girl girls elderly child children kid kids employee "
    "employees worker workers customer customers visitor visitors wearing wears jacket shirt "
    "coat hat helmet vest uniform hair beard glasses backpack bag carrying vehicle car truck van "
    "forklift ladder dog animal blood bleeding unconscious injured injury drunk male female"
)
_PERSON_NOUNS = (
    r"(?:people|persons?|individuals?|figures?|intruders?|occupants?|victims?|bodies|"
    r"subjects?|men|man|women|woman|workers?|employees?|visitors?|children|child)"
)
_NUMBER_WORDS = {
    word: i
    for i, word in enumerate(
        _w(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
        )
    )
} | {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}
_QUANTIFIERS = {
    "both": 2,
    "pair of": 2,
    "couple of": 2,
    "several": 2,
    "multiple": 2,
    "many": 2,
    "a few": 2,
    "few": 2,
    "a group of": 2,
    "group of": 2,
    "a number of": 2,
    "a crowd of": 2,
    "numerous": 2,
    "some": 2,
}
_UNITS = r"(?:s|ms|h|sec|secs|min|mins|seconds?|minutes?|hours?|percent|times)\b"
_NUM_WORD_RE = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_QUANT_RE = "|".join(re.escape(q) for q in sorted(_QUANTIFIERS, key=len, reverse=True))
_COUNT = re.compile(
    rf"\b(?P<q>\d+|{_NUM_WORD_RE}|{_QUANT_RE})\s+(?:(?!{_UNITS})[a-z]+\s+)?"
    rf"(?P<noun>{_PERSON_NOUNS})\b",
    re.IGNORECASE,
)
_WORD_NUMBER_UNIT = re.compile(
    rf"\b(?P<w>{_NUM_WORD_RE})\s+(?:seconds?|minutes?|hours?|percent|per cent|times)\b",
    re.IGNORECASE,
)
_IDENT = re.compile(r"(?<![\w⟦])(?:[A-Za-z]+[-_#]?\d+[A-Za-z\d]*)(?![\w])")
_CAMERA_AFTER = re.compile(
    r"\bcam(?:era)?s?\b[ \t]*(?:(?:#|no\.|number|id)[ \t]*)?"
    r"(?P<name>[\"'“‘][^\"'”’\n]{1,60}[\"'”’]|[A-Z0-9][\w-]*)"
)
_CAMERA_BEFORE = re.compile(
    r"(?P<name>[\"'“‘][^\"'”’\n]{1,60}[\"'”’]|\b[A-Za-z]*\d[\w-]*)[ \t]+cam(?:era)?s?\b",
    re.IGNORECASE,
)
_ZONE_AFTER = re.compile(r"\bzones?\s+(?P<name>[\"'“‘]?[\w-]+)", re.IGNORECASE)
_ZONE_BEFORE = re.compile(r"(?P<name>[\w-]+[\"'”’]?)\s+zones?\b", re.IGNORECASE)
_ZONE_STOP = frozenset(
    _w(
        "the a an this that same its their his her monitored configured specified detection "
        "camera's camera is was were be been has had have and or of in at on to for from with "
        "near where which while by as it"
    )
)
_SEVERITY_STATED = re.compile(
    r"\b(?P<a>low|medium|high|critical)[ -](?:severity|priority|urgency)\b|"
    r"\bseverity(?:\s+level)?(?:\s+is|\s+of|:)?\s+(?P<b>low|medium|high|critical)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\w.])(?P<n>\d+(?:\.\d+)?)(?P<pct>\s*(?:%|percent\b|per cent\b))?")


def check_grounding(
    text: str, evidence: Evidence, *, severity: Severity | None = None
) -> tuple[str, ...]:
    """Every claim in ``text`` that the evidence does not support; empty when grounded.

    ``severity``, when given, is the level a stated severity must match.
    """
    problems: list[str] = []
    text = _normalise(text)
    text = _mask_evidence_strings(text, evidence)
    lowered_for_event = text
    text = check_times(text, evidence, problems)
    _check_cameras_and_zones(text, evidence, problems)
    text = _check_counts(text, evidence, problems)
    _check_events(lowered_for_event, evidence, problems)
    _check_details(text, problems)
    if severity is not None:
        for m in _SEVERITY_STATED.finditer(text):
            stated = (m["a"] or m["b"]).lower()
            if stated != severity.value:
                problems.append(f"states severity {stated!r} but the rules give {severity.value!r}")
    _check_numbers(text, evidence, problems)
    return tuple(dict.fromkeys(problems))


# --- helpers ------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    for a, b in (
        ("\u00a0", " "),
        ("\u202f", " "),
        ("\u2013", "-"),
        ("\u2011", "-"),
        ("\u2212", "-"),
    ):
        text = text.replace(a, b)
    return text


def _variants(value: str) -> set[str]:
    out = {value}
    spaced = re.sub(r"[-_]+", " ", value)
    out |= {spaced, spaced.replace(" ", "-"), value.replace(" ", "")}
    return {v.strip() for v in out if v.strip()}


def _mask_evidence_strings(text: str, evidence: Evidence) -> str:
    names: set[str] = set()
    for value in (
        evidence.camera.name,
        evidence.camera.camera_id,
        evidence.camera.location,
        evidence.zone,
        evidence.site,
        evidence.incident_id,
        evidence.timezone,
        *evidence.keyframes,
    ):
        if value:
            names |= _variants(value)
    for name in sorted(names, key=len, reverse=True):
        pattern = rf"(?<![\w]){re.escape(name)}(?![\w])"
        text = re.sub(pattern, MASK, text, flags=re.IGNORECASE)
    return text


def _check_cameras_and_zones(text: str, evidence: Evidence, problems: list[str]) -> None:
    for rx in (_CAMERA_AFTER, _CAMERA_BEFORE):
        for m in rx.finditer(text):
            name = m["name"].strip(_QUOTES + " ")
            if name and name != MASK:
                problems.append(f"camera {name!r} is not the evidence's camera")
    for m in _IDENT.finditer(text):
        problems.append(f"identifier {m[0]!r} is not in the evidence")
    for rx in (_ZONE_AFTER, _ZONE_BEFORE):
        for m in rx.finditer(text):
            name = m["name"].strip(_QUOTES).lower()
            if name and name not in _ZONE_STOP and not name.isdigit():
                where = f"zone {evidence.zone!r}" if evidence.zone else "no zone"
                problems.append(f"zone {name!r} is not in the evidence ({where})")


def _allowed_counts(evidence: Evidence) -> set[int]:
    counts = {
        round(c.value)
        for c in evidence.cues
        if any(k in c.name for k in ("count", "people", "persons"))
    }
    if not counts and evidence.event_type in ("fall", "intrusion"):
        counts = {1}
    return counts


def _check_counts(text: str, evidence: Evidence, problems: list[str]) -> str:
    allowed = _allowed_counts(evidence)

    def count(m: re.Match[str]) -> str:
        q = m["q"].lower()
        if q.isdigit():
            n, exact = int(q), True
        elif q in _NUMBER_WORDS:
            n, exact = _NUMBER_WORDS[q], True
        else:
            n, exact = _QUANTIFIERS[q], False
        ok = n in allowed if exact else any(a >= n for a in allowed)
        if not ok:
            measured = ", ".join(str(a) for a in sorted(allowed)) or "none"
            problems.append(f"count {m[0]!r} is not in the evidence (counts measured: {measured})")
        return MASK

    return _COUNT.sub(count, text)


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text)}


def _check_events(text: str, evidence: Evidence, problems: list[str]) -> None:
    cleaned = _NOT_EVENT_CLAIMS.sub(MASK, text)
    words = _words(cleaned) | {w.replace("-", "") for w in _words(cleaned)}
    own = evidence.event_type
    for event, lexicon in EVENT_LEXICON.items():
        if event == own:
            continue
        for word in lexicon:
            if word in words:
                problems.append(f"mentions {word!r} ({event}) but the incident is {own!r}")
    own_words = EVENT_LEXICON.get(own) or tuple(re.split(r"[\s_-]+", own.lower()))
    for word in OTHER_EVENT_WORDS:
        if word in words and word not in own_words:
            problems.append(f"mentions {word!r}, an event the evidence does not show")
    own_words = EVENT_LEXICON.get(own) or tuple(re.split(r"[\s_-]+", own.lower()))
    if not any(w in _words(text) for w in own_words):
        problems.append(f"does not name the event ({own})")


def _check_details(text: str, problems: list[str]) -> None:
    words = _words(text)
    for word in INVENTED_DETAIL_WORDS:
        if word in words:
            problems.append(f"detail {word!r} is not in the evidence")


def evidence_quantities(evidence: Evidence) -> tuple[list[float], list[float]]:
    """The numbers a report may state: (plain values, values that may carry a ``%``)."""
    plain: list[float] = []
    pct: list[float] = []
    ratios = [evidence.peak_score, evidence.mean_score, *(p.score for p in evidence.timeline)]
    durations = [evidence.duration_s, *(p.offset_s for p in evidence.timeline)]
    for cue in evidence.cues:
        if cue.name.endswith("_s"):
            durations.append(cue.value)
        elif cue.name.endswith("_ratio") or 0.0 <= cue.value <= 1.0:
            ratios.append(cue.value)
        plain.append(cue.value)
    for r in ratios:
        plain += [r, r * 100]
        pct.append(r * 100)
    for d in durations:
        plain += [d, d / 60, d / 3600]
    plain += [float(evidence.version), float(len(evidence.keyframes))]
    plain += [float(d.year) for d in local_dates(evidence)]
    return plain, pct


def _check_numbers(text: str, evidence: Evidence, problems: list[str]) -> None:
    plain, pct = evidence_quantities(evidence)
    found: list[tuple[str, float, int, bool]] = []
    for m in _NUMBER.finditer(text):
        raw = m["n"]
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        found.append((m[0].strip(), float(raw), decimals, bool(m["pct"])))
    for m in _WORD_NUMBER_UNIT.finditer(text):
        is_pct = "percent" in m[0].lower() or "per cent" in m[0].lower()
        found.append((m[0], float(_NUMBER_WORDS[m["w"].lower()]), 0, is_pct))
    for raw, value, decimals, is_pct in found:
        tol = 0.5 * 10.0**-decimals + 1e-6
        pool = pct if is_pct else plain
        if not any(math.isclose(value, q, rel_tol=0.005, abs_tol=tol) for q in pool):
            problems.append(f"number {raw!r} is not in the evidence")
