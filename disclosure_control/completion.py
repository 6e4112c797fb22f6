"""The completion record of an export folder: ``export_complete.json``.

The safe writer writes a table at a time, and a run can stop between two
tables (an error, a full disk, a user closing the window).  Such a folder looks
like an export but lacks tables, so the checker refuses any folder without a
record saying the run that wrote it finished.  The record holds the run id, the
config hash, the number of tables, the time (UTC) and the SHA-256 of the
manifest as it was when the run finished, so that a manifest changed (or a
table added or dropped) afterwards is refused too.

Order in a run (see ``lib/steps/export.py``): remove the record of the previous
run before the writer touches the folder (while it is being rewritten the
folder is not complete), release every table, write the record, then check the
folder.  The record says "the writer finished"; whether the export may leave the
environment is the checker's verdict, which it gives on the folder with the
record in it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from .output import sha256_of

COMPLETION_NAME = "export_complete.json"
MANIFEST_NAME = "disclosure_manifest.json"
COMPLETION_FORMAT = 1
# Every field of the record; the checker refuses any other (a record is not a
# place for anything else, least of all table values).
COMPLETION_FIELDS = ("format", "run_id", "config_sha256", "n_tables", "completed_utc", "manifest_sha256")


def write_completion_record(export_dir: str | Path, *, run_id: str, config_sha256: str, n_tables: int) -> Path:
    """Mark ``export_dir`` complete: write ``export_complete.json`` atomically.

    ``n_tables`` is the number of tables the run released; the checker
    compares it with the manifest, so a table that went missing from the
    manifest is noticed.  The file is written under a temporary name in the
    same folder and then renamed over the final name (``os.replace`` is atomic
    on one volume, on Windows too), so a reader never sees half a record.
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
        "completed_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "manifest_sha256": sha256_of(manifest),
    }
    data = (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    target = export_dir / COMPLETION_NAME
    temporary = export_dir / f".{COMPLETION_NAME}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        if temporary.exists():  # only when writing or renaming failed
            temporary.unlink()
    return target


def remove_completion_record(export_dir: str | Path) -> bool:
    """Remove the record of a previous run (before the folder is rewritten);
    True when there was one."""
    path = Path(export_dir) / COMPLETION_NAME
    if path.is_file():
        path.unlink()
        return True
    return False
