"""Fixtures of the reports tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from reports_helpers import ChatServer, make_evidence

from reports.evidence import Evidence
from tests.support.tiny_lm import build_tiny_lm


@pytest.fixture
def evidence_factory() -> Callable[..., Evidence]:
    """Build evidence with overrides: ``evidence_factory(event_type="fire", closed=False)``."""
    return make_evidence


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """A chat-completions server on 127.0.0.1 for this test."""
    server = ChatServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def tiny_lm_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random LMs on disk: ``chat`` (with a chat template) and ``base`` (without)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("tiny-lm")
    return {
        "chat": build_tiny_lm(root / "chat", chat=True),
        "base": build_tiny_lm(root / "base", chat=False),
    }
