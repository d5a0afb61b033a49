"""Configuration of incident reports (owned by the reports stage)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engines.catalogue import CATALOGUE, SeverityName

#: Starting severity per event type (rule 1 of ``reports.severity``).
DEFAULT_BASE_SEVERITY: dict[str, SeverityName] = {
    ev.name: ev.base_severity for ev in CATALOGUE.values()
}


class SeverityConfig(BaseModel):
    """Inputs of the severity rules (see ``reports.severity``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: dict[str, SeverityName] = Field(
        default_factory=lambda: dict(DEFAULT_BASE_SEVERITY),
        description="Starting severity per event type; types not listed start at `low`.",
    )
    escalate_after_s: float = Field(
        60.0,
        gt=0.0,
        le=86400.0,
        description="An incident lasting at least this long is one level more severe.",
    )
    critical_zones: tuple[str, ...] = Field(
        (),
        max_length=256,
        description="Zone names where incidents are one level more severe.",
    )


class TransformersConfig(BaseModel):
    """A local language model run with Hugging Face transformers (extra ``[llm]`` for GGUF)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        "",
        max_length=4096,
        description="Local model folder, or a .gguf file (its folder then holds nothing else "
        "needed). Empty: the backend is unavailable and reports fall back to the template.",
    )
    gguf_file: str | None = Field(
        None,
        max_length=1024,
        description="GGUF file name inside `model` (a folder); set automatically for a .gguf path.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto uses CUDA when torch sees a GPU, else the CPU."
    )
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="auto: float16 on CUDA, float32 on the CPU."
    )
    max_new_tokens: int = Field(
        256, ge=16, le=4096, description="Most tokens generated for one report."
    )
    timeout_s: float = Field(
        120.0, gt=0.0, le=3600.0, description="Wall-clock limit of one generation."
    )
    prompt_style: Literal["auto", "chat", "completion"] = Field(
        "auto",
        description="chat: the tokenizer's chat template; completion: a one-shot prompt for base "
        "models; auto: chat when the tokenizer has a chat template.",
    )


class OpenAIConfig(BaseModel):
    """Any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, …)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(
        "http://127.0.0.1:8000/v1",
        min_length=1,
        max_length=2048,
        description="Server URL up to and including the API version, e.g. http://host:11434/v1.",
    )
    model: str = Field("", max_length=512, description="Model name the server knows.")
    api_key_env: str | None = Field(
        "OPENAI_API_KEY",
        max_length=128,
        description="Environment variable holding the API key (sent as a Bearer token if set).",
    )
    timeout_s: float = Field(
        30.0, gt=0.0, le=3600.0, description="Wall-clock limit of one request."
    )
    max_tokens: int = Field(400, ge=16, le=8192, description="Most tokens of one answer.")
    json_mode: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Ask for response_format json_object; auto retries without it once if the "
        "server rejects it.",
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")


class ReportsConfig(BaseModel):
    """Which backend writes incident reports, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["template", "transformers", "openai"] = Field(
        "template", description="template is deterministic and always the fallback."
    )
    workers: int = Field(1, ge=1, le=16, description="Threads generating reports off the hot path.")
    queue_size: int = Field(
        64,
        ge=1,
        le=100_000,
        description="Incidents waiting for generation; more are dropped (template stands).",
    )
    max_answer_chars: int = Field(
        4000,
        ge=200,
        le=100_000,
        description="A longer model answer is rejected as oversized.",
    )
    severity: SeverityConfig = Field(default_factory=SeverityConfig)
    transformers: TransformersConfig = Field(default_factory=TransformersConfig)
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
