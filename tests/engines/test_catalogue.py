"""The event catalogue is the one source of what an event type is: every stage's table is a
view of it, and a word one of its events uses is never taken for an invented event."""

from __future__ import annotations

from detectors.settings import EVENT_DEFAULTS, EventConfig
from engines.catalogue import CATALOGUE, EVENT_NAMES
from engines.settings import CLIP_DEFAULT_PROMPTS
from engines.types import EVENT_TYPES
from reports.grounding import EVENT_LEXICON, OTHER_EVENT_WORDS
from reports.settings import DEFAULT_BASE_SEVERITY
from reports.template import ACTIONS, EVENT_PHRASES, event_phrases


def test_every_stage_table_is_a_view_of_the_catalogue() -> None:
    assert EVENT_TYPES == EVENT_NAMES == ("fall", "fire", "smoke", "intrusion")
    for name, ev in CATALOGUE.items():
        assert EVENT_DEFAULTS[name] == dict(ev.rule_defaults)
        assert DEFAULT_BASE_SEVERITY[name] == ev.base_severity
        assert EVENT_PHRASES[name] == ev.phrases == event_phrases(name)
        assert ACTIONS[name] == ev.action
        assert EVENT_LEXICON[name] == ev.lexicon and name in ev.lexicon
        assert CLIP_DEFAULT_PROMPTS[name]["positive"] == list(ev.positive_prompts)
        assert CLIP_DEFAULT_PROMPTS[name]["negative"] == list(ev.negative_prompts)
        resolved = EventConfig().resolved(name)
        assert resolved.threshold == ev.rule_defaults["threshold"]
    for table in (EVENT_DEFAULTS, DEFAULT_BASE_SEVERITY, EVENT_PHRASES, ACTIONS, EVENT_LEXICON):
        assert tuple(table) == EVENT_NAMES


def test_words_of_catalogued_events_are_not_invented_events() -> None:
    catalogued = {w for ev in CATALOGUE.values() for w in ev.lexicon}
    assert not catalogued & set(OTHER_EVENT_WORDS)
    assert "fighting" in OTHER_EVENT_WORDS  # not catalogued: naming it is an invention
