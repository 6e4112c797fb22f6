"""How a run takes memory from the system and gives it back (the C heap's part: Linux, glibc)."""
from __future__ import annotations

import gc
import sys

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4      # glibc's mallopt parameters (malloc.h)


def reuse_freed_memory() -> bool:
    """Keep the memory freed by one operation for the next (Linux, glibc): large arrays then come
    from the process's C heap instead of fresh pages from the system, which the system must
    clear first and which on a virtual machine cost more than the numpy operations that fill
    them (nationally a third of the export step's time went to that). The pipeline still hands
    the heap's free pages back between steps (:func:`release_memory`), so a step's
    peak is its own. False where this does not apply (Windows, macOS, another C library)."""
    libc = _glibc()
    if libc is None:
        return False
    # No separate mappings for large blocks (those go back to the system when freed), and the
    # heap's free top is kept up to 2 GB (the most mallopt takes).
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


def release_memory() -> None:
    """Hand memory freed by a finished step back to the system before the next step allocates:
    cycles, Arrow's pool, and (Linux) the C heap's free pages, which would otherwise stay
    with the process and add to every later step's peak."""
    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _glibc():
    """The C library with glibc's malloc controls (mallopt, malloc_trim); None elsewhere (Windows,
    macOS, another C library such as musl)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if all(hasattr(libc, name) for name in ("mallopt", "malloc_trim")) else None
