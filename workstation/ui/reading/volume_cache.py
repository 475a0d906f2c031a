"""Keep recently opened series in memory, so reopening one is instant and reads no file.

Keyed by :attr:`SeriesRequest.key` (series UID or source path). Holds whole
:class:`~workstation.dicom.series_input.LoadedSeries`, so a reopened series gives the
very same :class:`~workstation.model.volume.Volume` object, its warnings and
skipped files included. Least recently used entries go first once the voxels held
pass a memory budget; the newest entry always stays. Qt-free and thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from workstation.dicom.series_input import LoadedSeries

#: Default budget for cached voxels.
DEFAULT_BUDGET_BYTES = 3 * 1024**3


def _size(loaded: LoadedSeries) -> int:
    return loaded.volume.voxels.nbytes + sum(v.voxels.nbytes for v in loaded.other_volumes)


class VolumeCache:
    """An LRU map from request key to loaded series, bounded by voxel bytes."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[str, LoadedSeries] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> LoadedSeries | None:
        """The cached series, marked as most recently used; None when not cached."""
        with self._lock:
            loaded = self._entries.get(key)
            if loaded is not None:
                self._entries.move_to_end(key)
            return loaded

    def put(self, key: str, loaded: LoadedSeries) -> LoadedSeries:
        """Cache ``loaded``; if ``key`` is already cached, keep and return that one."""
        with self._lock:
            existing = self._entries.get(key)
            if existing is not None:
                self._entries.move_to_end(key)
                return existing
            self._entries[key] = loaded
            while len(self._entries) > 1 and self._bytes() > self.budget_bytes:
                self._entries.popitem(last=False)
            return loaded

    @property
    def bytes_held(self) -> int:
        with self._lock:
            return self._bytes()

    def _bytes(self) -> int:
        return sum(_size(loaded) for loaded in self._entries.values())

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
