"""Statistical disclosure control for tables released from a secure environment.

Standalone: works on any pandas table and imports nothing from the rest of the
bundle.  See ``disclosure_control/README.md``.

Main entry points:

* :class:`DisclosureRules` -- the rules of a run (from the TOML config).
* :class:`SafeWriter` -- builds, protects, audits and writes every exported table;
  :meth:`SafeWriter.batch` collects the tables of an export and protects
  linked tables jointly (:class:`ReleaseBatch`).
* :func:`check_export` -- re-verifies an export folder and writes the
  documentation of an output request.
"""

__version__ = "1.0.0"

from .rules import DisclosureRules  # noqa: E402
from .writer import ReleaseBatch, ReleaseResult, SafeWriter  # noqa: E402
from .checker import CheckReport, Finding, check_export  # noqa: E402
from .completion import write_completion_record  # noqa: E402
from .model import IDENTITY_LABEL_JOIN  # noqa: E402

__all__ = ["IDENTITY_LABEL_JOIN", "DisclosureRules", "SafeWriter", "ReleaseBatch", "ReleaseResult", "check_export", "CheckReport", "Finding",
           "write_completion_record", "__version__"]
