"""Households, residence and attribution on a small register worked out by hand.

    H1  couple (persons 1, 2) with child 3 in Utrecht (0344); baby 4 born 10 March 2021:
        the household spell ends on 9 March and a new one (4 persons) starts.
    H2  person 5 alone; moves from Utrecht to Rotterdam (0599) on 1 June 2022.
    H3  institution (persons 6, 7) in Utrecht.
    H4  single parent 8 with child 9 at an address of Appingedam (0003) until 2020 and of
        Eemsdelta (1979) from 2021: the same address, a municipal merger, no move.
    H5  person 10 alone in Utrecht, dies on 15 March 2022.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.dates import day_number, month_index
from lib.households import attribute_months, brp_household_model, cbs_household_model
from lib.sources import SourceFile

PEIL = day_number("2023-12-31")
PERIOD = (day_number("2019-01-01"), PEIL)
PERSONS = pd.DataFrame({"person": np.arange(10, dtype=np.int32), "key": np.arange(1, 11, dtype=np.int64)})


def rin(k):
    return f"{k:09d}"


@pytest.fixture
def register(tmp_path):
    hh = [("1", "20150101", "20210309", "H1a", "5", "6", "1"), ("2", "20150101", "20210309", "H1a", "5", "6", "0"),
          ("3", "20150101", "20210309", "H1a", "5", "1", "0"),
          ("1", "20210310", "20231231", "H1b", "5", "6", "1"), ("2", "20210310", "20231231", "H1b", "5", "6", "0"),
          ("3", "20210310", "20231231", "H1b", "5", "1", "0"), ("4", "20210310", "20231231", "H1b", "5", "1", "0"),
          ("5", "20100101", "20231231", "H2", "1", "2", "1"),
          ("6", "20180101", "20231231", "H3", "8", "10", "1"), ("7", "20180101", "20231231", "H3", "8", "10", "0"),
          ("8", "20160101", "20231231", "H4", "6", "7", "1"), ("9", "20160101", "20231231", "H4", "6", "1", "0"),
          ("10", "20100101", "20220314", "H5", "1", "2", "1")]
    pd.DataFrame([("R", rin(int(p)), s, e, n.rjust(12, "0"), t, pl, r) for p, s, e, n, t, pl, r in hh],
                 columns=["RINPERSOONS", "RINPERSOON", "DATUMAANVANGHH", "DATUMEINDEHH", "HUISHOUDNR", "TYPHH", "PLHH",
                          "REFPERSOONHH"]).to_csv(tmp_path / "hh.csv", index=False)
    addresses = [(1, "O1", "20150101", "20501231"), (2, "O1", "20150101", "20501231"), (3, "O1", "20150101", "20501231"),
                 (4, "O1", "20210310", "20501231"), (5, "O2", "20100101", "20220531"), (5, "O3", "20220601", "20501231"),
                 (6, "O5", "20180101", "20501231"), (7, "O5", "20180101", "20501231"),
                 (8, "O4", "20160101", "20501231"), (9, "O4", "20160101", "20501231"), (10, "O6", "20100101", "20220314")]
    pd.DataFrame([("R", rin(p), s, e, "A", o) for p, o, s, e in addresses],
                 columns=["RINPERSOONS", "RINPERSOON", "GBADATUMAANVANGADRESHOUDING", "GBADATUMEINDEADRESHOUDING",
                          "SOORTOBJECTNUMMER", "RINOBJECTNUMMER"]).to_csv(tmp_path / "adres.csv", index=False)
    gem = {"O1": "0344", "O2": "0344", "O3": "0599", "O5": "0344", "O6": "0344"}
    rows = [["A", o] + [code] * 5 for o, code in gem.items()] + [["A", "O4", "0003", "0003", "1979", "1979", "1979"]]
    pd.DataFrame(rows, columns=["SOORTOBJECTNUMMER", "RINOBJECTNUMMER"] + [f"gem{y}" for y in range(2019, 2024)]
                 ).to_csv(tmp_path / "vsl.csv", index=False)
    return [SourceFile("GBAHUISHOUDENSBUS", tmp_path / "hh.csv", 2023, 1, "csv"),
            SourceFile("GBAADRESOBJECTBUS", tmp_path / "adres.csv", 2023, 1, "csv"),
            SourceFile("VSLGWBTAB", tmp_path / "vsl.csv", 2023, 1, "csv")]


def model(register, area=("0344",), institutional=False):
    return cbs_household_model(register, PERSONS, PEIL, PERIOD, list(area), institutional, PEIL)


def test_households_at_the_peildatum(register):
    m = model(register)
    h = m.households.set_index("huishoudnr")
    assert set(h.index) == {"000000000H1b", "0000000000H2", "0000000000H3", "0000000000H4"}
    h1 = h.loc["000000000H1b"]
    assert (h1.n_persons, h1.n_children, h1.n_partners, h1.household_type) == (4, 2, 2, "paar met kinderen")
    assert (h1.in_area, h1.included, h1.municipality) == (True, True, "0344")
    assert (h.loc["0000000000H2", "in_area"], h.loc["0000000000H2", "municipality"]) == (False, "0599")
    h3 = h.loc["0000000000H3"]
    assert (h3.institutional, h3.in_area, h3.included, h3.household_type) == (True, True, False, "institutioneel")
    h4 = h.loc["0000000000H4"]
    assert (h4.household_type, h4.n_single_parents, h4.in_area) == ("eenouder", 1, False)
    # Person 10 died before the peildatum: in no household.
    assert sorted(m.members["person"]) == list(range(9))


def test_study_area_in_the_boundaries_of_the_peildatum_year(register):
    m = model(register, area=("1979",))
    h = m.households.set_index("huishoudnr")
    assert h.loc["0000000000H4", "in_area"] and h.loc["0000000000H4", "municipality"] == "1979"
    assert m.moves[["persons_in", "persons_out"]].to_numpy().sum() == 0      # the merger is no move


def test_institutional_households_can_be_included(register):
    assert model(register, institutional=True).households.set_index("huishoudnr").loc["0000000000H3", "included"]


def test_moves_into_and_out_of_the_area(register):
    moves = model(register).moves.set_index("year")
    assert moves.loc[2022, "persons_out"] == 1 and moves.loc[2022, "households_out"] == 1
    assert moves[["persons_in", "persons_out"]].drop(index=2022).to_numpy().sum() == 0


def test_monthly_attribution(register):
    m = model(register)
    spells = m.household_spells.set_index("household_spell")["huishoudnr"]
    person = [0, 0, 4, 4, 9, 3]
    months = [month_index(day_number(x)) for x in ("2020-06-01", "2021-06-01", "2022-03-01", "2022-07-01",
                                                    "2022-04-01", "2021-03-01")]
    got = attribute_months(np.array(person), np.array(months), m.membership_spells, m.area_spells)
    labels = [spells[g] if g >= 0 else None for g in got]
    # The baby (person 3 here) belongs to H1b from 10 March: on 15 March 2021 it does.
    assert labels == ["000000000H1a", "000000000H1b", "0000000000H2", None, None, "000000000H1b"]


def test_brp_extract_households_by_location_code():
    brp = pd.DataFrame({
        "BSN": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
        "LOCATIECODE": ["L1", "L1", "L1", "L1", "L2", "L3", "L3", "L4", "L4", "L1"],
        "GEZINSRELATIE": ["P", "P", "K", "K", "A", "O", "K", "I", "I", "V"]})
    m = brp_household_model(brp, PERSONS, "0344", include_institutional=False)
    h = m.households.set_index("locatiecode")
    assert h.loc["L1", ["n_persons", "n_partners", "n_children", "n_other"]].tolist() == [5, 2, 2, 1]
    assert h["household_type"].to_dict() == {"L1": "paar met kinderen", "L2": "eenpersoons", "L3": "eenouder",
                                             "L4": "institutioneel"}
    assert h["included"].to_dict() == {"L1": True, "L2": True, "L3": True, "L4": False}


@pytest.mark.parametrize("institutional", [False, True], ids=["without institutions", "with institutions"])
def test_positions_per_household_for_personen_naar_positie(register, institutional):
    """One row per household and position present in it, with its number of persons; every position
    of the code list is a category (empty ones too); per household the persons add up to its size."""
    from lib.steps.households import _positions_per_household, position_codes
    m = model(register, institutional=institutional)
    # Every household at the peildatum (in the step: the included ones), institutions only when included.
    kept = m.households.loc[institutional | ~m.households["institutional"], "household"]
    members = m.members[m.members["household"].isin(kept)]
    got = _positions_per_household(members, institutional)
    assert got.columns.tolist() == ["household", "positie", "aantal_personen"]
    assert got["positie"].cat.categories.tolist() == position_codes(institutional)
    number = m.households.set_index("household")["huishoudnr"]
    rows = {(number[h], str(p), int(n)) for h, p, n in got.itertuples(index=False)}
    expected = {("000000000H1b", "partner", 2), ("000000000H1b", "thuiswonend kind", 2),
                ("0000000000H2", "alleenstaande", 1), ("0000000000H4", "ouder in eenoudergezin", 1),
                ("0000000000H4", "thuiswonend kind", 1)}
    if institutional:
        expected.add(("0000000000H3", "bewoner instelling", 2))
    else:
        assert "bewoner instelling" not in position_codes(False)
    assert rows == expected
    sizes = m.households.set_index("household")["n_persons"]
    per_household = got.groupby("household")["aantal_personen"].sum()
    assert (per_household == sizes.reindex(per_household.index)).all()


@pytest.mark.parametrize("presorted", [False, True], ids=["as delivered", "sorted by person and start"])
def test_spell_on_equals_a_join_and_filter_also_with_overlapping_spells(presorted):
    from lib.households import SpellIndex, spell_on
    rng = np.random.default_rng(11)
    n = 3000
    # Persons with zero to several spells each; some nested, overlapping or equal-start spells.
    spells = pd.DataFrame({"person": rng.integers(0, 400, n), "start": rng.integers(-300, 3000, n)})
    spells["end"] = spells["start"] + rng.choice([0, 5, 40, 400, 5000], n)
    if presorted:   # the order the model keeps its spells in: no sort inside spell_on then
        spells = spells.sort_values(["person", "start"], kind="stable", ignore_index=True)
    queries = pd.DataFrame({"person": rng.integers(0, 420, 20000), "day": rng.integers(-400, 9000, 20000)})
    got = spell_on(queries["person"].to_numpy(), queries["day"].to_numpy(), spells)
    joined = queries.reset_index(names="query").merge(spells.reset_index(names="spell"), on="person")
    joined = joined[(joined["start"] <= joined["day"]) & (joined["end"] >= joined["day"])]
    expected = np.full(len(queries), -1)
    best = joined.sort_values(["query", "start", "spell"]).drop_duplicates("query", keep="last")
    expected[best["query"].to_numpy()] = best["spell"].to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert (got >= 0).mean() > 0.2 and (got == -1).mean() > 0.2
    # The spells indexed once and asked slice by slice, as the ledger asks them; days before
    # every spell (from -400) and far after it among the questions.
    index = SpellIndex(spells)
    in_slices = np.concatenate([spell_on(queries["person"].to_numpy()[part], queries["day"].to_numpy()[part], index)
                                for part in (slice(0, 7000), slice(7000, 7001), slice(7001, None))])
    np.testing.assert_array_equal(in_slices, expected)
    assert queries["day"].min() < spells["start"].min() and (got[queries["day"].to_numpy() < -300] == -1).all()


@pytest.mark.parametrize("presorted", [False, True], ids=["as delivered", "sorted by person and start"])
def test_at_date_takes_the_latest_starting_covering_spell(presorted):
    from lib.households import at_date, order_by_person_and_start
    rng = np.random.default_rng(5)
    n = 2000
    spells = pd.DataFrame({"person": rng.integers(0, 300, n), "start": rng.integers(0, 1000, n)})
    spells["end"] = spells["start"] + rng.choice([0, 30, 300, 3000], n)
    spells["spell"] = np.arange(n)
    if presorted:
        spells = spells.sort_values(["person", "start"], kind="stable", ignore_index=True)
        assert order_by_person_and_start(spells["person"].to_numpy(), spells["start"].to_numpy()) is None
    else:
        assert order_by_person_and_start(spells["person"].to_numpy(), spells["start"].to_numpy()) is not None
    got = at_date(spells, 600).set_index("person")["spell"].sort_index()
    covering = spells[(spells["start"] <= 600) & (spells["end"] >= 600)]
    # Among equal starts the one delivered last, as in spell_on.
    expected = covering.sort_values(["person", "start"], kind="stable").groupby("person")["spell"].last()
    pd.testing.assert_series_equal(got, expected, check_names=False)
    assert 100 < len(got) < 300


def test_composition_counts_roles_per_household_whatever_the_ids():
    from lib.households import composition
    members = pd.DataFrame({"household": [4, 4, 4, 7, 9, 9], "role": ["P", "P", "K", "A", "O", "K"]})
    dense = composition(members)          # small integer ids: counted by id
    assert dense.index.tolist() == [4, 7, 9]
    assert dense[["n_persons", "n_children", "n_partners", "n_singles", "n_single_parents"]].values.tolist() == [
        [3, 1, 2, 0, 0], [1, 0, 0, 1, 0], [2, 1, 0, 0, 1]]
    sparse = composition(members.assign(household=members["household"] * 10**9))   # counted after a sort
    np.testing.assert_array_equal(sparse.to_numpy(), dense.to_numpy())
    text = composition(members.assign(household=members["household"].astype(str)))
    np.testing.assert_array_equal(text.to_numpy(), dense.to_numpy())


@pytest.mark.parametrize("kind", ["categorical", "text", "mixed"])
def test_joint_codes_give_equal_values_equal_codes(kind):
    from lib.households import joint_codes
    left, right = ["B", "A", None, "C", "B"], ["C", "D", "B", None]

    def column(values, categorical):
        return pd.Series(pd.Categorical(values) if categorical else pd.array(values, dtype=object))
    a = column(left, kind != "text")
    b = column(right, kind == "categorical")
    ca, cb = joint_codes(a, b)
    codes = dict(zip(left + right, np.concatenate([ca, cb])))
    for value, code in zip(left + right, np.concatenate([ca, cb])):
        assert codes[value] == code                     # one code per value, in both columns
    assert len(set(codes.values())) == len(codes)       # different values, different codes


def test_household_type_of_codes_alike_as_text_and_as_categories():
    from lib.households import household_type_of
    codes = ["1", "8", None, "4", "9", "6", "1"]
    expected = ["eenpersoons", "institutioneel", "overig", "paar met kinderen", "overig", "eenouder", "eenpersoons"]
    assert list(household_type_of(pd.Series(codes, dtype=object))) == expected
    assert list(household_type_of(pd.Series(pd.Categorical(codes)))) == expected


def test_households_on_a_day_with_moves_dissolutions_and_births():
    from lib.households import households_on
    d = day_number
    start, end = d("2021-01-01"), d("2023-12-31")
    far = d("2099-12-31")
    household_spells = pd.DataFrame({"household_spell": [10, 11, 12, 13, 14],
                                     "n_persons": [2, 1, 2, 1, 3], "start": [d("2015-01-01")] * 5, "end": [far] * 5})
    # 10: persons 1, 2 stay together (a child 9 is born into it: not a dissolution);
    # 11: person 3 moves out of the area in 2022; 12: persons 4 and 5 separate in 2022
    # (5 goes to 14, which did not exist on the start day as her household... 14 ends up with 5 only);
    # 13: person 6 dies (no spell at the end).
    membership_spells = pd.DataFrame({
        "person":          [1, 2, 9, 3, 4, 5, 5, 6, 7, 7],
        "household_spell": [10, 10, 10, 11, 12, 12, 14, 13, 14, 12],
        "start": [d("2015-01-01")] * 2 + [d("2022-03-01"), d("2015-01-01"), d("2015-01-01"), d("2015-01-01"),
                  d("2022-06-01"), d("2015-01-01"), d("2023-01-01"), d("2015-01-01")],
        "end": [far, far, far, far, far, d("2022-05-31"), far, d("2022-08-10"), far, d("2020-12-31")]})
    area_spells = pd.DataFrame({
        "person": [1, 2, 3, 3, 4, 5, 6, 7, 9],
        "start": [d("2015-01-01")] * 3 + [d("2022-02-01")] + [d("2015-01-01")] * 4 + [d("2022-03-01")],
        "end": [far, far, d("2022-01-31"), far, far, far, far, far, far],
        "municipality": ["GM0363", "GM0363", "GM0363", "GM0518", "GM0344", "GM0344", "GM0363", "GM0363", "GM0363"],
        "in_area": [True, True, True, False, True, True, True, True, True]})
    households, members = households_on(start, household_spells, membership_spells, area_spells, end)
    got = households.set_index("household")
    assert sorted(got.index) == [10, 11, 12, 13]          # 14 had no member on the start day (7 left 12 in 2020)
    assert dict(zip(members["person"], members["household"])) == {1: 10, 2: 10, 3: 11, 4: 12, 5: 12, 6: 13}
    assert got["moved_away"].to_dict() == {10: False, 11: True, 12: False, 13: False}
    assert got["dissolved"].to_dict() == {10: False, 11: False, 12: True, 13: True}
    assert got["municipality"].to_dict() == {10: "GM0363", 11: "GM0363", 12: "GM0344", 13: "GM0363"}
    assert got["in_area"].all()


@pytest.mark.parametrize("scale", [1, 10**12])      # dense codes (a look-up table) and sparse ids (a hash index)
def test_id_positions_equal_a_hash_index(scale):
    from lib.households import id_positions
    rng = np.random.default_rng(2)
    keys = rng.permutation(np.arange(5, 5000)).astype(np.int64) * scale
    ids = rng.integers(0, 6000, 20_000).astype(np.int64) * scale      # some below, some above the keys
    expected = pd.Index(keys).get_indexer(ids)
    assert (id_positions(keys, ids) == expected).all()
    assert (id_positions(keys.astype(np.int32) if scale == 1 else keys, ids) == expected).all()
    assert id_positions(keys, ids[:0]).size == 0 and (id_positions(keys[:0], ids) == -1).all()
    text_keys = keys.astype(str)
    assert (id_positions(text_keys, ids.astype(str)) == expected).all()


def test_brp_rows_one_person_one_household():
    """Repeats of a person (also without the leading zero) are one person; a BSN at two locations
    or with two roles is placed nowhere; rows without a BSN or location place no one."""
    from lib.households import BRP_REASON, brp_rows
    brp = pd.DataFrame({
        "BSN": ["011222335", "11222335", "2", "2", "3", "3", "3", "", "x12", "4", "5"],
        "LOCATIECODE": ["L1", "L1", "L2", "L3", "L4", "L4", "L4", "L5", "L5", "", "L6"],
        "GEZINSRELATIE": ["P", "p", "A", "A", "P", "K", "P", "A", "A", "A", "A"]})
    key, reason = brp_rows(brp)
    assert key.tolist() == [11222335, 11222335, 2, 2, 3, 3, 3, -1, -1, 4, 5]
    assert reason.tolist() == ["", BRP_REASON["duplicate"], BRP_REASON["locations"], BRP_REASON["locations"],
                               BRP_REASON["roles"], BRP_REASON["roles"], BRP_REASON["roles"], BRP_REASON["bsn"],
                               BRP_REASON["bsn"], BRP_REASON["location"], ""]
    persons = pd.DataFrame({"person": np.arange(5, dtype=np.int32), "key": np.array([11222335, 2, 3, 4, 5])})
    m = brp_household_model(brp, persons, "0344", include_institutional=False)
    # Person 0 (coded P) is the only person placed at L1: its alleenstaande (lone_members_live_alone).
    assert m.members.values.tolist() == [[0, 0, "A"], [4, 1, "A"]]
    assert m.households["locatiecode"].tolist() == ["L1", "L6"]
    assert m.not_placed.tolist() == [1, 2]
    assert "BRP extract: 2 person(s) listed in more than one way are in no household (the extract does not tell " \
           "which; the rows are in read_sources' rejected/BRP-extract.csv)" in m.notes


def test_brp_extract_reads_only_the_columns_the_method_asks(tmp_path):
    from lib.errors import UserFacingError
    from lib.households import read_brp_extract
    path = tmp_path / "brp.csv"
    path.write_bytes("Geslacht;bsn ;Geboortedatum;LOCATIECODE;Gezinsrelatie\r\nM;1;19800101;L1;P\r\n\r\n"
                     "V;2;;L1;P\r\n".encode("cp1252"))
    brp = read_brp_extract(path)
    assert brp.columns.tolist() == ["line", "BSN", "LOCATIECODE", "GEZINSRELATIE"]
    assert brp.values.tolist() == [[2, "1", "L1", "P"], [4, "2", "L1", "P"]]
    path.write_bytes(b"BSN,Adres\r\n1,Dorpsstraat 1\r\n")
    with pytest.raises(UserFacingError) as err:
        read_brp_extract(path)
    assert str(err.value) == (f"{path}: the BRP extract lacks the column(s) Locatiecode, Gezinsrelatie (found: BSN, "
                              "Adres). The method needs BSN, Locatiecode and Gezinsrelatie, in the header row; other "
                              "columns are not read")
    path.write_bytes(b"")
    with pytest.raises(UserFacingError, match="the BRP extract is empty"):
        read_brp_extract(path)


def test_a_person_in_two_households_on_the_peildatum_is_counted_once_and_reported(register, tmp_path):
    hh = pd.read_csv(tmp_path / "hh.csv", dtype=str, keep_default_na=False)
    # Person 5 also in H4 (with person 8 and 9) from 1 July 2023: two households on the peildatum.
    extra = pd.DataFrame([("R", rin(5), "20230701", "20231231", "0000000000H4", "6", "7", "0")], columns=hh.columns)
    pd.concat([hh, extra]).to_csv(tmp_path / "hh.csv", index=False)
    m = model(register)
    assert ("GBAHUISHOUDENSBUS: 1 person(s) in more than one household on the peildatum (overlapping spells); "
            "each is counted once, in the household whose spell started last") in m.notes
    assert m.members["person"].tolist().count(4) == 1
    h = m.households.set_index("household")
    assert h.loc[m.members.set_index("person").loc[4, "household"], "huishoudnr"] == "0000000000H4"


def test_cbs_route_states_the_registers_definitions_and_a_weaker_one_where_the_register_disagrees(register, tmp_path):
    """The register's types and positions agree (H1b a couple with two children, H2 one alleenstaande, H4 a
    single parent with a child): every two-way definition is stated. With person 5 also registered in H4
    from 1 July 2023 (overlapping spells; a spell of H4 of its own, as a household is its number with its
    start date, typed one-parent, PLHH parent), that household has a parent and no child: the clause on
    children by type is left out, the others still hold."""
    from lib.steps.households import POSITION_DEFINITIONS as D
    from lib.steps.households import position_notes

    def notes_of(m):
        households = m.households[m.households["included"]]
        return position_notes("cbs", households, m.members[m.members["household"].isin(households["household"])])

    area = ("0344", "0599", "1979")
    notes, left_out = notes_of(model(register, area=area))
    assert notes[1] == (f"Definities: {D['alleenstaande']}; {D['eenouder']}; {D['paar']}; {D['kinderen_per_type']}; "
                        f"{D['kinderen_bij_ouders']}; {D['overig']}. Een huishouden kan personen in meer posities "
                        "hebben.")
    assert left_out == [] and len(notes) == 2
    hh = pd.read_csv(tmp_path / "hh.csv", dtype=str, keep_default_na=False)
    extra = pd.DataFrame([("R", rin(5), "20230701", "20231231", "0000000000H4", "6", "7", "0")], columns=hh.columns)
    pd.concat([hh, extra]).to_csv(tmp_path / "hh.csv", index=False)
    notes, left_out = notes_of(model(register, area=area))
    assert notes[1] == (f"Definities: {D['alleenstaande']}; {D['eenouder']}; {D['paar']}; {D['kinderen_bij_ouders']}; "
                        f"{D['overig']}. Een huishouden kan personen in meer posities hebben.")
    assert left_out == [D["kinderen_per_type"]]


# --- residence after the peildatum, and what attribution at the peildatum moves -------------------

def test_the_default_residence_date_is_the_last_day_the_household_register_describes(register):
    from lib.households import OPEN, last_day_described
    d = day_number
    # The latest spell end (running spells end at the version date); a blank end says nothing.
    assert last_day_described(np.array([d("2021-03-09"), d("2023-12-31"), OPEN]), register,
                              d("2021-12-31")) == d("2023-12-31")
    # A far-future end is no later knowledge: capped at what a 2023 BUS file can hold (1 January 2024).
    assert last_day_described(np.array([d("2050-12-31")]), register, d("2021-12-31")) == d("2024-01-01")
    # Never before the peildatum.
    assert last_day_described(np.array([d("2021-03-09"), OPEN]), register, d("2022-06-30")) == d("2022-06-30")


def test_who_stayed_moved_or_left_the_registers_after_the_peildatum(register):
    d = day_number
    peil = d("2021-12-31")
    m = cbs_household_model(register, PERSONS, peil, (d("2019-01-01"), peil), ["0344"], False, None)
    # Not configured: the register's latest spell end, 31 December 2023.
    assert m.residence_date == d("2023-12-31")
    h = m.households.set_index("huishoudnr")
    got = h[["still_resident", "moved_out", "left_registers"]].astype(bool)
    # H1b stays in Utrecht; person 5 (H2) moved to Rotterdam on 1 June 2022; person 10 (H5) died on
    # 15 March 2022 (no address after it); H3 (an institution) stays; H4 lives in Eemsdelta all along.
    assert got.loc["000000000H1b"].tolist() == [True, False, False]
    assert got.loc["0000000000H2"].tolist() == [False, True, False]
    assert got.loc["0000000000H5"].tolist() == [False, False, True]
    assert got.loc["0000000000H3"].tolist() == [True, False, False]
    assert h.loc["0000000000H2", "in_area"] and h.loc["0000000000H5", "in_area"]
    # A household spell ended by a birth (H1a) has not left the area: its members still live there.
    spells = m.household_spells.set_index("huishoudnr")
    assert spells.loc["000000000H1a", "still_resident"] and not spells.loc["000000000H1a", "moved_out"]
    assert spells.loc["0000000000H5", "left_registers"]
    # Residence decided on the peildatum itself (configured): everybody of the area still lives there.
    same_day = cbs_household_model(register, PERSONS, peil, (d("2019-01-01"), peil), ["0344"], False, peil)
    assert same_day.residence_date == peil
    assert same_day.households.set_index("huishoudnr").loc[["000000000H1b", "0000000000H2", "0000000000H5"],
                                                           "still_resident"].all()


def test_costs_moved_by_peildatum_attribution_by_hand():
    from lib.households import costs_moved_by_peildatum_attribution
    d = day_number
    far = d("2050-12-31")
    # Person 1 (group 0, in the area at the peildatum) lived outside until 30 June 2020; person 2
    # (group 1, outside at the peildatum) inside until 31 March 2021; person 3 (group 2, no household
    # at the peildatum) inside until dying on 20 May 2021; person 4 is nobody's concern (-1).
    area_spells = pd.DataFrame({
        "person": [1, 1, 2, 2, 3, 4], "start": [d("2010-01-01"), d("2020-07-01"), d("2010-01-01"), d("2021-04-01"),
                                                 d("2010-01-01"), d("2010-01-01")],
        "end": [d("2020-06-30"), far, d("2021-03-31"), far, d("2021-05-20"), far],
        "municipality": ["0599", "0344", "0344", "0599", "0344", "0344"],
        "in_area": [False, True, True, False, True, True]})
    months_2020 = [month_index(d(f"2020-{m:02d}-01")) for m in range(1, 13)]
    months_2021 = [month_index(d(f"2021-{m:02d}-01")) for m in range(1, 7)]
    person = np.array([1] * 12 + [2] * 6 + [3] * 3 + [4] * 2)
    month = np.array(months_2020 + months_2021 + months_2021[3:] + months_2021[:2])
    cost = np.array([100.0] * 12 + [50.0] * 6 + [10.0] * 3 + [999.0] * 2)
    group = np.array([0] * 12 + [1] * 6 + [2] * 3 + [-1] * 2)
    moved = costs_moved_by_peildatum_attribution(person, month, cost, group, area_spells)
    # Person 1: January-June 2020 made outside, moved in (6 x 100). Person 2: January-March 2021 made
    # inside, dropped (3 x 50). Person 3: April and May inside (dropped, 2 x 10); on 15 June dead.
    assert moved.tolist() == [True] * 6 + [False] * 6 + [True] * 3 + [False] * 3 + [True, True, False] + [False] * 2
    assert cost[moved & (group == 0)].sum() == 600.0
    assert cost[moved & (group == 1)].sum() == 150.0
    assert cost[moved & (group == 2)].sum() == 20.0
