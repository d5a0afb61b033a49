"""Helpers of the storage tests: a tansu broker process, a consumer, the message schemas."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """One tansu broker process on 127.0.0.1 (memory storage)."""

    def __init__(self, binary: Path, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Broker:
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.proc.returncode}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"tansu did not listen on {self.bootstrap}")

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@dataclass(frozen=True)
class Consumed:
    """A message read back from the broker."""

    topic: str
    partition: int
    offset: int
    key: str
    value: dict[str, Any]


def consume(
    bootstrap: str, topics: list[str], *, expect: int, timeout_s: float = 30.0
) -> list[Consumed]:
    """Read the topics from the beginning until ``expect`` distinct (topic, incident_id,
    version) were seen and the topics are quiet, or ``timeout_s`` passed."""

    async def run() -> list[Consumed]:
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        out: list[Consumed] = []
        seen: set[tuple[str, str, int]] = set()
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                if not batch and len(seen) >= expect:
                    break
                for tp, records in batch.items():
                    for r in records:
                        value = json.loads(r.value)
                        out.append(
                            Consumed(tp.topic, tp.partition, r.offset, r.key.decode(), value)
                        )
                        seen.add((tp.topic, value["incident_id"], value["version"]))
        finally:
            await consumer.stop()
        return out

    return asyncio.run(run())


def load_schema_validator(name: str) -> Any:
    """A JSON Schema validator for ``docs/schemas/<name>`` (references resolved locally)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    folder = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    resources = []
    for f in folder.glob("*.json"):
        schema = json.loads(f.read_text())
        resources.append((f.name, Resource.from_contents(schema)))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((folder / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid_message(topic_suffix: str, message: dict[str, Any]) -> None:
    """Validate a bus message against its JSON Schema."""
    name = {
        "incidents": "incident-message.v1.json",
        "reports": "report-message.v1.json",
        "actions": "action-message.v1.json",
    }[topic_suffix]
    validator = _VALIDATORS.get(name)
    if validator is None:
        validator = _VALIDATORS[name] = load_schema_validator(name)
    errors = sorted(validator.iter_errors(message), key=lambda e: list(e.path))
    assert not errors, (
        f"{topic_suffix} message invalid: {errors[0].message} at {list(errors[0].path)}"
    )


_VALIDATORS: dict[str, Any] = {}
