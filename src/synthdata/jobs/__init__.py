"""Durable generation jobs: the job tables, the queue, chunked execution and recovery.

The database is the source of truth; queue messages only say "look at job X".
Every task re-reads its row, claims it with a lease, and writes its output
atomically to a deterministic path, so a message delivered twice, or a worker
killed mid-task, never produces a second result or a second charge.
"""
