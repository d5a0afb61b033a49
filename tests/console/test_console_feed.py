"""The console's feed client listens to every event kind the live feed sends."""

from __future__ import annotations

import re
from pathlib import Path

from storage import repo_live
from storage.repo_workflow import Action, Disposition
from tests.vigil.api.api_kit import World
from vigil.console.shell import STATIC_DIR


def _listened() -> set[str]:
    text = (Path(STATIC_DIR) / "sse.js").read_text(encoding="utf-8")
    block = re.search(r"export const KINDS = \[(.*?)\];", text, re.S)
    assert block, "sse.js: no KINDS list"
    return set(re.findall(r'"([a-z._]+)"', block.group(1)))


def test_sse_js_listens_to_every_kind_the_feed_sends() -> None:
    sent = {
        repo_live.INCIDENT_OPENED,
        repo_live.INCIDENT_UPDATED,
        repo_live.INCIDENT_CLOSED,
        repo_live.ESCALATION,
        repo_live.CAMERA_STATE,
        "camera.snoozed",
        *(f"workflow.{a.value}" for a in Action if a is not Action.ESCALATE),
    }
    assert _listened() == sent


def test_the_fields_the_live_list_reads_are_in_the_events(world: World) -> None:
    inc = world.record()
    world.ops.act(inc, Action.ACKNOWLEDGE, actor="ann")
    world.ops.act(inc, Action.RESOLVE, actor="ann", disposition=Disposition.TEST)
    events = world.ops.events_after(0, cameras=None)
    by_kind = {e.kind: e.payload for e in events}
    opened = by_kind[repo_live.INCIDENT_OPENED]
    assert {"incident_id", "status", "peak_score"} <= opened.keys()
    for kind, state in (("workflow.acknowledge", "acknowledged"), ("workflow.resolve", "resolved")):
        payload = by_kind[kind]
        assert payload["incident_id"] == inc
        assert payload["after"]["state"] == state
        assert {"disposition", "owner"} <= payload["after"].keys()
