"""A stand-in for Vigil in the crash test: records a burst of updates and publishes them.

Run as ``python publisher_worker.py DB_URL BOOTSTRAP PREFIX N CAMERAS``. ``record`` is
idempotent, so a restarted worker writes only what is missing, then drains the outbox and
prints ``done`` once it is empty.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from storage_workload import burst

from storage.publisher import OutboxPublisher
from storage.settings import BusConfig, KafkaConfig, StorageConfig
from storage.store import Store


def main() -> int:
    db_url, bootstrap, prefix, n, cameras = sys.argv[1:6]
    logging.basicConfig(level=logging.WARNING, format="worker %(levelname)s %(message)s")
    store = Store.open(StorageConfig(database_url=db_url))
    for c in range(int(cameras)):
        store.upsert_camera(camera_id=f"cam-{c}", name=f"cam {c}", location=None, url_masked="x")
    bus = BusConfig(
        kafka=KafkaConfig(bootstrap_servers=bootstrap, topic_prefix=prefix, request_timeout_s=3),
        outbox_batch=2,
        outbox_poll_s=0.05,
    )
    publisher = OutboxPublisher(store, bus)
    publisher.start()
    print("started", flush=True)
    for update in burst(int(n), int(cameras)):
        if store.record(update):
            publisher.notify()
            time.sleep(0.002)
    ok = publisher.flush(timeout_s=60)
    publisher.stop()
    store.close()
    print("done" if ok else "not drained", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
