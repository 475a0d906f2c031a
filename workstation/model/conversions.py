"""Volume <-> SimpleITK image <-> vtkImageData <-> NIfTI, in one place.

Every conversion keeps world geometry in LPS millimetres. NIfTI stores RAS, so
its affine is the LPS affine with the first two rows negated. SimpleITK and
vtk are imported inside the functions that need them: the model stays cheap to
import, and vtk is only loaded by callers that display images (this is the one
module of ``workstation.model`` allowed to touch vtk; see ``.importlinter``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workstation.model.volume import Provenance, Volume

if TYPE_CHECKING:
    import SimpleITK
    from vtkmodules.vtkCommonDataModel import vtkImageData

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

_TIME_UNIT_SECONDS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}


# --- SimpleITK -----------------------------------------------------------------


def to_sitk(volume: Volume, frame: int | None = None) -> SimpleITK.Image:
    """A SimpleITK image of a 3D volume, or of one frame of a 4D volume."""
    import SimpleITK as sitk

    voxels = volume.voxels
    if volume.is_4d:
        if frame is None:
            raise ValueError("choose a frame to convert a 4D volume to SimpleITK")
        voxels = voxels[frame]
    image = sitk.GetImageFromArray(np.ascontiguousarray(voxels))
    image.SetSpacing(volume.spacing)
    image.SetOrigin(volume.origin)
    image.SetDirection(tuple(volume.direction.ravel()))
    return image


def from_sitk(image: SimpleITK.Image, modality: str = "OT") -> Volume:
    """A Volume from a 3D SimpleITK image (LPS, as ITK uses)."""
    import SimpleITK as sitk

    if image.GetDimension() != 3:
        raise ValueError(f"expected a 3D SimpleITK image, got {image.GetDimension()}D")
    return Volume(
        voxels=sitk.GetArrayFromImage(image),
        spacing=image.GetSpacing(),
        origin=image.GetOrigin(),
        direction=np.array(image.GetDirection()).reshape(3, 3),
        modality=modality,
    )


# --- VTK -----------------------------------------------------------------------


def to_vtk(volume: Volume, frame: int = 0) -> vtkImageData:
    """A vtkImageData (with direction matrix) sharing no memory with the volume."""
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonDataModel import vtkImageData

    voxels = volume.voxels[frame] if volume.is_4d else volume.voxels
    nz, ny, nx = voxels.shape
    image = vtkImageData()
    image.SetDimensions(nx, ny, nz)
    image.SetSpacing(volume.spacing)
    image.SetOrigin(volume.origin)
    image.SetDirectionMatrix(tuple(volume.direction.ravel()))
    scalars = numpy_support.numpy_to_vtk(np.ascontiguousarray(voxels).ravel(), deep=True)
    scalars.SetName("voxels")
    image.GetPointData().SetScalars(scalars)
    return image


def from_vtk(image: vtkImageData, modality: str = "OT") -> Volume:
    """A Volume from a vtkImageData, keeping its direction matrix."""
    from vtkmodules.util import numpy_support

    nx, ny, nz = image.GetDimensions()
    flat = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    matrix = image.GetDirectionMatrix()
    direction = np.array([[matrix.GetElement(r, c) for c in range(3)] for r in range(3)])
    return Volume(
        voxels=flat.reshape(nz, ny, nx).copy(),
        spacing=image.GetSpacing(),
        origin=image.GetOrigin(),
        direction=direction,
        modality=modality,
    )


# --- NIfTI ---------------------------------------------------------------------


def nifti_affine(volume: Volume) -> np.ndarray:
    """The RAS affine NIfTI expects for this volume's (x, y, z) voxel axes."""
    return LPS_TO_RAS @ volume.affine_lps()


def to_nifti(volume: Volume):
    """A nibabel Nifti1Image; 4D volumes carry their mean frame interval in seconds."""
    import nibabel as nib

    data = np.asarray(volume.voxels)
    # numpy [z, y, x] / [t, z, y, x] -> NIfTI [x, y, z] / [x, y, z, t]
    data = data.transpose(2, 1, 0) if data.ndim == 3 else data.transpose(3, 2, 1, 0)
    image = nib.Nifti1Image(np.asarray(data), nifti_affine(volume))
    image.header.set_xyzt_units(xyz="mm", t="sec")
    if volume.is_4d:
        zooms = (
            *volume.spacing,
            float(np.mean(np.diff(volume.frame_times))) if len(volume.frame_times) > 1 else 1.0,
        )
        image.header.set_zooms(zooms)
    image.set_qform(nifti_affine(volume), code=1)
    image.set_sform(nifti_affine(volume), code=1)
    return image


def save_nifti(volume: Volume, path: str | Path) -> Path:
    """Write ``volume`` as .nii or .nii.gz with a correct RAS affine."""
    import nibabel as nib

    path = Path(path)
    nib.save(to_nifti(volume), str(path))
    return path


def load_nifti(
    path: str | Path, frame_interval_s: float | None = None, modality: str = "OT"
) -> Volume:
    """Read a 3D or 4D NIfTI into LPS geometry.

    ``frame_interval_s`` overrides the file's time step, which many tools leave
    at 0 or 1 with no unit.
    """
    import nibabel as nib

    image = nib.load(str(path))
    if image.ndim not in (3, 4):
        raise ValueError(f"{path}: NIfTI with {image.ndim} dimensions is not an image volume")
    affine_lps = LPS_TO_RAS @ image.affine
    linear = affine_lps[:3, :3]
    spacing = np.linalg.norm(linear, axis=0)
    if np.any(spacing <= 0):
        raise ValueError(f"{path}: NIfTI affine has a zero-length axis")
    data = np.asanyarray(image.dataobj)
    frame_times = None
    if data.ndim == 4:
        data = data.transpose(3, 2, 1, 0)
        if frame_interval_s is None:
            unit = image.header.get_xyzt_units()[1]
            step = float(image.header.get_zooms()[3]) * _TIME_UNIT_SECONDS.get(unit, 1.0)
            if step <= 0:
                raise ValueError(
                    f"{path}: the NIfTI has no time step; give the frame interval (--dt)"
                )
            frame_interval_s = step
        frame_times = np.arange(data.shape[0]) * frame_interval_s
    else:
        data = data.transpose(2, 1, 0)
    return Volume(
        voxels=np.ascontiguousarray(data),
        spacing=tuple(spacing),
        origin=tuple(affine_lps[:3, 3]),
        direction=linear / spacing[None, :],
        modality=modality,
        frame_times=frame_times,
        provenance=Provenance(source=str(path)),
    )
