"""The operator service's side of the database: accounts, workflow, live feed, browsing.

Each method is one transaction on the ``Store``'s engine; an action is applied whole or not
at all (a briefly unavailable database refuses it with ``StorageError``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from storage import (
    repo_auth,
    repo_browse,
    repo_calibration,
    repo_cameras,
    repo_handover,
    repo_live,
    repo_media,
    repo_workflow,
)
from storage.errors import StorageError
from storage.records import IncidentDetail, IncidentRecord, MediaRef
from storage.repo_auth import TokenRecord, UserRecord
from storage.repo_browse import BrowseQuery
from storage.repo_calibration import DispositionRecord
from storage.repo_handover import Handover
from storage.repo_history import get_incident
from storage.repo_live import LiveEvent
from storage.repo_workflow import Action, AuditEntry, Disposition, WorkflowView
from storage.store import Store

log = logging.getLogger(__name__)

#: Seconds between two writes of one token's ``last_used`` (every bearer request reads it).
TOKEN_USE_WRITE_EVERY_S = 60.0


class UseThrottle:
    """Which keys are due for a write: each at most once per ``every_s`` (in memory).

    ``claim`` is atomic, so concurrent requests of one token claim one write between them;
    ``release`` gives a claim back when its write failed.
    """

    def __init__(self, every_s: float) -> None:
        """At most one claim per key per ``every_s`` seconds."""
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, now_s: float) -> bool:
        """True (and remembered) when ``key`` had no claim in the last ``every_s`` seconds."""
        with self._lock:
            last = self._last.get(key)
            if last is not None and now_s - last < self.every_s:
                return False
            self._last[key] = now_s
            return True

    def release(self, key: str) -> None:
        """Forget ``key``'s claim (its write did not happen)."""
        with self._lock:
            self._last.pop(key, None)

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._last)


