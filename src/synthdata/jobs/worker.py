"""`synthdata worker`: consume the job queue in the foreground.

Any number of workers, on any machines that share the database, the data
directory and (with `SYNTHDATA_QUEUE=redis`) Redis, take messages from the same
queue. Each also runs a reaper, so work left by a worker that died is resumed.
"""

from __future__ import annotations

import logging

from synthdata.service.core.platform import Platform
from synthdata.service.core.settings import Settings

log = logging.getLogger("synthdata.jobs")


def run_worker(settings: Settings, *, threads: int = 1) -> None:
    """Consume until SIGINT/SIGTERM (graceful: running tasks finish first)."""
    platform = Platform.build(settings)
    platform.start(workers=0)  # the reaper only; the consumer below runs in the foreground
    consumer = platform.queue.consumer(threads, embedded=False)
    log.info(
        "worker consuming queue %r (%s) with %d thread(s)",
        settings.queue_name,
        settings.queue,
        threads,
    )
    try:
        consumer.run()
    finally:
        platform.stop()
