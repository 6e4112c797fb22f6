"""The three packages the bundle uses when they import, and what a run loses without each.

``requirements.txt`` asks for pyarrow, matplotlib and openpyxl, but an environment may still
lack one (a CBS Remote Access environment installed from an older request, or a pyarrow whose
DLLs fail to load on Windows). The bundle then runs on: every place that uses one of them asks
:func:`available` here, the run log names each missing package once at the start of a run
(:func:`missing_package_lines`), and the report says what is missing where the figures or the
workbook would have been (:data:`REPORT_NOTICES`).

``disclosure_control`` imports nothing from ``lib``: it asks for openpyxl itself
(``disclosure_control.output.openpyxl_available``), in the same way.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OptionalPackage:
    name: str
    modules: tuple[str, ...]
    """Every module the bundle imports from the package: all must import."""
    consequence: str
    """What a run does without the package (the run log, in English like the rest of the log)."""


OPTIONAL_PACKAGES: dict[str, OptionalPackage] = {p.name: p for p in (
    OptionalPackage("pyarrow", ("pyarrow", "pyarrow.compute", "pyarrow.csv", "pyarrow.parquet"),
                    "work files are written as CSV instead of parquet and the run is slower (about 3.7 times at "
                    "200,000 households); parquet sources cannot be read"),
    OptionalPackage("matplotlib", ("matplotlib",),
                    "the report has no figures"),
    OptionalPackage("openpyxl", ("openpyxl",),
                    "no Excel workbook (output_format = \"xlsx\"): the tables are exported as CSV only"),
)}

REPORT_NOTICES = {
    "matplotlib": "Geen figuren: het pakket matplotlib is niet geïnstalleerd in de omgeving waarin dit rapport is "
                  "gemaakt. De cijfers staan in de tabellen hieronder; met matplotlib (requirements.txt) komen de "
                  "figuren er weer bij.",
    "openpyxl": "Geen Excel-werkmap: om een werkmap gevraagd (output_format = \"xlsx\"), maar het pakket openpyxl is "
                "niet geïnstalleerd in deze omgeving. De tabellen staan als CSV-bestanden in de exportmap; met "
                "openpyxl (requirements.txt) komt de werkmap er weer bij.",
}
"""What the report says, in Dutch, beside where the figures or the workbook would have been."""


def importable(module: str) -> bool:
    """True when ``module`` imports. An installed package that fails to import (a missing or
    mismatched DLL on Windows, a package built for another numpy, a broken installation) counts
    as absent: the bundle then runs as if it were not installed, instead of stopping with a
    traceback later."""
    try:
        # The builtin __import__ (not importlib.import_module), so that a test that replaces it
        # can make an installed package fail to load, as a broken DLL does.
        __import__(module)
    except Exception:  # noqa: BLE001 -- ImportError, OSError (DLL load failed), whatever a broken package raises
        return False
    return True


def available(name: str) -> bool:
    """True when every module the bundle uses of the optional package ``name`` imports."""
    return all(importable(module) for module in OPTIONAL_PACKAGES[name].modules)


def missing_packages() -> list[str]:
    """The optional packages that do not import here, in the order of :data:`OPTIONAL_PACKAGES`."""
    return [name for name in OPTIONAL_PACKAGES if not available(name)]


def missing_package_lines() -> list[str]:
    """One line for the run log per missing optional package, with what the run does without it."""
    return [f"{name} is not installed (or does not import): {OPTIONAL_PACKAGES[name].consequence}. Ask for it "
            "with requirements.txt." for name in missing_packages()]
