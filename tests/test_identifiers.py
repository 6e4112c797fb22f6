import numpy as np

from lib.synthetic import identifiers as ids


def test_eleven_test_on_hand_computed_numbers():
    # 123456782: 9*1+8*2+7*3+6*4+5*5+4*6+3*7+2*8-1*2 = 154 = 14*11 -> valid
    # 111222333: 9+8+7+12+10+8+9+6-3 = 66 = 6*11 -> valid
    # 123456789: 154+2-9 = 147 = 13*11+4 -> invalid
    assert ids.eleven_test([123456782, 111222333, 123456789, 0]).tolist() == [True, True, False, False]


def test_generated_bsns_are_valid_and_unique():
    b = ids.bsn(np.arange(1_000_000), seed=5)
    assert ids.eleven_test(b).all()
    assert np.unique(b).size == b.size
    assert (b < 10**9).all()


def test_invalid_bsns_fail_the_test():
    bad = ids.invalid_bsn(np.random.default_rng(3), 500)
    assert bad.size == 500 and not ids.eleven_test(bad).any()


def test_pseudonyms_are_unique_fixed_width_text():
    person_global = np.arange(200_000) * 32 + 3
    rin = ids.rinpersoon(person_global, seed=9)
    assert np.unique(rin).size == rin.size
    assert set(np.char.str_len(rin).tolist()) == {9}
    assert (rin.astype(np.int64) == ids.rinpersoon_int(person_global, seed=9)).all()
    hh = ids.huishoudnr(np.arange(100_000), seed=9)
    assert np.unique(hh).size == hh.size and set(np.char.str_len(hh).tolist()) == {12}
    assert ids.zero_padded([], 9).size == 0
