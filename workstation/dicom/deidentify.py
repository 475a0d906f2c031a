"""De-identified export for teaching and research (DICOM PS3.15 Annex E).

The Basic Application Level Confidentiality Profile with the Clean Descriptors
Option, applied at every level of nesting:

* each attribute of Table E.1-1 (``confidentiality_profile.txt``) gets its action:
  removed (X), emptied (Z), replaced by a dummy (D), or, for UIDs, replaced (U) by a
  new UID derived from the old one and a per-export secret, so references between
  the exported objects still match while nothing links them back to the originals;
* where the standard leaves a choice (X/Z, X/D, X/Z/D, Z/D) the least is kept:
  removed, or emptied for Z/D; references to other instances (X/Z/U*) are kept
  with their UIDs replaced, since SEG and SR need them;
* descriptors (series and study descriptions, comments, protocol names ...) are
  kept but cleaned of the patient's names, identifiers and dates (Clean
  Descriptors Option); private attributes, curves and overlays are removed;
* the patient gets a pseudonym (consistent within one export) as Patient ID and
  Name, and the object records Patient Identity Removed = YES with the method
  codes 113100 (Basic Profile) and 113105 (Clean Descriptors Option).

Images whose pixels carry burned-in text are refused: the profile cannot clean
pixels, so exporting them would not be de-identified.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from workstation.dicom.contributing_equipment import code_item

METHOD_CODES = (
    ("113100", "DCM", "Basic Application Confidentiality Profile"),
    ("113105", "DCM", "Clean Descriptors Option"),
)
METHOD_TEXT = ("DICOM PS3.15 E.1 Basic Profile", "Clean Descriptors Option")
_DUMMY_TEXT = "ANONYMOUS"
_DUMMY = {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "IS": "0", "DS": "0"}
_TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"}
_DATE_PATTERN = re.compile(r"\b(\d{8}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2})\b")


class DeidentificationError(Exception):
    """An object that cannot be de-identified by this profile (e.g. burned-in text)."""


@dataclass(frozen=True)
class Rule:
    action: str  # one of X Z D U K C, after resolving the standard's composite actions
    cleans: bool  # the Clean Descriptors Option cleans it instead


def _resolve(action: str) -> str:
    if action == "X/Z/U*":
        return "U*"
    if action == "Z/D":
        return "Z"
    return action.split("/")[0]  # X/Z, X/D, X/Z/D: remove


@cache
def profile() -> dict[int, Rule]:
    """Table E.1-1 as ``{tag: Rule}``."""
    text = (resources.files("workstation.dicom") / "confidentiality_profile.txt").read_text()
    rules = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            tag, action, *option = line.split()
            rules[int(tag, 16)] = Rule(_resolve(action), option == ["C"])
    return rules


def _masked_removal(tag: int) -> bool:
    """Private attributes, curves (50xx,xxxx), overlay data and comments (60xx,3000/4000)."""
    group, element = tag >> 16, tag & 0xFFFF
    if group % 2 == 1:
        return True
    if 0x5000 <= group <= 0x50FF:
        return True
    return 0x6000 <= group <= 0x60FF and element in (0x3000, 0x4000)


@dataclass
class Deidentifier:
    """One export: the same secret (hence the same new UIDs and pseudonyms) throughout."""

    secret: bytes = field(default_factory=lambda: os.urandom(32))

    def new_uid(self, uid: str) -> str:
        """The replacement of ``uid``: the same for every object of this export."""
        return generate_uid(entropy_srcs=[self.secret.hex(), str(uid)])

    def pseudonym(self, patient_id: str) -> str:
        digest = hashlib.sha256(self.secret + patient_id.encode("utf-8")).hexdigest()
        return f"ANON-{digest[:10].upper()}"

    def deidentify(self, dataset: Dataset) -> Dataset:
        """A de-identified copy of ``dataset`` (file meta included)."""
        if str(dataset.get("BurnedInAnnotation", "")).upper() == "YES":
            raise DeidentificationError(
                "the pixels carry burned-in text (Burned In Annotation = YES): "
                "not de-identifiable by the Basic Profile"
            )
        clean = copy.deepcopy(dataset)
        _ObjectPass(self, _identifying_strings(dataset)).process(clean)
        pseudonym = self.pseudonym(str(dataset.get("PatientID", "")))
        clean.PatientID = pseudonym
        clean.PatientName = pseudonym
        clean.PatientIdentityRemoved = "YES"
        clean.DeidentificationMethod = list(METHOD_TEXT)
        clean.DeidentificationMethodCodeSequence = Sequence([code_item(*c) for c in METHOD_CODES])
        if "MediaStorageSOPInstanceUID" in clean.get("file_meta", ()):
            meta = clean.file_meta
            meta.MediaStorageSOPInstanceUID = self.new_uid(meta.MediaStorageSOPInstanceUID)
        return clean


@dataclass
class _ObjectPass:
    """The profile applied to one object, nested sequences included."""

    deidentifier: Deidentifier
    identifiers: list[str]

    def process(self, dataset: Dataset) -> None:
        for element in list(dataset):
            tag = int(element.tag)
            if _masked_removal(tag):
                del dataset[element.tag]
                continue
            rule = profile().get(tag)
            if rule is None:
                if element.VR == "SQ":
                    self._recurse(element)
            elif rule.cleans:
                self._clean(dataset, element)
            else:
                self._apply(dataset, element, rule.action)

    def _recurse(self, element: DataElement) -> None:
        for item in element.value or ():
            self.process(item)

    def _apply(self, dataset: Dataset, element: DataElement, action: str) -> None:
        if action == "X":
            del dataset[element.tag]
        elif action == "Z":
            element.value = Sequence() if element.VR == "SQ" else None
        elif action == "D":
            self._dummy(element)
        elif element.VR == "SQ":  # U*: e.g. Source Image Sequence, its UIDs replaced
            self._recurse(element)
        elif element.value:  # U
            new = [self.deidentifier.new_uid(v) for v in _values(element)]
            element.value = new if element.VM > 1 else new[0]

    def _dummy(self, element: DataElement) -> None:
        if element.VR == "SQ":
            self._recurse(element)  # each item de-identified: no identifying content left
        elif element.VR == "UI":
            element.value = self.deidentifier.new_uid(element.value) if element.value else None
        elif element.VR in _DUMMY:
            element.value = _DUMMY[element.VR]
        elif element.VR in _TEXT_VRS:
            element.value = _DUMMY_TEXT
        else:
            element.value = None

    def _clean(self, dataset: Dataset, element: DataElement) -> None:
        """Clean Descriptors Option: keep the text, without names, identifiers or dates."""
        if element.VR == "SQ":
            self._recurse(element)
            return
        if element.VR not in _TEXT_VRS or element.value in (None, ""):
            return
        kept = [text for text in (self._cleaned(str(v)) for v in _values(element)) if text]
        if not kept:
            del dataset[element.tag]
        else:
            element.value = kept if len(kept) > 1 else kept[0]

    def _cleaned(self, text: str) -> str:
        for identifier in self.identifiers:  # longest first, then any date left
            whole_word = rf"(?<!\w){re.escape(identifier)}(?!\w)"
            text = re.sub(whole_word, " ", text, flags=re.IGNORECASE)
        return " ".join(_DATE_PATTERN.sub(" ", text).split())


def _values(element: DataElement) -> list:
    return list(element.value) if element.VM > 1 else [element.value]


def _identifying_strings(dataset: Dataset) -> list[str]:
    """Names, identifiers and dates of the patient and the people in the object."""
    keywords = (
        "PatientName",
        "PatientID",
        "OtherPatientIDs",
        "OtherPatientNames",
        "PatientBirthName",
        "PatientMotherBirthName",
        "PatientBirthDate",
        "AccessionNumber",
        "ReferringPhysicianName",
        "PerformingPhysicianName",
        "OperatorsName",
        "NameOfPhysiciansReadingStudy",
        "InstitutionName",
        "InstitutionAddress",
        "StationName",
        "StudyID",
        "IssuerOfPatientID",
    )
    found: set[str] = set()
    for keyword in keywords:
        value = dataset.get(keyword)
        if value is None or value == "":
            continue
        values = value if isinstance(value, list | pydicom.multival.MultiValue) else [value]
        for item in values:
            text = str(item)
            found.add(" ".join(text.replace("^", " ").split()))
            found.update(re.split(r"[\^ ,]+", text))
    # short numbers ("1", "77") name nobody and would eat measurements out of descriptions
    telling = (s for s in found if len(s) >= 3 and not (s.isdigit() and len(s) < 5))
    return sorted(telling, key=len, reverse=True)


def export_deidentified(
    paths: Iterable[str | Path], out_dir: str | Path, deidentifier: Deidentifier | None = None
) -> list[Path]:
    """De-identify every DICOM file in ``paths`` into ``out_dir``; return the new files.

    File names are the new SOP Instance UIDs, so nothing of the original path (which
    may hold a name or an ID) survives either.
    """
    deidentifier = deidentifier or Deidentifier()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        dataset = pydicom.dcmread(path)
        clean = deidentifier.deidentify(dataset)
        target = out_dir / f"{clean.SOPInstanceUID}.dcm"
        clean.save_as(target, enforce_file_format=True)
        written.append(target)
    return written
