"""The completion record of an export folder, and replacing an export folder as a whole.

The safe writer writes a table at a time, and a run can stop between two
tables (an error, a full disk, a user closing the window, a kill).  Such a
folder looks like an export but lacks tables, so the checker refuses any
folder without a record, ``export_complete.json``, saying the run that wrote
it finished.  The record holds the run id, the config hash, the number of
tables, the time (UTC), the SHA-256 of the manifest and the list of every
other file of the folder with its SHA-256, as they were when the run
finished: a file added, dropped or changed afterwards is refused too.

A run never writes into the export folder the user sees.  It writes a staging
folder beside it (same parent, ``<export>.staging-<token>``), marks it
complete, and only then puts it in place of the export folder
(:func:`replace_folders`): the old folder is renamed aside
(``<export>.old-<token>``), the staging folder renamed into place, then the
old one deleted.  A failure (or Ctrl+C) before the swap leaves the previous
export as it was and removes the staging folder; a run killed outright leaves
a staging or old folder behind, which the next run restores or removes
(:func:`clean_leftovers`).  A file open in another program (on Windows a CSV
open in Excel cannot be renamed, deleted, or have its folder renamed) gives a
:class:`FolderInUse` error that names it; the previous export stays.

The record's time is the time of writing, or ``SOURCE_DATE_EPOCH`` (seconds
since 1970, UTC) when that is set, the reproducible-builds convention: with it,
the same input and seed give a byte-identical export folder, record included.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import stat
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

from .output import sha256_of

COMPLETION_NAME = "export_complete.json"
MANIFEST_NAME = "disclosure_manifest.json"
COMPLETION_FORMAT = 2
# Every field of the record; the checker refuses any other (a record is not a
# place for anything else, least of all table values).
COMPLETION_FIELDS = ("format", "run_id", "config_sha256", "n_tables", "completed_utc", "manifest_sha256", "files")
STAGING_MARK = ".staging-"
OLD_MARK = ".old-"


# ------------------------------------------------------------ the record


def completed_time() -> str:
    """Now (UTC), or ``SOURCE_DATE_EPOCH`` when set, as ``YYYY-MM-DDTHH:MM:SSZ``."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = _dt.datetime.now(_dt.timezone.utc)
    if epoch:
        try:
            moment = _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            pass  # not a number of seconds: the clock's time
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def folder_files(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` except the record, with its SHA-256, sorted by name."""
    return {p.name: sha256_of(p) for p in sorted(Path(folder).iterdir(), key=lambda p: p.name)
            if p.is_file() and p.name != COMPLETION_NAME}


def write_completion_record(export_dir: str | Path, *, run_id: str, config_sha256: str, n_tables: int) -> Path:
    """Mark ``export_dir`` complete: write ``export_complete.json`` atomically.

    ``n_tables`` is the number of tables the run released; the checker
    compares it with the manifest, so a table that went missing from the
    manifest is noticed.  The record lists every file of the folder at this
    moment with its SHA-256 (write it last).  The file is written under a
    temporary name in the same folder and then renamed over the final name
    (``os.replace`` is atomic on one volume, on Windows too), so a reader never
    sees half a record.
    """
    export_dir = Path(export_dir)
    manifest = export_dir / MANIFEST_NAME
    if not manifest.is_file():
        raise FileNotFoundError(f"no {MANIFEST_NAME} in {export_dir}: nothing was released, so the export "
                                "cannot be marked complete")
    record = {
        "format": COMPLETION_FORMAT,
        "run_id": str(run_id),
        "config_sha256": str(config_sha256),
        "n_tables": int(n_tables),
        "completed_utc": completed_time(),
        "manifest_sha256": sha256_of(manifest),
        "files": folder_files(export_dir),
    }
    data = (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    target = export_dir / COMPLETION_NAME
    write_bytes_atomic(target, data)
    return target


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write ``target`` under a temporary name in its folder, then rename it over the final name."""
    target = Path(target)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        if temporary.exists():  # only when writing or renaming failed
            temporary.unlink()


def read_completion_record(export_dir: str | Path) -> dict:
    """The record of ``export_dir``; ``FileNotFoundError`` without one, ``ValueError`` when unreadable."""
    path = Path(export_dir) / COMPLETION_NAME
    if not path.is_file():
        raise FileNotFoundError(path)
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    return record


def completion_problems(export_dir: str | Path) -> list[tuple[str, str]]:
    """What keeps ``export_dir`` from being a finished export, as (field, message) pairs; empty when none.

    Checks the record itself and the files against it: the manifest and every
    listed file present with its SHA-256, no file that is not listed.  (The
    checker adds the comparison with the manifest's tables and config.)
    """
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        return [("", f"export folder {export_dir} does not exist")]
    try:
        record = read_completion_record(export_dir)
    except FileNotFoundError:
        return [("", "export not marked complete: the run that wrote it did not finish (or the folder was "
                     "assembled by hand); release the tables again")]
    except ValueError as error:
        return [("", f"unreadable completion record: {error}")]
    problems = [(key, f"unknown field {key!r} in the completion record")
                for key in sorted(set(record) - set(COMPLETION_FIELDS))]
    problems += [(key, f"completion record lacks {key!r}") for key in COMPLETION_FIELDS if key not in record]
    manifest = export_dir / MANIFEST_NAME
    if "manifest_sha256" in record:
        if not manifest.is_file():
            problems.append(("manifest_sha256", f"{MANIFEST_NAME} is missing"))
        elif record["manifest_sha256"] != sha256_of(manifest):
            problems.append(("manifest_sha256", f"{MANIFEST_NAME} changed after the export was completed (its "
                                                "SHA-256 differs from the record)"))
    listed = record.get("files")
    if "files" in record and not (isinstance(listed, dict)
                                  and all(isinstance(k, str) and isinstance(v, str) for k, v in listed.items())):
        problems.append(("files", "the file list of the completion record is not a list of names and hashes"))
    elif isinstance(listed, dict):
        present = {p.name: p for p in export_dir.iterdir() if p.name != COMPLETION_NAME}
        manifest_refused = any(field == "manifest_sha256" for field, _ in problems)
        for name in sorted(listed):
            if name == MANIFEST_NAME and manifest_refused:
                continue  # said above
            path = present.get(name)
            if path is None or not path.is_file():
                problems.append((f"files.{name}", f"{name} is listed in the completion record but missing"))
            elif sha256_of(path) != listed[name]:
                problems.append((f"files.{name}", f"{name} differs from the file the run completed with "
                                                  "(its SHA-256 differs from the record)"))
        for name in sorted(set(present) - set(listed)):
            problems.append((f"files.{name}", f"{name} is not listed in the completion record: it was added "
                                              "after the run finished"))
    return problems


def remove_completion_record(export_dir: str | Path) -> bool:
    """Remove the record of a folder about to be rewritten; True when there was one."""
    path = Path(export_dir) / COMPLETION_NAME
    if path.is_file():
        path.unlink()
        return True
    return False


# ------------------------------------------------- replacing a whole folder


class FolderInUse(PermissionError):
    """A file or folder could not be renamed or removed: open in another program, or not writable.

    ``path`` is the file when it could be found (on Windows: the file open in
    Excel), else the folder.  The message says what to do.
    """

    def __init__(self, path: Path, action: str, folder: Path | None = None, cause: BaseException | None = None):
        self.path = Path(path)
        self.folder = Path(folder) if folder is not None else None
        self.action = action
        self.reason = str(cause.strerror or cause) if isinstance(cause, OSError) else ""
        super().__init__(f"cannot {action} {self.where()}{f' ({self.reason})' if self.reason else ''}: it is open "
                         "in another program (a table open in Excel, a folder open in a command window) or not "
                         "writable; close it, then run the step again")

    def where(self) -> str:
        """The file (in its folder), or the folder."""
        if self.folder is None or self.path == self.folder:
            return f"the folder {self.path}"
        return f"{self.path.name} in {self.folder}"


def staging_token() -> str:
    """A name part unique to this run, in time order: ``<UTC time to the microsecond>-<process id>``."""
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
    return f"{stamp}{now // 1000 % 10**6:06d}-{os.getpid()}"


def staging_folder(target: Path, token: str) -> Path:
    """The folder a run writes before it replaces ``target``: beside it, same volume."""
    target = Path(target)
    return target.with_name(f"{target.name}{STAGING_MARK}{token}")


def old_folder(target: Path, token: str) -> Path:
    target = Path(target)
    return target.with_name(f"{target.name}{OLD_MARK}{token}")


def leftovers(target: Path) -> tuple[list[Path], list[Path]]:
    """Staging and old folders of ``target`` that a run left (killed before it could clean up), by name."""
    target = Path(target)
    if not target.parent.is_dir():
        return [], []
    staging, old = [], []
    for path in sorted(target.parent.iterdir(), key=lambda p: p.name):
        if path.name.startswith(target.name + STAGING_MARK):
            staging.append(path)
        elif path.name.startswith(target.name + OLD_MARK):
            old.append(path)
    return staging, old


def clean_leftovers(target: Path) -> list[str]:
    """Undo what a killed run left beside ``target``; a note per folder restored, removed or left.

    A run killed between renaming the previous folder aside and renaming its
    staging folder into place leaves no ``target`` (or an empty one, made since)
    and an old folder: the old folder (the newest one) is put back, so the
    previous export is there again.
    Every staging folder and every other old folder is removed.  One that
    cannot be removed (a file in it is open) is left and named in a note; it
    is never mistaken for the export (its name says what it is).
    """
    target = Path(target)
    notes = []
    staging, old = leftovers(target)
    # An empty folder in its place holds nothing to keep (a runner may have made it before the step).
    if old and target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        try:
            target.rmdir()
        except OSError:
            pass
    if old and not target.exists():
        newest = old.pop()
        try:
            os.replace(newest, target)
            notes.append(f"restored {target.name} from {newest.name}, left by a run that was stopped while it "
                         "replaced the folder")
        except OSError as error:
            notes.append(f"could not restore {target.name} from {newest.name} ({error}); it is left as it is")
    for path in staging + old:
        try:
            remove_tree(path)
            notes.append(f"removed {path.name}, left by a run that was stopped")
        except OSError as error:
            notes.append(f"could not remove {path.name}, left by a run that was stopped ({error}); "
                         "remove it by hand")
    return notes


def file_in_use(path: Path) -> bool:
    """True when ``path`` cannot be opened for writing (on Windows: open in Excel or another program).

    Opens the file for reading and writing without changing it.  Used to find
    the file that kept a folder from being renamed or removed.
    """
    try:
        with open(path, "r+b"):
            pass
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def files_in_use(folder: Path) -> list[Path]:
    """The files under ``folder`` that are open in another program (see :func:`file_in_use`)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and file_in_use(p)]


# On Windows a file open in Excel keeps its folder from being renamed: look for one before
# a run spends its time on the tables.  (Elsewhere an open file does not block, and a
# read-only file would be reported wrongly.)
CHECK_FILES_BEFORE = sys.platform == "win32"


def ensure_replaceable(folder: Path) -> None:
    """Raise :class:`FolderInUse` naming the first file of ``folder`` that is open in another program
    (on Windows only; elsewhere a file open does not keep a folder from being replaced)."""
    if CHECK_FILES_BEFORE:
        for path in files_in_use(folder):
            raise FolderInUse(path, "replace", folder)


def _in_use_error(error: OSError, folder: Path, action: str) -> FolderInUse:
    """The error to show for ``error`` renaming or removing ``folder``: naming the file in use when it can."""
    named = Path(error.filename) if getattr(error, "filename", None) else None
    if named is not None and named != folder and folder in named.parents:
        return FolderInUse(named, action, folder, error)
    culprits = files_in_use(folder)
    if culprits:
        return FolderInUse(culprits[0], action, folder, error)
    return FolderInUse(folder, action, None, error)


def _retry_writable(function: Callable, path: str, _info) -> None:
    """rmtree's error handler: a read-only file (Windows refuses to delete one) is made writable and retried."""
    try:
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD | (stat.S_IXUSR if os.path.isdir(path) else 0))
    except OSError:
        raise _info if isinstance(_info, BaseException) else _info[1]
    function(path)


def remove_tree(path: Path) -> None:
    """Remove a folder and everything in it; :class:`FolderInUse` names a file that is open."""
    path = Path(path)
    if not path.exists():
        return
    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=_retry_writable)
        else:
            shutil.rmtree(path, onerror=_retry_writable)
    except PermissionError as error:
        raise _in_use_error(error, path, "remove") from error


# On Windows a virus scanner or the search indexer holds a file it just saw for a moment:
# a rename refused with PermissionError is tried again a few times before it counts.
RENAME_RETRIES = 6 if sys.platform == "win32" else 0


def _rename(source: Path, target: Path) -> None:
    for attempt in range(RENAME_RETRIES + 1):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == RENAME_RETRIES:
                raise
            time.sleep(0.05 * 2 ** attempt)


def replace_folders(pairs: Iterable[tuple[Path, Path]], token: str) -> list[str]:
    """Put each staging folder in place of its target folder, all of them or none.

    ``pairs`` are ``(staging, target)``.  First every existing target is
    renamed aside (``<target>.old-<token>``): a target that cannot be renamed
    (a file in it open in another program) raises :class:`FolderInUse`
    naming the file, after the targets already renamed were put back.  Then
    every staging folder is renamed into place (a failure puts the old
    folders back as well).  Last the old folders are deleted; one that cannot
    be is named in the returned notes and removed by the next run
    (:func:`clean_leftovers`).  The staging folders are not removed here on
    failure: the caller does that.
    """
    pairs = [(Path(s), Path(t)) for s, t in pairs]
    aside: list[tuple[Path, Path]] = []     # (target, old) renamed aside
    placed: list[tuple[Path, Path]] = []    # (staging, target) renamed into place
    try:
        for _, target in pairs:
            if target.exists():
                old = old_folder(target, token)
                try:
                    _rename(target, old)
                except PermissionError as error:
                    raise _in_use_error(error, target, "replace") from error
                aside.append((target, old))
        for staging, target in pairs:
            try:
                _rename(staging, target)
            except PermissionError as error:
                raise _in_use_error(error, staging, "move into place") from error
            placed.append((staging, target))
    except BaseException:
        # Put everything back as it was (a Ctrl+C here too): the new folders back to their
        # staging names, the old ones back in place.
        for staging, target in reversed(placed):
            try:
                os.replace(target, staging)
            except OSError:
                pass
        for target, old in reversed(aside):
            try:
                if not target.exists():
                    os.replace(old, target)
            except OSError:
                pass  # the next run restores it (clean_leftovers)
        raise
    notes = []
    for target, old in aside:
        try:
            remove_tree(old)
        except OSError as error:
            notes.append(f"could not remove the previous {target.name} ({old.name}): {error}; the next run "
                         "removes it")
    return notes


def unknown_files(export_dir: Path) -> list[str]:
    """Files (and folders) in ``export_dir`` that no safe writer wrote, which replacing it would delete.

    Known: the manifest, the completion record (and its temporary file), every
    file the manifest or the record lists, and what a run stopped halfway by an
    earlier version could leave without a manifest: ``<table>.notes.txt`` and a
    ``<table>.csv`` / ``<table>.xlsx`` beside its notes.
    """
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        return []
    listed: set[str] = set()
    tables: set[str] = set()
    try:
        manifest = json.loads((export_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        for table, entry in manifest.get("tables", {}).items():
            tables.add(str(table))
            listed.update(entry.get("files", {}))
    except (OSError, ValueError, AttributeError):
        pass
    try:
        record_files = read_completion_record(export_dir).get("files", {})
        if isinstance(record_files, dict):
            listed.update(str(name) for name in record_files)
    except (OSError, ValueError):
        pass
    names = {p.name for p in export_dir.iterdir()}
    notes_suffix = ".notes.txt"
    unknown = []
    for path in sorted(export_dir.iterdir(), key=lambda p: p.name):
        name = path.name
        if path.is_dir() and not path.is_symlink():
            unknown.append(name + "/")
            continue
        if name in (MANIFEST_NAME, COMPLETION_NAME) or name in listed:
            continue
        if name.startswith(f".{COMPLETION_NAME}.") and name.endswith(".tmp"):
            continue
        if name.endswith(notes_suffix):
            continue
        stem, dot, suffix = name.rpartition(".")
        if dot and suffix in ("csv", "xlsx") and (stem in tables or f"{stem}{notes_suffix}" in names):
            continue
        unknown.append(name)
    return unknown
