"""The volume cache: the same Volume object back, least recently used entries dropped first."""

from __future__ import annotations

import threading

import numpy as np

from workstation.dicom.series_input import LoadedSeries, request_for_series
from workstation.model.volume import Volume
from workstation.ui.reading.volume_cache import VolumeCache


def _loaded(uid: str, megabytes: int = 1) -> LoadedSeries:
    voxels = np.zeros((megabytes, 512, 1024), np.int16)  # 1 MiB per slice
    return LoadedSeries(request_for_series(uid), Volume(voxels))


def test_a_cached_series_comes_back_as_the_very_same_volume():
    cache = VolumeCache()
    loaded = _loaded("1.2.3")
    cache.put(loaded.request.key, loaded)

    assert cache.get("series:1.2.3").volume is loaded.volume
    assert cache.get("series:9.9") is None


def test_a_second_put_for_the_same_key_keeps_the_first_volume():
    cache = VolumeCache()
    first, second = _loaded("1.2.3"), _loaded("1.2.3")

    assert cache.put(first.request.key, first) is first
    assert cache.put(second.request.key, second) is first
    assert len(cache) == 1


def test_the_least_recently_used_series_goes_first_when_over_budget():
    cache = VolumeCache(budget_bytes=3 * 2**20)
    for uid in ("1", "2", "3"):
        cache.put(f"series:{uid}", _loaded(uid))
    cache.get("series:1")  # now "2" is the least recently used

    cache.put("series:4", _loaded("4"))

    assert "series:2" not in cache
    assert all(key in cache for key in ("series:1", "series:3", "series:4"))
    assert cache.bytes_held == 3 * 2**20


def test_the_newest_series_stays_even_when_alone_it_exceeds_the_budget():
    cache = VolumeCache(budget_bytes=2**20)
    cache.put("series:small", _loaded("small"))
    cache.put("series:big", _loaded("big", megabytes=4))

    assert list(("series:big" in cache, "series:small" in cache)) == [True, False]


def test_concurrent_puts_and_gets_are_safe():
    cache = VolumeCache(budget_bytes=8 * 2**20)
    errors = []

    def hammer(offset: int) -> None:
        try:
            for index in range(200):
                key = f"series:{(index + offset) % 20}"
                cache.put(key, _loaded(key, megabytes=0))
                cache.get(key)
                _ = cache.bytes_held
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
