"""Table requests survive the round trip through the work folder, with and without pyarrow."""
import pandas as pd
import pytest

from lib import workfiles
from lib.export_requests import clear_requests, collect_requests, request_table


@pytest.mark.parametrize("parquet", [True, False])
def test_requests_round_trip_in_step_order(tmp_path, monkeypatch, parquet):
    if parquet and not workfiles.HAS_PARQUET:
        pytest.skip("pyarrow not installed")
    monkeypatch.setattr(workfiles, "HAS_PARQUET", parquet)
    data = pd.DataFrame({"household": [1, 2, 3], "type": pd.Categorical(["a", "b", "a"]), "cost": [1.5, 2.0, 0.25]})
    request_table(tmp_path / "07_coherence", "b_table", "magnitude_table", data, unit="household", values="cost")
    request_table(tmp_path / "06_baseline", "z_table", "frequency_table", data, unit="household", dimensions=["type"])
    request_table(tmp_path / "06_baseline", "a_table", "frequency_table", data, unit="household", dimensions=["type"])
    requests = collect_requests(tmp_path)
    assert [(r.step_dir.name, r.name, r.method) for r in requests] == [
        ("06_baseline", "a_table", "frequency_table"), ("06_baseline", "z_table", "frequency_table"),
        ("07_coherence", "b_table", "magnitude_table")]
    assert requests[2].kwargs == {"unit": "household", "values": "cost"}
    pd.testing.assert_frame_equal(requests[0].data(), data)
    clear_requests(tmp_path / "06_baseline")
    assert [r.name for r in collect_requests(tmp_path)] == ["b_table"]
