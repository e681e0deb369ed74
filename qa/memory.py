"""A long-running server's memory: glibc's malloc tuned for answers made on many threads.

glibc gives each thread that allocates its own arena (up to eight per core) and keeps the pages
an answer frees for later. `qa serve` answers on a pool of threads, so its memory crept up with
load: each thread's arena held the largest answer it had made. `limit_arenas` lets all threads
share two arenas, and `release_freed` hands the free pages of every arena back to the system after
an answer; `map_large_blocks` gives an answer's large tensors pages of their own, handed back
when freed. On other C libraries (macOS, musl) all three do nothing and say so by returning False.
What it leaves out: Python's own object pools, and memory that answers running at once hold.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

ARENAS = 2
_M_ARENA_MAX = -8
"""mallopt's parameter number for the arena cap (glibc's malloc.h)."""
LARGE_BLOCK = 1 << 20
"""Blocks this large (an answer's activations: a reader window batch is several MB) are mapped on
their own, and unmapped as soon as they are freed."""
_M_MMAP_THRESHOLD = -3


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


def map_large_blocks(threshold: int = LARGE_BLOCK) -> bool:
    """Have malloc map every block of `threshold` bytes or more on its own. glibc otherwise raises
    its threshold each time such a block is freed (up to 32 MB), after which an answer's large
    tensors are carved from the arenas and, with answers running at once, leave holes there that
    keep the peak high. True when the C library took the setting."""
    libc = _glibc()
    return bool(libc and libc.mallopt(_M_MMAP_THRESHOLD, threshold))


def release_freed() -> bool:
    """Give the free pages of every malloc arena back to the system. True when it ran."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
