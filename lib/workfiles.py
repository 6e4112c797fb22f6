"""Files in the work folder: tables, atomic writes, and the lock of a work or export folder.

Work-folder tables are microdata-level and internal. Parquet keeps dtypes (including
categoricals) and is fast; without pyarrow, a CSV plus ``<name>.dtypes.json`` restores
the same dtypes, so every step runs in either environment.

No work file is visible under its final name before it is complete: every writer here
writes a temporary file in the same folder (``.<name>.tmp-<pid>-<token>``) and renames it
over the final name with ``os.replace`` (atomic on one volume, on Windows too). A step
that is interrupted leaves at most temporary files, which the next run of the step
removes with the rest of the step's folder.

A run holds a lock on its work folder (``<work>/run.lock``) and, when it writes the export,
on its export folder (``<export>.lock`` beside it), so two runs never write the same
folders at the same time (see :class:`FolderLock`).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from lib import optional_packages
from lib.errors import UserFacingError


# pyarrow installed *and* importable (lib.optional_packages): on Windows an installed pyarrow can
# fail to load its DLLs; the bundle then runs as if it were absent.
HAS_PARQUET = optional_packages.available("pyarrow")
TEMP_MARK = ".tmp-"


class FileInUse(UserFacingError):
    """A work file cannot be replaced or removed because another program holds it open."""


# ------------------------------------------------------------------ atomic writes


def temporary_path(target: Path) -> Path:
    """A fresh temporary name beside ``target`` (same folder, so the final rename is atomic)."""
    target = Path(target)
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def is_temporary(path: Path) -> bool:
    return Path(path).name.startswith(".") and TEMP_MARK in Path(path).name


def _fsync(path: Path) -> None:
    """Flush a closed file to disk, so a rename never exposes a name whose data is not there."""
    try:
        with open(path, "rb+") as handle:
            os.fsync(handle.fileno())
    except OSError:  # a file system without fsync (some network shares): the rename is still atomic
        pass


def replace_file(temporary: Path, target: Path) -> None:
    """Rename ``temporary`` over ``target``. On Windows a file open in another program (Excel, a
    virus scanner for a moment) cannot be replaced: a few retries, then a message naming it."""
    attempts = 5 if sys.platform == "win32" else 1
    for attempt in range(attempts):
        try:
            os.replace(temporary, target)
            return
        except PermissionError as exc:
            if attempt + 1 < attempts:
                time.sleep(0.2 * (attempt + 1))
                continue
            _unlink_quietly(temporary)
            raise FileInUse(f"cannot replace {target}: {exc.strerror or exc}. Is it open in another program "
                            "(Excel, an editor)? Close it and run again.") from None


def remove_file(path: Path) -> None:
    """Remove ``path`` (if it exists); a file held open by another program gives a message naming it."""
    try:
        Path(path).unlink(missing_ok=True)
    except PermissionError as exc:
        raise FileInUse(f"cannot remove {path}: {exc.strerror or exc}. Is it open in another program "
                        "(Excel, an editor)? Close it and run again.") from None


def _unlink_quietly(path: Path) -> None:
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path to write ``target`` to; renamed over ``target`` when the block ends without an
    error, removed when it ends with one (including Ctrl+C).

    >>> with atomic_path(folder / "table.csv") as tmp:     # doctest: +SKIP
    ...     frame.to_csv(tmp, index=False, encoding="utf-8")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(target)
    try:
        yield temporary
        if not temporary.exists():
            raise FileNotFoundError(f"nothing was written to {temporary} for {target}")
        _fsync(temporary)
        replace_file(temporary, target)
    except BaseException:
        _unlink_quietly(temporary)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """``path.write_text(text)``, atomically. Newlines are written as given (no translation), so a
    file is byte-identical on Windows and Linux."""
    return write_bytes_atomic(path, text.encode(encoding))


def write_json_atomic(path: Path, value, **dumps_kwargs) -> Path:
    """``value`` as JSON (indented, UTF-8, ending in a newline), atomically."""
    dumps_kwargs.setdefault("indent", 2)
    return write_text_atomic(path, json.dumps(value, **dumps_kwargs) + "\n", encoding="utf-8")


def write_csv_atomic(frame: pd.DataFrame | pd.Series, path: Path, **to_csv_kwargs) -> Path:
    """``frame.to_csv(path, **to_csv_kwargs)``, atomically; the encoding defaults to UTF-8."""
    to_csv_kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **to_csv_kwargs)
    return Path(path)


# ------------------------------------------------------------------ tables


def table_path(stem: Path) -> Path:
    return Path(stem).with_suffix(".parquet" if HAS_PARQUET else ".csv")


def write_table(frame: pd.DataFrame, stem: Path) -> Path:
    """Write ``frame`` to ``<stem>.parquet`` (or ``.csv`` + ``.dtypes.json``); return the path."""
    with TableWriter(stem) as writer:
        writer.write(frame)
    return writer.path


class TableWriter:
    """Writes a work table part by part (a national ledger, priced chunk by chunk), so that it
    never has to be in memory whole. Every part has the same columns and dtypes (categoricals
    with the same categories).

    The parts go to a temporary file beside the table; ``close`` renames it to the table's name,
    so a reader never finds half a table. When the ``with`` block ends with an error (or Ctrl+C)
    the temporary file is removed and the table is not written: a table that exists is whole.

    With ``background=True`` each part is written on a second thread while the caller
    computes the next one (at most one part waits); an error in writing is raised by the
    next ``write`` or by ``close``.

    >>> with TableWriter(folder / "ledger") as ledger:     # doctest: +SKIP
    ...     for part in parts:
    ...         ledger.write(part)
    """

    def __init__(self, stem: Path, background: bool = False):
        self.path = table_path(stem)
        self.rows = 0
        self._temporary = temporary_path(self.path)
        self._dtypes_temporary = temporary_path(self.path.with_suffix(".dtypes.json"))
        self._parquet = None
        self._parts = 0
        self._executor = ThreadPoolExecutor(max_workers=1) if background else None
        self._pending: Future | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self._executor is None:
            self._write_part(frame)
            return
        self._wait()
        self._pending = self._executor.submit(self._write_part, frame)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _write_part(self, frame: pd.DataFrame) -> None:
        if self._parts == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if HAS_PARQUET:
            import pyarrow as pa
            import pyarrow.parquet as pq
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                # Dictionary encoding only where it pays: codes and text. For ids, days and
                # amounts it costs a quarter of the write time and saves little space.
                coded = [f.name for f in table.schema
                         if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)
                         or pa.types.is_large_string(f.type)]
                self._parquet = pq.ParquetWriter(self._temporary, table.schema, use_dictionary=coded)
            self._parquet.write_table(table)
        else:
            first = self._parts == 0
            frame.to_csv(self._temporary, mode="w" if first else "a", header=first, index=False, encoding="utf-8")
            if first:
                dtypes = {c: ({"category": [str(v) for v in frame[c].cat.categories]}
                              if isinstance(frame[c].dtype, pd.CategoricalDtype) else str(frame[c].dtype))
                          for c in frame.columns}
                self._dtypes_temporary.write_bytes(json.dumps(dtypes).encode("utf-8"))
        self._parts += 1
        self.rows += len(frame)

    def _finish_writing(self) -> None:
        """Wait for the last part, stop the thread and close the file (the table stays temporary)."""
        try:
            self._wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None

    def close(self) -> None:
        """Finish the table and give it its name (nothing at all when no part was written)."""
        try:
            self._finish_writing()
        except BaseException:
            self.abort()
            raise
        if self._parts == 0:
            return
        if not HAS_PARQUET:
            _fsync(self._dtypes_temporary)
            replace_file(self._dtypes_temporary, self.path.with_suffix(".dtypes.json"))
        _fsync(self._temporary)
        replace_file(self._temporary, self.path)

    def abort(self) -> None:
        """Stop writing and remove what was written: the table is not written."""
        try:
            self._finish_writing()
        except BaseException:  # noqa: BLE001 -- the table is dropped anyway
            pass
        finally:
            _unlink_quietly(self._temporary)
            _unlink_quietly(self._dtypes_temporary)

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def read_table(stem: Path, columns: list[str] | None = None) -> pd.DataFrame:
    path = table_path(stem)
    if not path.is_file():
        raise FileNotFoundError(path)
    if HAS_PARQUET:
        import pyarrow as pa
        import pyarrow.parquet as pq
        table = pq.read_table(path, columns=columns)
        # Free each Arrow column as it is converted and hand the freed pages back, so a large
        # table does not stay in memory twice for the rest of the step.
        frame = table.to_pandas(self_destruct=True, split_blocks=True)
        del table
        pa.default_memory_pool().release_unused()
        return frame
    dtypes = json.loads(path.with_suffix(".dtypes.json").read_text(encoding="utf-8"))
    plain = {c: (str if isinstance(t, dict) or t == "object" else t) for c, t in dtypes.items()}
    # round_trip: pandas' default fast float parser may change the last digit of a cost.
    frame = pd.read_csv(path, dtype=plain, usecols=columns, keep_default_na=False, na_values=[""], encoding="utf-8",
                        float_precision="round_trip")
    for c, t in dtypes.items():
        if c in frame.columns and isinstance(t, dict):
            frame[c] = pd.Categorical(frame[c], categories=t["category"])
        elif c in frame.columns and t == "object":
            frame[c] = frame[c].fillna("")
    return frame


# ------------------------------------------------------------------ folder locks


class FolderBusy(UserFacingError):
    """Another run holds the lock of a work or export folder."""


def process_alive(pid: int) -> bool:
    """Is process ``pid`` running on this computer? POSIX: signal 0 (nothing is sent). Windows:
    OpenProcess and its exit code (``os.kill`` would end the process there); psutil when installed."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        try:
            import psutil  # optional, not a dependency
            return bool(psutil.pid_exists(pid))
        except ImportError:
            return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


