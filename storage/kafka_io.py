"""Kafka plumbing of the outbox publisher: client settings, topic creation, batch sends.

``aiokafka`` is imported inside the functions, only when ``bus.kafka`` is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import cache
from typing import TYPE_CHECKING, Any

from storage import messages
from storage.records import OutboxMessage
from storage.settings import KafkaConfig

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer
    from aiokafka.partitioner import DefaultPartitioner

#: The publisher's logger: these lines were always logged as ``storage.publisher``.
log = logging.getLogger("storage.publisher")

#: One batch per camera and topic per round; Kafka's default message.max.bytes is ~1 MB.
MAX_BATCH_BYTES = 900_000

#: Sends started in one round: the rows of each batch and the future of its acknowledgement.
Sends = list[tuple[list[OutboxMessage], "asyncio.Future[Any]"]]


@cache
def unreachable() -> tuple[type[Exception], ...]:
    """Errors that mean "cannot reach the broker now" (not "the broker refuses this")."""
    from aiokafka.errors import (
        KafkaConnectionError,
        KafkaTimeoutError,
        NodeNotReadyError,
        RequestTimedOutError,
    )

    return (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError)


@cache
def partitioner() -> DefaultPartitioner:
    """Kafka's Java-compatible key partitioner (murmur2 of the key)."""
    from aiokafka.partitioner import DefaultPartitioner

    return DefaultPartitioner()


async def quiet_stop(producer: AIOKafkaProducer) -> None:
    """Stop a producer, ignoring any error (at most 5 s)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), timeout=5)


def client_kwargs(kafka: KafkaConfig) -> dict[str, Any]:
    """aiokafka client arguments (servers, timeouts, TLS, SASL) from the settings."""
    kw: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "client_id": kafka.client_id,
        "request_timeout_ms": int(kafka.request_timeout_s * 1000),
        "retry_backoff_ms": 200,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        kw["ssl_context"] = create_ssl_context()
    if kafka.security_protocol.startswith("SASL"):
        kw.update(
            sasl_mechanism=kafka.sasl_mechanism or "PLAIN",
            sasl_plain_username=kafka.sasl_username,
            sasl_plain_password=(
                None if kafka.sasl_password is None else kafka.sasl_password.get_secret_value()
            ),
        )
    return kw


def producer_kwargs(kafka: KafkaConfig, *, idempotent: bool) -> dict[str, Any]:
    """Producer arguments: the client's plus ``acks=all``, idempotence and batch sizes."""
    kw = client_kwargs(kafka)
    kw.update(
        acks="all",
        enable_idempotence=idempotent,
        max_batch_size=MAX_BATCH_BYTES,
        max_request_size=max(MAX_BATCH_BYTES, 1_048_576),
    )
    return kw


async def ensure_topics(kafka: KafkaConfig) -> None:
    """Create the missing Vigil topics (a failure is logged; auto-creation may still work)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(**client_kwargs(kafka))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [messages.topic_name(kafka.topic_prefix, t) for t in messages.TOPICS]
        missing = [t for t in wanted if t not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(t, kafka.partitions, kafka.replication_factor) for t in missing]
            )
            log.info("Kafka: created topics %s", ", ".join(missing))
    except TopicAlreadyExistsError:
        pass
    except Exception as exc:  # KafkaError, OSError, ...
        log.warning("Kafka: could not create topics (%r); relying on auto-creation", exc)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def start_batches(
    producer: AIOKafkaProducer, kafka: KafkaConfig, rows: list[OutboxMessage]
) -> tuple[Sends, list[OutboxMessage], str | None]:
    """Start one batch per (topic, camera), in outbox order, on the camera's partition.

    Returns the sends started, the rows that failed to start, and the first error. Rows that
    do not fit their batch are in neither list: they wait for the next round.
    """
    from aiokafka.errors import KafkaError

    groups: dict[tuple[str, str], list[OutboxMessage]] = {}
    for r in rows:
        groups.setdefault((r.topic, r.key), []).append(r)
    sends: Sends = []
    failed: list[OutboxMessage] = []
    error: str | None = None
    partitions: dict[str, list[int]] = {}
    for (suffix, key), group in groups.items():
        topic = messages.topic_name(kafka.topic_prefix, suffix)
        try:
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            parts = partitions[topic]
            partition = partitioner()(key.encode("utf-8"), parts, parts)
            batch = producer.create_batch()
            included: list[OutboxMessage] = []
            for r in group:
                meta = batch.append(
                    key=key.encode("utf-8"), value=r.payload.encode("utf-8"), timestamp=None
                )
                if meta is None:
                    break  # full: the rest waits for the next round
                included.append(r)
            batch.close()
            fut = await producer.send_batch(batch, topic, partition=partition)
            sends.append((included, fut))
        except KafkaError as exc:
            error = error or f"{type(exc).__name__}: {exc}"
            failed.extend(group)
            if isinstance(exc, unreachable()):
                break  # the broker is down: do not wait on every group
    return sends, failed, error


def settle(
    sends: Sends, failed: list[OutboxMessage], error: str | None
) -> tuple[list[int], list[OutboxMessage], str | None]:
    """Sort finished sends into acknowledged row ids and failed rows (an unfinished send is
    cancelled and fails); returns (acknowledged ids, failed rows, first error)."""
    failed = list(failed)
    ok_ids: list[int] = []
    for included, fut in sends:
        if not fut.done():
            fut.cancel()
            error = error or "send not acknowledged in time"
            failed.extend(included)
        elif fut.cancelled() or fut.exception() is not None:
            problem = None if fut.cancelled() else fut.exception()
            error = error or f"{type(problem).__name__}: {problem}"
            failed.extend(included)
        else:
            ok_ids.extend(r.id for r in included)
    return ok_ids, failed, error
