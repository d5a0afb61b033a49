"""The clip section of the model config: defaults and validation errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engines.settings import ClipConfig, ModelConfig


def test_absent_and_empty_sections_are_valid() -> None:
    assert ModelConfig().clip == ModelConfig.model_validate({"clip": {}}).clip
    c = ClipConfig()
    assert c.visual == "openai/clip-vit-base-patch32" and c.backend == "auto"
    assert set(c.zeroshot.prompts) == {"fall", "fire", "smoke", "intrusion"}
    assert c.motion_gate.enabled and c.precision == "int8"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"zeroshot": {"prompts": {"flood": {"positive": ["water"]}}}},
            "unknown event type(s) flood",
        ),
        ({"zeroshot": {"prompts": {"fire": {"positive": []}}}}, "at least 1 item"),
        ({"zeroshot": {"prompts": {"fire": {"positive": [" "]}}}}, "must not be empty"),
        ({"temporal": {"width": 100, "heads": 3}}, "not divisible by heads"),
        ({"heads": "temporal"}, "needs temporal.weights"),
        ({"tensorrt": {"min_batch": 8, "opt_batch": 4}}, "min_batch <= opt_batch"),
        ({"precision": "fp16"}, "'fp32' or 'int8'"),
        ({"motion_gate": {"threshold": 2}}, "less than or equal to 1"),
        ({"batch": {"max_batch": 0}}, "greater than or equal to 1"),
        ({"gpu": True}, "Extra inputs are not permitted"),
    ],
)
def test_bad_values_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ClipConfig.model_validate(data)


def test_each_profile_declares_the_events_it_detects() -> None:
    from engines.cues import CueScorer

    every = ("fall", "fire", "smoke", "intrusion")
    assert ModelConfig().detectable_events() == CueScorer().events == every
    assert ModelConfig(profile="clip").detectable_events() == every
    only_smoke = {"zeroshot": {"prompts": {"smoke": {"positive": ["smoke"]}}}}
    clip = ModelConfig.model_validate({"profile": "clip", "clip": only_smoke})
    assert clip.detectable_events() == ("smoke",)
    # trained temporal heads: the event types are stored with the weights
    trained = ModelConfig.model_validate(
        {"profile": "clip", "clip": {"temporal": {"weights": "w"}}}
    )
    assert trained.clip.uses_temporal_heads and trained.detectable_events() is None
