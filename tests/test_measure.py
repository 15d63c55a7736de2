"""Tests for helpers.measure (chapter 2): peak memory of one loss step, each in a fresh process."""

import pytest

from helpers import measure

MiB = 2**20


@pytest.mark.skipif(not measure.peak_supported(), reason="needs Linux's /proc/self/clear_refs")
def test_tile_needs_far_more_than_sort_and_repeats():
    tile, tile_again, sort = measure.measure_fresh_many(
        [("tile", 256), ("tile", 256), ("sort", 256)], workers=3)
    assert [r["method"] for r in (tile, tile_again, sort)] == ["tile", "tile", "sort"]
    assert all(r["batch_size"] == 256 and r["seconds"] is None for r in (tile, tile_again, sort))
    # one float32 256 x 256 x 256 tensor is 64 MiB, and the tiled step holds more than one;
    # the sorted step holds a few 256 x 256 matrices (0.25 MiB each)
    assert tile["peak_growth"] > 64 * MiB
    assert tile["peak_growth"] > 10 * max(sort["peak_growth"], MiB)
    assert abs(tile["peak_growth"] - tile_again["peak_growth"]) < 0.1 * tile["peak_growth"]
    assert tile["rss_before"] > 0 and sort["rss_before"] > 0


def test_failure_in_the_process_is_reported():
    with pytest.raises(RuntimeError, match="must be positive"):
        measure.measure_fresh("sort", 0)  # rejected before TensorFlow is imported: fast


def test_unknown_method_is_rejected_without_a_process():
    with pytest.raises(ValueError, match="method"):
        measure.measure_fresh("cube", 8)
    with pytest.raises(ValueError, match="method"):
        measure.measure_here("cube", 8)


def test_no_peak_without_clear_refs(monkeypatch, tmp_path):
    monkeypatch.setattr(measure, "CLEAR_REFS", tmp_path / "missing")
    assert not measure.peak_supported()
    assert measure.peak_growth("tile", 256) is None  # and no process is started


def test_status_fields_are_bytes():
    if not measure.peak_supported():
        pytest.skip("needs Linux's /proc/self/status")
    assert measure._status_bytes("VmHWM") >= measure._status_bytes("VmRSS") > 0
    with pytest.raises(KeyError):
        measure._status_bytes("NoSuchField")


def test_time_here_times_every_size_of_every_method():
    seconds = measure.time_here({"tile": [8, 16], "sort": [8]}, repeats=2, dim=4)
    assert sorted(seconds) == [("sort", 8), ("tile", 8), ("tile", 16)]
    assert all(s > 0 for s in seconds.values())
    with pytest.raises(ValueError, match="method"):
        measure.time_here({"cube": [8]})


def test_peak_growths_maps_each_configuration_to_its_bytes(monkeypatch):
    monkeypatch.setattr(measure, "peak_supported", lambda: True)
    asked = []

    def fake_many(configs, *, workers, **options):
        asked.append((configs, workers))
        return [{"method": m, "batch_size": b, "peak_growth": 1000 * b} for m, b in configs]

    monkeypatch.setattr(measure, "measure_fresh_many", fake_many)
    growth = measure.peak_growths({"tile": [256, 512], "sort": [256]})
    assert asked == [([("tile", 256), ("tile", 512), ("sort", 256)], 2)]
    assert growth == {("tile", 256): 256000, ("tile", 512): 512000, ("sort", 256): 256000}


def test_peak_growths_is_empty_without_clear_refs(monkeypatch, tmp_path):
    monkeypatch.setattr(measure, "CLEAR_REFS", tmp_path / "missing")
    monkeypatch.setattr(measure, "measure_fresh_many", lambda *a, **k: pytest.fail("started a process"))
    assert measure.peak_growths({"tile": [256]}) == {}


def test_scaling_table_shows_growth_as_multiples_of_one_tensor():
    seconds = {("tile", 256): 0.0125, ("sort", 256): 0.002, ("sort", 512): 0.004}
    growth = {("tile", 256): 3 * 4 * 256**3, ("sort", 256): 5 * 4 * 256**2}
    lines = measure.scaling_table(seconds, growth).splitlines()
    assert lines[0].startswith("method     B  time (ms)  peak growth")
    assert lines[1:] == ["sort     256        2.0      1.2 MiB  =  5.0 × one B×B matrix",
                         "sort     512        4.0",
                         "tile     256       12.5    192.0 MiB  =  3.0 × one B×B×B tensor"]
    assert measure.scaling_table(seconds, {}).splitlines()[-1].startswith("memory: not measured")
