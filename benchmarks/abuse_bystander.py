"""The bystander tenant: `GET /api/v1/me` at a steady rate, in a process of its own.

    python -m benchmarks.abuse_bystander --url URL --key KEY [--key KEY2] --source 127.0.0.3 \\
        --rate 20 --out records.jsonl

Open loop: request i is due at start + i / rate whatever happened before, and its
latency counts from that due time, so a server that stalls for 6 s is charged for
every request it held up, not once. It runs in its own process so that the attacker's
client work in the benchmark process cannot delay it, and from its own loopback
address so that the attacker's per-source limits are not its limits. Each answer is
one JSON line `{"due": <time.monotonic()>, "ms": <latency>, "status": <code or error>}`
(CLOCK_MONOTONIC is shared by every process on the machine, so the benchmark can cut
the lines by its own attack windows). On SIGTERM it stops sending, waits up to 5 s for
answers on their way, and writes requests still unanswered with their time so far and
status "pending": a hang is counted, not dropped.
Keys are used in turn, so that the rate stays under the per-key limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import IO, Any

import httpx

_TIMEOUT_S = 30.0
_DRAIN_S = 5.0


async def _run(args: argparse.Namespace, out: IO[str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    pending: dict[int, float] = {}

    def write(due: float, status: int | str) -> None:
        ms = (time.monotonic() - due) * 1000.0
        out.write(json.dumps({"due": due, "ms": round(ms, 3), "status": status}) + "\n")
        out.flush()

    transport = httpx.AsyncHTTPTransport(
        local_address=args.source, limits=httpx.Limits(max_connections=32)
    )
    async with httpx.AsyncClient(transport=transport, timeout=_TIMEOUT_S) as client:

        async def one(index: int, due: float, key: str) -> None:
            pending[index] = due
            status: int | str
            try:
                response = await client.get(f"{args.url}/api/v1/me", headers={"X-API-Key": key})
                status = response.status_code
            except httpx.TimeoutException:
                status = "timeout"
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            del pending[index]
            write(due, status)

        tasks: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        index = 0
        parent = os.getppid()
        while not stop.is_set() and os.getppid() == parent:  # ends with the benchmark, too
            due = start + index / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
            task = asyncio.create_task(one(index, due, args.key[index % len(args.key)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            index += 1
        # Slow answers still on their way get a few seconds to arrive before the rest
        # are written as "pending".
        if tasks:
            await asyncio.wait(set(tasks), timeout=_DRAIN_S)
        for due in list(pending.values()):
            write(due, "pending")
        for task in tasks:
            task.cancel()


def read_records(path: Path) -> list[dict[str, Any]]:
    """The bystander's lines (a torn last line, written as it was stopped, is skipped)."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="GET /api/v1/me at a steady rate.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", action="append", required=True)
    parser.add_argument("--source", default="127.0.0.3", help="local address to send from")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    with args.out.open("w") as out:
        asyncio.run(_run(args, out))


if __name__ == "__main__":
    main()
