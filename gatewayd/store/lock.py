"""The daemon holds an exclusive lock beside its store; `restore` refuses while it is held."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class StoreInUse(Exception):
    pass


def lock_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".lock")


def acquire(store_path: Path) -> int:
    """Take the lock or raise StoreInUse; the fd stays open (and locked) for the process."""
    store_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(store_path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreInUse(f"{store_path} is in use by a running gatewayd") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
