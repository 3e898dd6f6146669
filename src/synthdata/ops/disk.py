"""Disk usage as HighDiskUsage computes it, for `check-resources` and `health-check`.

The rule reads `1 - node_filesystem_avail_bytes / node_filesystem_size_bytes`, which is
`1 - f_bavail / f_blocks` of statvfs: the blocks reserved for root count as used,
since the service cannot write them. psutil's `percent` leaves them out of the total
(used / (used + avail)), so on an ext4 disk with reserved blocks it read 34 % where the
alert read 73 %. Both commands report this one figure, for the file system holding
the data directory, and name its mount point as node_exporter labels it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class FilesystemUsage:
    """One file system, as the HighDiskUsage expression sees it."""

    path: Path  # the existing directory measured
    mountpoint: str
    used_ratio: float  # 1 - avail / size
    avail_bytes: int  # node_filesystem_avail_bytes
    size_bytes: int  # node_filesystem_size_bytes


def existing_parent(path: Path) -> Path:
    """`path`, or its nearest existing parent (a directory not created yet: its disk)."""
    where = path.resolve()
    while not where.exists() and where != where.parent:
        where = where.parent
    return where


def mountpoint_of(path: Path) -> str:
    """The mount point of the file system holding `path` (the longest one above it)."""
    mounts = [part.mountpoint for part in psutil.disk_partitions(all=True)]
    above = [m for m in mounts if path == Path(m) or Path(m) in path.parents]
    return max(above, key=len, default="/")


def filesystem_usage(path: Path) -> FilesystemUsage:
    """Usage of the file system holding `path`; raises OSError when it cannot be read."""
    where = existing_parent(path)
    stats = os.statvfs(where)
    size = stats.f_blocks * stats.f_frsize
    avail = stats.f_bavail * stats.f_frsize
    used = 1 - avail / size if size else 0.0
    return FilesystemUsage(where, mountpoint_of(where), used, avail, size)
