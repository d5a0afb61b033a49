"""The history, cameras and handover pages: who gets them, what they offer to whom."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

MORE = ["/history", "/cameras", "/handover"]


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
@pytest.mark.parametrize("path", MORE)
def test_the_pages_render_for_every_role(
    login: Callable[..., TestClient], path: str, role: str
) -> None:
    r = login(role).get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    page = path.strip("/")
    assert f'<script type="module" src="/static/{page}.js"></script>' in r.text
    assert f'href="/{page}" aria-current="page"' in r.text
    assert re.search(r"<h1[^>]*>", r.text) and "<main" in r.text
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", r.text)


@pytest.mark.parametrize("path", MORE)
def test_without_a_session_the_pages_send_to_login(anon: TestClient, path: str) -> None:
    r = anon.get(f"{path}?camera=cam-a", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=%2F{path.strip('/')}%3Fcamera%3Dcam-a"


def _labels(html: str) -> dict[str, str]:
    """Visible label text -> the id of the control it labels."""
    return {
        re.sub(r"\s+", " ", text).strip(): for_id
        for for_id, text in re.findall(r'<label for="([^"]+)">([^<]+)</label>', html)
    }


def test_history_labels_every_filter_and_offers_search_and_exports(
    login: Callable[..., TestClient],
) -> None:
    html = login("viewer").get("/history").text
    labels = _labels(html)
    for name in ("Search", "Camera", "Event type", "Workflow state", "Severity", "Zone"):
        assert name in labels, name
        assert f'id="{labels[name]}"' in html
    for name in ("Match by", "Detector status", "Opened from", "Opened before", "Order"):
        assert name in labels, name
    assert '<option value="semantic">Meaning</option>' in html
    assert '<option value="fire">Fire</option>' in html
    assert '<option value="investigating">Investigating</option>' in html
    assert '<option value="critical">Critical</option>' in html
    assert '<button type="submit" class="primary">Search</button>' in html
    assert ">Export CSV</a>" in html and ">Export JSON</a>" in html
    assert 'id="history-table"' in html and 'id="load-more"' in html


def test_cameras_offer_the_add_form_and_zone_editor_to_admins_only(
    login: Callable[..., TestClient],
) -> None:
    admin = login("admin").get("/cameras").text
    labels = _labels(admin)
    for name in ("Camera id", "Name", "URL", "Frames per second", "Zone label", "Point x"):
        assert name in labels, name
    assert 'data-admin="true"' in admin
    for button in ("Add camera", "Probe", "Save camera", "Undo point", "Close polygon"):
        assert f">{button}</button>" in admin, button
    assert 'role="status" aria-label="Probe result"' in admin
    assert admin.count('name="events" value=') == 4 and 'value="fall" checked' in admin
    for role in ("viewer", "operator"):
        html = login(role).get("/cameras").text
        assert 'data-admin="false"' in html
        for absent in ("Add camera", "camera-form", "zones-dialog", "Save camera"):
            assert absent not in html, (role, absent)


def test_handover_has_its_period_form(login: Callable[..., TestClient]) -> None:
    html = login("viewer").get("/handover").text
    assert {"Shift", "Since"} <= set(_labels(html))
    assert '<option value="8" selected>Last 8 hours</option>' in html


@pytest.mark.parametrize(
    "name", ["dom.js", "history.js", "cameras.js", "zones.js", "handover.js", "more.css"]
)
def test_the_pages_modules_are_served(anon: TestClient, name: str) -> None:
    r = anon.get(f"/static/{name}")
    assert r.status_code == 200
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    assert r.headers["content-type"].split(";")[0] == kind
