"""The server's malloc tuning: an arena cap glibc takes, and freed pages handed back."""

import ctypes
import ctypes.util
import platform

import pytest

from qa.memory import limit_arenas, release_freed

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning is glibc's")


def resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


@glibc_only
def test_glibc_takes_the_arena_cap():
    assert limit_arenas()


@glibc_only
def test_freed_pages_in_the_middle_of_the_heap_go_back_to_the_system():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(4096) for _ in range(25_000)]  # 100 MB in small blocks, below mmap's threshold
    for block in blocks:
        ctypes.memset(block, 1, 4096)
    kept = libc.malloc(4096)  # above the freed blocks: the heap's top cannot shrink past it
    ctypes.memset(kept, 1, 4096)
    for block in blocks:
        libc.free(block)
    before = resident_mb()
    assert release_freed()
    after = resident_mb()
    libc.free(kept)
    assert before - after > 50
