"""A long-running server's memory: glibc's malloc tuned for answers made on many threads.

glibc gives each thread that allocates its own arena (up to eight per core) and keeps the pages
an answer frees for later. `qa serve` answers on a pool of threads, so its memory crept up with
load: each thread's arena held the largest answer it had made. `limit_arenas` lets all threads
share two arenas, and `release_freed` hands the free pages of every arena back to the system after
an answer. On other C libraries (macOS, musl) both do nothing and say so by returning False.
What it leaves out: Python's own object pools, and memory that answers running at once hold.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

ARENAS = 2
_M_ARENA_MAX = -8
"""mallopt's parameter number for the arena cap (glibc's malloc.h)."""


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Let the process's threads share `arenas` malloc arenas; call before the threads start.
    True when the C library took the setting."""
    libc = _glibc()
    return bool(libc and libc.mallopt(_M_ARENA_MAX, arenas))


def release_freed() -> bool:
    """Give the free pages of every malloc arena back to the system. True when it ran."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
