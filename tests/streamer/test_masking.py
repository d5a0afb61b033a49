"""The one masker: by the URL's structure, never by searching the password everywhere."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from storage.errors import StorageError
from storage.settings import StorageConfig
from storage.store import Store
from streamer.masking import mask_text, mask_url, register_secret, url_secrets

PASSWORDS = ["1", "e", "127", "p@ss", "a:b", "50%off", "a/b", "x#y", "q?r", "two words", "Zq2@h"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_url_is_masked_by_its_structure(password: str) -> None:
    url = f"rtsp://admin:{password}@127.0.0.1:8554/cam?x=1"
    assert mask_url(url) == "rtsp://admin:***@127.0.0.1:8554/cam?x=1"
    assert url_secrets(url) == [password]


@pytest.mark.parametrize("password", [p for p in PASSWORDS if " " not in p])
def test_urls_in_free_text_are_masked_and_nothing_else(password: str) -> None:
    url = f"rtsp://admin:{password}@127.0.0.1:1/cam"
    text = f"camera dock: Connection refused opening {url} (errno 111)"
    assert mask_text(text, url) == (
        "camera dock: Connection refused opening rtsp://admin:***@127.0.0.1:1/cam (errno 111)"
    )


def test_a_short_password_never_masks_ordinary_words() -> None:
    register_secret("e")  # too short to be searched for
    assert mask_text("Connection refused", "rtsp://u:e@h/s") == "Connection refused"
    assert mask_url("rtsp://admin:1@127.0.0.1:1/cam") == "rtsp://admin:***@127.0.0.1:1/cam"


def test_known_secrets_are_masked_anywhere_also_percent_decoded() -> None:
    register_secret("Hunter%202-secret")
    text = "auth failed for 'Hunter 2-secret' and Hunter%202-secret"
    assert mask_text(text) == "auth failed for '***' and ***"


def test_secret_query_values_are_masked() -> None:
    assert mask_url("https://h/x.m3u8?a=1&token=abc&b=2") == "https://h/x.m3u8?a=1&token=***&b=2"
    assert mask_text("GET http://h/p?api_key=s3 done") == "GET http://h/p?api_key=*** done"


def test_database_password_with_special_characters_is_refused_masked(tmp_path: Path) -> None:
    for raw in ("postgresql+psycopg://vigil:Zq2@x@127.0.0.1/db", "postgresql://u:a/b@h/db"):
        with pytest.raises(StorageError) as exc:
            Store.open(StorageConfig(database_url=raw, media_dir=str(tmp_path / "m")))
        message = str(exc.value)
        assert "percent-encoded" in message
        assert "Zq2" not in message and "a/b" not in message


def test_a_url_the_parser_rejects_is_reported_without_the_parsers_words(tmp_path: Path) -> None:
    raw = "postgresql+psycopg://vigil:Zq1secret@127.0.0.1:notaport/db"
    with pytest.raises(StorageError) as exc:
        Store.open(StorageConfig(database_url=raw, media_dir=str(tmp_path / "m")))
    assert "Zq1secret" not in str(exc.value)
    assert "is not a database URL" in str(exc.value)


def test_config_check_and_logs_never_show_a_password(tmp_path: Path) -> None:
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(
        'storage:\n  database_url: "postgresql+psycopg://vigil:s3cr et/x@db/v"\n'
        "  media_dir: media\n"
        'cameras:\n  - {id: cam, url: "rtsp://admin:1@127.0.0.1:1/cam"}\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "config", "check", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    assert "s3cr et" not in out and "s3cr" not in out, out
    assert "vigil:***@db/v" in out


def test_the_log_formatter_masks_records(caplog: pytest.LogCaptureFixture) -> None:
    from vigil.logs import build_handler

    class Sink:
        def __init__(self) -> None:
            self.text = ""

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    sink = Sink()
    handler = build_handler(sink)  # type: ignore[arg-type]
    log = logging.getLogger("vigil.test.masking")
    log.addHandler(handler)
    try:
        log.warning("opening %s failed", "rtsp://u:p/w@127.0.0.1/s")
    finally:
        log.removeHandler(handler)
    assert "rtsp://u:***@127.0.0.1/s" in sink.text and "p/w" not in sink.text


def test_a_url_without_its_scheme_separator_still_has_its_password_masked() -> None:
    from streamer.masking import mask_url

    assert mask_url("postgresql//vigil:s3cret@127.0.0.1/vigil") == (
        "postgresql//vigil:***@127.0.0.1/vigil"
    )
    assert mask_url("admin:pw@cam.local/stream") == "admin:***@cam.local/stream"
    assert mask_url("no-secret-here/path") == "no-secret-here/path"
