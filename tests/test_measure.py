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
