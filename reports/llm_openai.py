"""The ``openai`` backend: any OpenAI-compatible chat-completions server (vLLM, Ollama, …).

One POST to ``{base_url}/chat/completions`` per report, with the API key (if its environment
variable is set) as a Bearer token and ``response_format: json_object`` where the server accepts
it. The whole request is bounded by ``timeout_s`` and the response body by a byte limit, so a
stalled, slow or runaway server costs at most that much; every failure becomes a
:class:`~reports.llm_base.BackendError` whose message is the recorded fallback reason. URLs in
messages never show credentials.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import httpx

from engines.registry import Plugin
from reports.evidence import Evidence
from reports.llm_base import BackendError, GeneratorFactory
from reports.prompt import build_messages
from reports.settings import OpenAIConfig, ReportsConfig
from reports.types import Severity

log = logging.getLogger(__name__)


def public_url(url: str) -> str:
    """``url`` without user, password or query (safe to log)."""
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}{u.path}"


class OpenAIGenerator:
    """Generates report JSON through an OpenAI-compatible chat-completions API."""

    def __init__(
        self,
        config: OpenAIConfig,
        *,
        max_answer_chars: int = 4000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._config = config
        self._max_answer_chars = max_answer_chars
        self._max_bytes = max(65536, 8 * max_answer_chars)
        self._url = f"{config.base_url}/chat/completions"
        self._shown = public_url(config.base_url)
        self._json_mode = config.json_mode != "off"
        self._stopped = threading.Event()
        headers = {"Accept": "application/json"}
        key = os.environ.get(config.api_key_env) if config.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            timeout=httpx.Timeout(config.timeout_s),
            headers=headers,
            transport=transport,
            follow_redirects=False,
        )

    @property
    def name(self) -> str:
        """``openai``."""
        return "openai"

    @property
    def model(self) -> str | None:
        """The model name sent to the server."""
        return self._config.model or None

    def load(self) -> None:
        """Nothing to load; fails early when no model is configured."""
        if not self._config.model:
            raise BackendError("no model set (reports.openai.model is empty)")

    def generate(self, evidence: Evidence, severity: Severity) -> str:
        """The message content of the server's answer for ``evidence``."""
        self.load()
        cfg = self._config
        deadline = time.monotonic() + cfg.timeout_s
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": build_messages(evidence, severity),
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
            "stream": False,
        }
        if self._json_mode:
            body["response_format"] = {"type": "json_object"}
        status, raw = self._post(body, deadline)
        if (
            status == 400
            and self._json_mode
            and cfg.json_mode == "auto"
            and b"response_format" in raw
        ):
            log.info("reports: %s rejects response_format; asking without it", self._shown)
            self._json_mode = False
            body.pop("response_format")
            status, raw = self._post(body, deadline)
        if status != 200:
            text = " ".join(raw[:200].decode("utf-8", "replace").split())
            raise BackendError(f"server answered HTTP {status} at {self._shown}: {text!r}")
        return self._content(raw)

    def write_text(self, messages: list[dict[str, str]]) -> str:
        """The server's answer to chat ``messages`` as free text (the handover summary)."""
        self.load()
        cfg = self._config
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
            "stream": False,
        }
        status, raw = self._post(body, time.monotonic() + cfg.timeout_s)
        if status != 200:
            text = " ".join(raw[:200].decode("utf-8", "replace").split())
            raise BackendError(f"server answered HTTP {status} at {self._shown}: {text!r}")
        return self._content(raw)

    def _post(self, body: dict[str, Any], deadline: float) -> tuple[int, bytes]:
        if self._stopped.is_set():
            raise BackendError("stopped")
        timeout = self._config.timeout_s
        try:
            with self._client.stream("POST", self._url, json=body) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise BackendError(
                            f"oversized response from {self._shown}: more than "
                            f"{self._max_bytes} bytes"
                        )
                    if time.monotonic() > deadline:
                        raise BackendError(f"timeout: {self._shown} took longer than {timeout:g} s")
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"timeout: {self._shown} did not answer within {timeout:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.ConnectError as exc:
            raise BackendError(f"server unreachable at {self._shown}: {exc}") from exc
        except httpx.HTTPError as exc:
            if self._stopped.is_set():
                raise BackendError("stopped") from exc
            raise BackendError(
                f"request to {self._shown} failed: {type(exc).__name__}: {exc}"
            ) from exc
        except RuntimeError as exc:  # the client was closed by stop()
            if isinstance(exc, BackendError):
                raise
            raise BackendError(f"stopped ({exc})") from exc

    def _content(self, raw: bytes) -> str:
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            text = " ".join(raw[:120].decode("utf-8", "replace").split())
            raise BackendError(
                f"malformed response from {self._shown} (not a chat completion): {text!r}"
            ) from exc
        if not isinstance(content, str) or not content.strip():
            raise BackendError(f"empty answer from {self._shown}")
        if choice.get("finish_reason") == "length":
            raise BackendError(
                f"oversized answer: cut at max_tokens={self._config.max_tokens} "
                f"({len(content)} characters)"
            )
        if len(content) > self._max_answer_chars:
            raise BackendError(
                f"oversized answer: {len(content)} characters > {self._max_answer_chars}"
            )
        return content

    def close(self) -> None:
        """Close the HTTP client (a request in flight fails as ``stopped``)."""
        self._stopped.set()
        self._client.close()


def _generator(config: ReportsConfig) -> OpenAIGenerator:
    return OpenAIGenerator(config.openai, max_answer_chars=config.max_answer_chars)


#: The ``openai`` report backend (httpx, a core dependency: it can always run).
PLUGIN: Plugin[GeneratorFactory] = Plugin(
    "openai",
    _generator,
    config=OpenAIConfig,
    description="Any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, ...).",
)
