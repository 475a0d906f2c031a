"""DICOM SEG writer: valid per dciodvfy, and highdicom reads back the same segments."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest
from support.dicom_validation import dciodvfy_errors, small_ct

from workstation.dicom.segmentation import Segment, SegmentationError, write_segmentation
from workstation.model.report import Algorithm
from workstation.model.volume import Volume

ALGORITHM = Algorithm("Halong test CAD", "9.8.7")


@pytest.fixture(scope="module")
def ct(tmp_path_factory):
    return small_ct(tmp_path_factory.mktemp("ct"))


def _sorted(points: np.ndarray) -> np.ndarray:
    return points[np.lexsort(np.round(points, 3).T)]


def _labels(volume: Volume) -> np.ndarray:
    labels = np.zeros(volume.shape_zyx, dtype=np.uint8)
    labels[3:7, 10:20, 5:12] = 1  # 4 x 10 x 7 = 280 voxels
    labels[15:16, 30:33, 20:25] = 2  # 1 x 3 x 5 = 15 voxels
    return labels


def test_seg_is_valid_and_reads_back_the_same_segments(ct, tmp_path):
    volume, sources = ct
    segments = [
        Segment(1, "Nodule 1", "Nodule 1", algorithm=ALGORITHM),
        Segment(2, "Nodule 2", "Nodule 2", algorithm=ALGORITHM),
    ]
    path = tmp_path / "seg.dcm"
    write_segmentation(volume.with_voxels(_labels(volume)), segments, sources, path)
    assert dciodvfy_errors(path, "Segmentation") == []

    seg = hd.seg.segread(path)
    assert seg.SeriesDescription and seg.get_segment_numbers() == [1, 2]
    referenced = {
        i.ReferencedSOPInstanceUID
        for i in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    }
    assert referenced <= set(volume.provenance.sop_instance_uids)
    read = seg.get_volume(combine_segments=True)
    expected = _labels(volume)
    for number in (1, 2):  # the same voxels, compared as LPS positions
        stored = np.argwhere(read.array == number)
        positions = stored @ read.affine[:3, :3].T + read.affine[:3, 3]
        truth = volume.index_to_world(np.argwhere(expected == number)[:, ::-1])
        np.testing.assert_allclose(_sorted(positions), _sorted(truth), atol=1e-3)
    for number, voxels in ((1, 280), (2, 15)):
        description = seg.get_segment_description(number)
        assert description.algorithm_type.value == "AUTOMATIC"
        assert description.algorithm_identification[0].AlgorithmName == ALGORITHM.name
        assert description.algorithm_identification[0].AlgorithmVersion == ALGORITHM.version
        assert description.tracking_id == f"Nodule {number}"
        assert np.count_nonzero(read.array == number) == voxels


def test_segments_drawn_by_a_person_are_manual(ct, tmp_path):
    volume, sources = ct
    path = tmp_path / "manual.dcm"
    labels = _labels(volume)
    labels[labels == 2] = 0
    write_segmentation(volume.with_voxels(labels), [Segment(1, "Drawn", "Lesion A")], sources, path)
    assert dciodvfy_errors(path, "Segmentation") == []
    description = hd.seg.segread(path).get_segment_description(1)
    assert description.algorithm_type.value == "MANUAL"


def test_bad_requests_are_refused(ct, tmp_path):
    volume, sources = ct
    labels = volume.with_voxels(_labels(volume))
    with pytest.raises(SegmentationError, match="no segment"):
        write_segmentation(labels, [Segment(1, "a", "a")], sources, tmp_path / "x.dcm")
    with pytest.raises(SegmentationError, match="distinct"):
        write_segmentation(
            labels, [Segment(1, "a", "a"), Segment(1, "b", "b")], sources, tmp_path / "x.dcm"
        )
    with pytest.raises(SegmentationError, match="source images"):
        write_segmentation(
            labels, [Segment(1, "a", "a"), Segment(2, "b", "b")], [], tmp_path / "x.dcm"
        )
