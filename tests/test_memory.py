"""lib.memory: freed memory kept for reuse where the C library allows it, and large blocks still given."""
import platform
import sys
import threading

import numpy as np

from lib import memory


def test_freed_memory_is_reused_on_linux_with_glibc_and_left_alone_elsewhere(monkeypatch):
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert memory.reuse_freed_memory() is on_glibc
    # Blocks larger than a thread's arena (64 MB) still come, in the main thread and in another one.
    sums = {}

    def allocate(name):
        block = np.ones(20_000_000)
        sums[name] = float(block.sum())

    allocate("main")
    worker = threading.Thread(target=allocate, args=("thread",))
    worker.start()
    worker.join()
    assert sums == {"main": 20_000_000.0, "thread": 20_000_000.0}
    monkeypatch.setattr(memory.sys, "platform", "win32")
    assert memory.reuse_freed_memory() is False


def test_another_c_library_is_left_alone(monkeypatch):
    import ctypes

    def no_glibc(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(memory.sys, "platform", "linux")
    monkeypatch.setattr(ctypes, "CDLL", no_glibc)
    assert memory.reuse_freed_memory() is False
