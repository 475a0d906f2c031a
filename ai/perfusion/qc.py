"""Quality-control flags a reader must see before trusting the maps.

* ``motion``: the head moved more than ``motion_mm`` between frames (the frames
  were registered back, but large motion blurs the maps);
* ``truncated_acquisition``: the venous curve has not returned near baseline
  at the last frame, so the bolus passage was cut short (CBV and the
  partial-volume correction are unreliable);
* ``poor_bolus``: the arterial curve is low (CT below ``min_aif_peak_hu``) or
  barely above its baseline noise (peak below ``min_aif_snr`` x noise);
* ``aif_after_vof``: the arterial curve peaks no earlier than the venous one,
  which means one of them is the wrong vessel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ai.perfusion.arterial_input import VascularInput
from ai.perfusion.motion import MotionReport


@dataclass(frozen=True)
class QcSettings:
    motion_mm: float = 2.0
    min_aif_peak_hu: float = 100.0
    min_aif_snr: float = 10.0


@dataclass
class QcFlag:
    name: str
    raised: bool
    message: str
    value: float | None = None
    threshold: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "raised": self.raised,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
        }


@dataclass
class QcReport:
    flags: list[QcFlag]
    max_displacement_mm: float
    notes: list[str] = field(default_factory=list)

    @property
    def raised(self) -> list[QcFlag]:
        return [flag for flag in self.flags if flag.raised]

    def to_json(self) -> dict[str, object]:
        return {
            "flags": [flag.to_json() for flag in self.flags],
            "raised": [flag.name for flag in self.raised],
            "max_displacement_mm": round(self.max_displacement_mm, 2),
            "notes": list(self.notes),
        }


def quality_flags(
    motion: MotionReport,
    vascular: VascularInput,
    aif_baseline_noise: float,
    modality: str,
    settings: QcSettings | None = None,
) -> list[QcFlag]:
    """The four flags, raised or not, each with the value that decided it."""
    settings = settings or QcSettings()
    displacement = motion.max_displacement_mm
    flags = [
        QcFlag(
            "motion",
            displacement > settings.motion_mm,
            f"largest head displacement {displacement:.1f} mm"
            + (
                f", {len(motion.corrected_frames)} frames corrected"
                if motion.corrected_frames
                else ""
            ),
            round(displacement, 2),
            settings.motion_mm,
        )
    ]
    vof = vascular.vof
    if vof is None:
        flags.append(QcFlag("truncated_acquisition", False, "no venous curve to judge truncation"))
    else:
        last = float(vof.curve[-1]) / vof.peak if vof.peak > 0 else 1.0
        flags.append(
            QcFlag(
                "truncated_acquisition",
                not vascular.vof_complete,
                f"venous curve at {100 * last:.0f} % of its peak at the last frame",
                round(last, 3),
            )
        )
    aif = vascular.aif
    snr = aif.peak / aif_baseline_noise if aif_baseline_noise > 0 else float("inf")
    too_low = modality == "CT" and aif.peak < settings.min_aif_peak_hu
    unit = "HU" if modality == "CT" else "1/s"
    flags.append(
        QcFlag(
            "poor_bolus",
            too_low or snr < settings.min_aif_snr,
            f"arterial peak {aif.peak:.1f} {unit}, {min(snr, 999.0):.0f} x its baseline noise",
            round(aif.peak, 2),
            settings.min_aif_peak_hu if modality == "CT" else None,
        )
    )
    late = vof is not None and aif.time_to_peak_s >= vof.time_to_peak_s
    flags.append(
        QcFlag(
            "aif_after_vof",
            late,
            "no venous curve"
            if vof is None
            else f"arterial peak at {aif.time_to_peak_s:.1f} s, "
            f"venous peak at {vof.time_to_peak_s:.1f} s",
        )
    )
    return flags
