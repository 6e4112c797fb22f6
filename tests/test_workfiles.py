"""Work tables written part by part read back as one table, with and without pyarrow."""
import numpy as np
import pandas as pd
import pytest

from lib import workfiles


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("parquet", [True, False])
def test_a_table_written_in_parts_reads_back_whole_with_its_dtypes(tmp_path, monkeypatch, parquet, background):
    if parquet and not workfiles.HAS_PARQUET:
        pytest.skip("pyarrow not installed")
    monkeypatch.setattr(workfiles, "HAS_PARQUET", parquet)
    domains = ["bijstand", "jeugdhulp", "wmo"]
    rng = np.random.default_rng(5)
    parts = [pd.DataFrame({"person": np.arange(i * 10, i * 10 + n, dtype=np.int32),
                           "domain": pd.Categorical.from_codes(rng.integers(0, 3, n), categories=domains),
                           "cost": rng.random(n)}) for i, n in enumerate([4, 0, 7, 1])]
    with workfiles.TableWriter(tmp_path / "ledger", background=background) as writer:
        for part in parts:
            writer.write(part)
    assert writer.rows == 12
    got = workfiles.read_table(tmp_path / "ledger")
    expected = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got["domain"].cat.categories) == domains


def test_an_error_in_a_background_write_is_raised_not_lost(tmp_path):
    if not workfiles.HAS_PARQUET:
        pytest.skip("pyarrow not installed")
    writer = workfiles.TableWriter(tmp_path / "t", background=True)
    writer.write(pd.DataFrame({"a": [1, 2]}))
    writer.write(pd.DataFrame({"b": ["x"]}))         # other columns than the first part: an error
    with pytest.raises(Exception):
        writer.close()