class OperatorStore:
    """Accounts, the incident workflow and the live feed over one ``Store``."""

    def __init__(self, store: Store) -> None:
        """Share ``store``'s engine, error mapping and clock."""
        self.store = store
        self.token_uses = UseThrottle(TOKEN_USE_WRITE_EVERY_S)

    def now_s(self) -> float:
        """The store's clock."""
        return self.store.now_s()

    # --- accounts -------------------------------------------------------------------------

    def add_user(
        self, *, name: str, role: str, password_hash: str, cameras: Sequence[str] | None
    ) -> UserRecord:
        """Create a user."""
        with self.store._write(f"adding user {name!r}") as s:
            return repo_auth.add_user(
                s,
                name=name,
                role=role,
                password_hash=password_hash,
                cameras=cameras,
                now_s=self.now_s(),
            )

    def user_with_hash(self, name: str) -> tuple[UserRecord, str] | None:
        """A user and its password hash, or None."""
        return self.store._read("reading a user", lambda s: repo_auth.user_with_hash(s, name=name))

    def list_users(self) -> list[UserRecord]:
        """Every user."""
        return self.store._read("listing users", repo_auth.list_users)

    def remove_user(self, name: str) -> None:
        """Delete a user and its sessions."""
        with self.store._write(f"removing user {name!r}") as s:
            repo_auth.remove_user(s, name=name)

    def set_password(self, name: str, password_hash: str) -> None:
        """Replace a user's password, ending its sessions."""
        with self.store._write(f"changing the password of {name!r}") as s:
            repo_auth.set_password(s, name=name, password_hash=password_hash, now_s=self.now_s())

    def add_session(self, *, session_hash: str, user_id: int, ttl_s: float) -> None:
        """Record a login that lasts ``ttl_s``."""
        now = self.now_s()
        with self.store._write("recording a login") as s:
            repo_auth.add_session(
                s, session_hash=session_hash, user_id=user_id, now_s=now, expires_ts_s=now + ttl_s
            )

    def session_user(self, session_hash: str) -> UserRecord | None:
        """The user of a live session."""
        now = self.now_s()
        return self.store._read(
            "checking a session",
            lambda s: repo_auth.session_user(s, session_hash=session_hash, now_s=now),
        )

    def remove_session(self, session_hash: str) -> None:
        """Log a session out."""
        with self.store._write("ending a session") as s:
            repo_auth.remove_session(s, session_hash=session_hash)

    def add_token(
        self, *, name: str, role: str, token_hash: str, cameras: Sequence[str] | None
    ) -> TokenRecord:
        """Create an API token record."""
        with self.store._write(f"adding token {name!r}") as s:
            return repo_auth.add_token(
                s, name=name, role=role, token_hash=token_hash, cameras=cameras, now_s=self.now_s()
            )

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        """The live token with this hash; its ``last_used`` is written at most once a minute
        (``token_uses``), and a failed write of it does not refuse the token."""
        now = self.now_s()
        if self.token_uses.claim(token_hash, now):
            try:
                with self.store._write("marking a token used") as s:
                    record = repo_auth.token_by_hash(s, token_hash=token_hash, now_s=now)
                if record is None:  # unknown hashes are not remembered: no growth from them
                    self.token_uses.release(token_hash)
                return record
            except StorageError as exc:
                self.token_uses.release(token_hash)
                log.warning("auth: token last_used not written: %s", exc)
        return self.store._read(
            "checking a token",
            lambda s: repo_auth.token_by_hash(s, token_hash=token_hash, now_s=None),
        )

    def list_tokens(self) -> list[TokenRecord]:
        """Every token record."""
        return self.store._read("listing tokens", repo_auth.list_tokens)

    def revoke_token(self, name: str) -> None:
        """Revoke a token."""
        with self.store._write(f"revoking token {name!r}") as s:
            repo_auth.revoke_token(s, name=name, now_s=self.now_s())

    # --- incidents and workflow -----------------------------------------------------------

    def browse(
        self, query: BrowseQuery
    ) -> tuple[list[tuple[IncidentRecord, WorkflowView]], str | None]:
        """One page of incidents and the next page's cursor."""
        return self.store._read(
            "listing incidents", lambda s: repo_browse.browse_incidents(s, query)
        )

    def incident(
        self, incident_id: str
    ) -> tuple[IncidentDetail, WorkflowView, list[AuditEntry]] | None:
        """One incident in full with its workflow and audit trail, or None."""

        def read(s: Session) -> tuple[IncidentDetail, WorkflowView, list[AuditEntry]] | None:
            detail = get_incident(s, incident_id=incident_id)
            if detail is None:
                return None
            view = repo_workflow.workflow_view(s, incident_id)
            return detail, view, repo_workflow.audit_trail(s, incident_id)

        return self.store._read(f"reading incident {incident_id!r}", read)

    def handover(
        self, *, since_ts_s: float, cameras: Sequence[str] | None, limit: int = 500
    ) -> Handover:
        """Open incidents and those resolved since ``since_ts_s``, with their notes."""
        return self.store._read(
            "reading the handover",
            lambda s: repo_handover.handover(
                s, since_ts_s=since_ts_s, cameras=cameras, limit=limit
            ),
        )

    def calibration_data(
        self, *, since_ts_s: float | None = None
    ) -> tuple[list[DispositionRecord], dict[str, float]]:
        """Dispositioned incidents (true and false alarms) and each camera's hours."""
        now = self.now_s()

        def read(s: Session) -> tuple[list[DispositionRecord], dict[str, float]]:
            rows = repo_calibration.dispositions(s, since_ts_s=since_ts_s)
            return rows, repo_calibration.camera_hours(s, now_s=now, since_ts_s=since_ts_s)

        return self.store._read("reading dispositions for calibration", read)

    def act(
        self,
        incident_id: str,
        action: Action,
        *,
        actor: str,
        note: str | None = None,
        disposition: Disposition | None = None,
        owner: str | None = None,
    ) -> AuditEntry:
        """Apply one workflow action (whole, or not at all)."""
        with self.store._write(f"{action.value} on incident {incident_id!r}") as s:
            return repo_workflow.apply_action(
                s,
                incident_id=incident_id,
                action=action,
                actor=actor,
                now_s=self.now_s(),
                note=note,
                disposition=disposition,
                owner=owner,
            )

    def snooze(self, camera_id: str, *, minutes: float, actor: str) -> float:
        """Snooze a camera for ``minutes``; returns when the snooze ends."""
        now = self.now_s()
        until = now + minutes * 60.0
        with self.store._write(f"snoozing camera {camera_id!r}") as s:
            repo_workflow.snooze_camera(
                s, camera_id=camera_id, until_ts_s=until, actor=actor, now_s=now
            )
        return until

    def escalate_due(self, after_s_by_severity: dict[str, float]) -> list[AuditEntry]:
        """Escalate every incident left ``new`` past its severity's delay."""
        now = self.now_s()
        with self.store._write("escalating incidents") as s:
            due = repo_workflow.due_for_escalation(
                s, after_s_by_severity=after_s_by_severity, now_s=now
            )
            return [
                repo_workflow.apply_action(
                    s, incident_id=i, action=Action.ESCALATE, actor="system", now_s=now
                )
                for i in due
            ]

    def media_ids(self, incident_id: str) -> list[tuple[int, MediaRef]]:
        """The media of an incident with their ids."""
        return self.store._read(
            "listing media", lambda s: repo_media.media_with_ids(s, incident_id=incident_id)
        )

    def media(self, media_id: int) -> tuple[MediaRef, str] | None:
        """One media file's record and its camera id, or None."""
        return self.store._read(
            "reading media", lambda s: repo_media.media_by_id(s, media_id=media_id)
        )

    def snoozed_until(self, camera_id: str) -> float | None:
        """When a camera's snooze ends, or None."""
        now = self.now_s()
        return self.store._read(
            "reading a snooze",
            lambda s: repo_workflow.snoozed_until(s, camera_id=camera_id, now_s=now),
        )

    def cameras(self) -> list[tuple[str, str, str]]:
        """Registered cameras as (id, name, masked URL)."""
        from sqlalchemy import select

        from storage.models import Camera

        return self.store._read(
            "listing cameras",
            lambda s: [
                (c.id, c.name, c.url_masked) for c in s.scalars(select(Camera).order_by(Camera.id))
            ],
        )

    # --- live feed ------------------------------------------------------------------------

    def add_event(self, kind: str, *, camera_id: str | None, payload: dict[str, Any]) -> None:
        """Append one event to the live feed (e.g. a camera's state change)."""
        now = self.now_s()
        with self.store._write(f"adding a {kind} event") as s:
            repo_live.add_live_event(
                s, kind=kind, camera_id=camera_id, incident_id=None, payload=payload, now_s=now
            )

    def events_after(
        self, after_id: int, *, cameras: Sequence[str] | None, limit: int = 500
    ) -> list[LiveEvent]:
        """Live-feed events after ``after_id``, oldest first."""
        return self.store._read(
            "reading the live feed",
            lambda s: repo_live.live_events_after(
                s, after_id=after_id, cameras=cameras, limit=limit
            ),
        )

    def last_event_id(self) -> int:
        """The newest live-feed event id."""
        return self.store._read("reading the live feed", repo_live.last_live_event_id)

    # --- runtime cameras and metrics ------------------------------------------------------

    def runtime_cameras(self) -> list[tuple[str, dict[str, Any]]]:
        """Cameras added through the API, as (id, stored config)."""
        return self.store._read("listing runtime cameras", repo_cameras.runtime_cameras)

    def put_runtime_camera(self, camera_id: str, config: dict[str, Any]) -> None:
        """Keep (insert or replace) a runtime camera's config."""
        with self.store._write(f"saving camera {camera_id!r}") as s:
            repo_cameras.put_runtime_camera(
                s, camera_id=camera_id, config=config, now_s=self.now_s()
            )

    def remove_runtime_camera(self, camera_id: str) -> bool:
        """Forget a runtime camera; False if there was none."""
        with self.store._write(f"removing camera {camera_id!r}") as s:
            return repo_cameras.remove_runtime_camera(s, camera_id=camera_id)

    def incident_counts(self) -> list[tuple[str, str, int]]:
        """(event_type, status, count) of every incident."""
        return self.store._read("counting incidents", repo_cameras.incident_counts)

    def report_latency(self) -> list[tuple[str, int, float, float]]:
        """(backend, reports, mean latency_s, newest latency_s) per report backend."""
        return self.store._read("reading report latency", repo_cameras.report_latency)
