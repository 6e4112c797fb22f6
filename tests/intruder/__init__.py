"""An intruder for the export folders of this bundle, built independently of ``disclosure_control``.

It plays the CBS output checker with a spreadsheet and an LP solver: it reads only what an export
folder publishes (``<table>.csv``, ``<table>.notes.txt``, ``disclosure_manifest.json``) and derives,
for every suppressed count, sum or mean, the interval it can prove, plus the small groups and the
figures on too few households it can point at.

* ``reader``    -- parse an export folder: cells with their published decimals, notes, rounding;
* ``model``     -- named variables, labelled rows, min/max with HiGHS (scipy), dual certificates;
* ``relations`` -- the catalogue: every table of the bundle as relations between shared quantities
                   (one function per table, the relation families listed at the top);
* ``attack``    -- the attack itself: ``attack(folder) -> Report``;
* ``compare``   -- the comparison with the TRUE values of ``<work>/evidence`` (tests only; the attack
                   never imports it);
* ``scenarios`` -- synthetic exports to attack (used by ``tests/test_intruder.py``).

Run it on any export: ``python -m tests.intruder EXPORT [--evidence WORK/evidence] [--all]``.
"""
