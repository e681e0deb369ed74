"""The server's malloc tuning: an arena cap, large blocks mapped on their own, freed pages handed back."""

import ctypes
import ctypes.util
import platform
import subprocess
import sys

import pytest

from qa.memory import limit_arenas, release_freed

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning is glibc's")


def resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


@glibc_only
def test_glibc_takes_the_arena_cap():
    assert limit_arenas()


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    return libc


_MAPPED_ON_ITS_OWN = """
import ctypes, ctypes.util
from qa.memory import LARGE_BLOCK, _M_MMAP_THRESHOLD, map_large_blocks

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def mapped(size):  # glibc's IS_MMAPPED bit, in the size field just before the block
    block = libc.malloc(size)
    field = ctypes.c_size_t.from_address(block - ctypes.sizeof(ctypes.c_size_t)).value
    libc.free(block)
    return bool(field & 2)

libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # where glibc's own threshold ends up under load
before = mapped(2 * LARGE_BLOCK)
assert map_large_blocks()
print(before, mapped(2 * LARGE_BLOCK), mapped(LARGE_BLOCK // 2))
"""


@glibc_only
def test_large_blocks_are_mapped_on_their_own():
    """In a fresh process, whose heap has no free block that large to hand out first."""
    shown = subprocess.run([sys.executable, "-c", _MAPPED_ON_ITS_OWN], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["False", "True", "False"]


@glibc_only
def test_freed_pages_in_the_middle_of_the_heap_go_back_to_the_system():
    libc = _libc()
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