def _windows_process_alive(pid: int) -> bool:
    import ctypes
    from ctypes import wintypes
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    process_query_limited_information, still_active, error_access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        # No such process (ERROR_INVALID_PARAMETER), or one we may not look at: then it exists.
        return ctypes.get_last_error() == error_access_denied
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def _local_time() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


class FolderLock:
    """The lock of one work or export folder, held while a run writes it.

    The lock is a small JSON file (process id, computer, start time, command) that appears under
    its name complete or not at all (written beside it, then hard-linked or renamed to the name,
    which fails if the name exists). A second run finds it and refuses with the holder's start
    time and process id. A lock whose process no longer runs on this computer (killed, a power
    cut) is taken over, and ``taken_over`` says whose it was, for the log. A lock of another
    computer cannot be checked: the message says which file to delete when no run is active there.
    """

    def __init__(self, path: Path, what: str, clock: Callable[[], str] = _local_time,
                 alive: Callable[[int], bool] | None = None):
        self.path = Path(path)
        self.what = what
        self.clock = clock
        self.alive = alive or process_alive
        self.held = False
        self.taken_over: dict | None = None
        self.record = {"pid": os.getpid(), "host": platform.node(), "started": "", "command": " ".join(sys.argv),
                       "token": uuid.uuid4().hex}

    def read(self) -> dict | None:
        """The holder's record, or None when the lock is absent or unreadable."""
        try:
            value = json.loads(self.path.read_bytes().decode("utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def acquire(self) -> "FolderLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.record["started"] = self.clock()
        for _ in range(5):
            if self._create():
                self.held = True
                return self
            holder = self.read()
            if holder is None:
                if not self.path.exists():
                    continue  # released in the meantime
                raise FolderBusy(f"the {self.what} is locked by {self.path}, which cannot be read. If no run is "
                                 f"active on this folder, delete {self.path} and run again.")
            pid, host = holder.get("pid"), holder.get("host", "")
            started = holder.get("started", "an unknown time")
            if host and host != platform.node():
                raise FolderBusy(f"the {self.what} is in use by another run: process {pid} on computer {host}, "
                                 f"started {started} ({holder.get('command', '')}). Wait until it has finished. If "
                                 f"no run is active there, delete {self.path} and run again.")
            if isinstance(pid, int) and self.alive(pid):
                raise FolderBusy(f"the {self.what} is in use by another run: process {pid}, started {started} "
                                 f"({holder.get('command', '')}). Wait until it has finished, or give this run other "
                                 f"work and export folders. If that process is not a run of this bundle (a process "
                                 f"id can be reused), delete {self.path} and run again.")
            if self._remove_stale(holder):
                self.taken_over = holder
        raise FolderBusy(f"could not take the lock {self.path} of the {self.what}: other runs keep taking it")

    def _create(self) -> bool:
        """Put this run's record under the lock's name, only if no lock is there."""
        temporary = temporary_path(self.path)
        temporary.write_bytes((json.dumps(self.record, indent=2) + "\n").encode("utf-8"))
        try:
            if sys.platform == "win32":
                os.rename(temporary, self.path)  # fails when the name exists (unlike os.replace)
                return True
            try:
                os.link(temporary, self.path)    # fails when the name exists; atomic with its contents
                return True
            except FileExistsError:
                return False
            except OSError:                      # no hard links on this file system
                return self._create_exclusive()
        except FileExistsError:
            return False
        finally:
            _unlink_quietly(temporary)

    def _create_exclusive(self) -> bool:
        try:
            handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(handle, "wb") as out:
            out.write((json.dumps(self.record, indent=2) + "\n").encode("utf-8"))
        return True

    def _remove_stale(self, holder: dict) -> bool:
        """Remove the lock of a process that no longer runs; False if another run got there first."""
        aside = temporary_path(self.path.with_name(self.path.name + ".stale"))
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        moved = None
        try:
            moved = json.loads(aside.read_bytes().decode("utf-8"))
        except (OSError, ValueError):
            pass
        if isinstance(moved, dict) and moved.get("token") != holder.get("token"):
            # Another run replaced the stale lock a moment ago: put its lock back.
            try:
                os.rename(aside, self.path)
            except OSError:
                pass
            return False
        _unlink_quietly(aside)
        return True

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        holder = self.read()
        if holder is not None and holder.get("token") == self.record["token"]:
            _unlink_quietly(self.path)

    def describe_taken_over(self) -> str | None:
        if not self.taken_over:
            return None
        h = self.taken_over
        return (f"took over the lock of the {self.what} left by process {h.get('pid')} (started "
                f"{h.get('started', 'at an unknown time')}), which no longer runs")

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def work_folder_lock(work_dir: Path) -> FolderLock:
    return FolderLock(Path(work_dir) / "run.lock", f"work folder {work_dir}")


def export_folder_lock(export_dir: Path) -> FolderLock:
    """The export folder's lock lies beside it (``<export>.lock``): the export step replaces the folder
    as a whole, and every file in it must be one the safe writer wrote."""
    export_dir = Path(export_dir)
    return FolderLock(export_dir.parent / f"{export_dir.name}.lock", f"export folder {export_dir}")
