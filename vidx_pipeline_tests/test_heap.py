import platform
import subprocess
import sys

import pytest

_FRAGMENTED_HEAP = """
import ctypes
from vidx_pipeline.heap import release_free_memory

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) // 1024 for l in status if l.startswith("VmRSS"))


# 200 MB of 64 KiB blocks (below glibc's mmap threshold: they share the heap), all freed but
# the last, which pins the heap's top: free() alone cannot shrink it.
blocks = [libc.malloc(64 << 10) for _ in range(3200)]
for block in blocks:
    ctypes.memset(block, 1, 64 << 10)
for block in blocks[:-1]:
    libc.free(block)
freed = rss_mb()
ran = release_free_memory()
print(ran, freed, rss_mb())
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_freed_heap_pages_go_back_to_the_system() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FRAGMENTED_HEAP],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    ran, freed_mb, released_mb = done.stdout.split()
    assert ran == "True"
    assert int(freed_mb) - int(released_mb) >= 150, done.stdout
