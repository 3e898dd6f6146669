"""`synthdata worker`: consume the job queue in the foreground.

Any number of workers, on any machines that share the database, the data
directory and (with `SYNTHDATA_QUEUE=redis`) Redis, take messages from the same
queue. Each also runs a reaper, so work left by a worker that died is resumed.
"""

from __future__ import annotations

import logging

from synthdata.engine.threads import limit_cpu_threads
from synthdata.observability.tracing import configure_tracing, flush_traces
from synthdata.service.core.platform import Platform
from synthdata.service.core.settings import Settings
from synthdata.service.deployments.service import record_process_start

log = logging.getLogger("synthdata.jobs")


def run_worker(
    settings: Settings, *, threads: int = 1, metrics_address: tuple[str, int] | None = None
) -> None:
    """Consume until SIGINT/SIGTERM (graceful: running tasks finish first).

    With `metrics_address` (host, port; port 0 means none) the worker serves its own
    `/metrics`, so Prometheus sees job metrics from every worker machine.
    With the `OTEL_*` variables set, jobs continue the traces of their requests.
    """
    configure_tracing("synthdata-worker")  # before the engine is made, so that it is traced
    if settings.worker_cpu_threads:
        limit_cpu_threads(settings.worker_cpu_threads)
    platform = Platform.build(settings)
    if settings.observability and metrics_address and metrics_address[1]:
        from prometheus_client import start_http_server

        from synthdata.service.observe import bind_platform

        bind_platform(platform)
        try:
            start_http_server(metrics_address[1], addr=metrics_address[0])
        except OSError as exc:  # e.g. a second worker on the same host: still do the work
            log.warning(
                "worker metrics not served on %s:%s (%s); pass --metrics-port",
                *metrics_address,
                exc,
            )
    record_process_start(platform.sessions, "worker", settings=settings)
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
        flush_traces()
