"""The study browser: patients, studies and series of the local database as a tree.

The database is read on a worker thread (the window stays responsive with
thousands of studies). A search box filters on patient name, patient ID, study
or series description and accession number; a combo box filters by modality.
Each series gets a thumbnail of its middle slice, read in the background once
and cached. Double-click or Enter opens a series (on a study: its largest series).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon, QImage, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from workstation.dicom.series_input import series_label
from workstation.model.dates import dicom_date
from workstation.model.progress import CancelToken, Progress
from workstation.model.records import SeriesRecord, StudyRecord
from workstation.ui.common.workers import JobRunner

COLUMNS = (
    "Patient / series",
    "Patient ID",
    "Birth date",
    "Sex",
    "Study date",
    "Description",
    "Accession",
    "Modality",
    "Series #",
    "Images",
)
(
    COL_NAME,
    COL_ID,
    COL_BIRTH,
    COL_SEX,
    COL_DATE,
    COL_DESCRIPTION,
    COL_ACCESSION,
    COL_MODALITY,
    COL_NUMBER,
    COL_IMAGES,
) = range(len(COLUMNS))

ROLE_KIND = Qt.ItemDataRole.UserRole + 1  # "patient", "study" or "series"
ROLE_UID = Qt.ItemDataRole.UserRole + 2  # study or series UID
ROLE_SEARCH = Qt.ItemDataRole.UserRole + 3  # lower-case text the search box matches
ROLE_MODALITY = Qt.ItemDataRole.UserRole + 4
ALL_MODALITIES = "All modalities"
THUMBNAIL_ICON = QSize(48, 48)
#: Above this many series, studies start collapsed.
EXPAND_STUDIES_UP_TO = 200


@dataclass(frozen=True)
class Listing:
    """What the database holds, read in one go on a worker thread."""

    studies: list[StudyRecord]
    series: list[SeriesRecord]


def read_listing(database_path: Path) -> Listing:
    """Every study and series in the database (an absent database is an empty one)."""
    if not database_path.exists():
        return Listing([], [])
    from workstation.dicom.database import Database

    with Database.open(database_path) as db:
        return Listing(db.studies(), db.series())


def series_files(database_path: Path, series_uid: str) -> list[str]:
    from workstation.dicom.database import Database

    with Database.open(database_path) as db:
        return [instance.path for instance in db.instances(series_uid)]


def to_qimage(pixels: np.ndarray) -> QImage:
    """An 8-bit greyscale QImage owning a copy of ``pixels``."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape
    return QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8).copy()


class StudyFilter(QSortFilterProxyModel):
    """Shows series that match the modality and, with their study or patient, the text.

    Patients and studies show when any of their series shows.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.modality = ""

    def set_filter(self, text: str, modality: str) -> None:
        self.beginFilterChange()
        self.text = text.strip().lower()
        self.modality = modality
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        kind = index.data(ROLE_KIND)
        if kind != "series":
            return any(self.filterAcceptsRow(row, index) for row in range(model.rowCount(index)))
        if self.modality and index.data(ROLE_MODALITY) != self.modality:
            return False
        if not self.text:
            return True
        study = index.parent()
        searched = (index, study, study.parent())
        return any(self.text in (item.data(ROLE_SEARCH) or "") for item in searched)


class StudyBrowser(QWidget):
    """The patient → study → series tree over the database at ``database_path``."""

    #: (series UID, label) when the user opens a series.
    series_activated = Signal(str, str)
    #: After each refresh, with the number of studies listed.
    refreshed = Signal(int)
    #: A refresh failed; the message is for the user.
    refresh_failed = Signal(str)

    def __init__(self, database_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.database_path = database_path
        self.jobs = JobRunner(self, max_threads=1)
        self.thumbnail_jobs = JobRunner(self, max_threads=1)
        self.thumbnails: dict[str, QImage] = {}
        self._thumbnail_items: dict[str, QPersistentModelIndex] = {}
        self._studies: dict[str, StudyRecord] = {}
        self._series: dict[str, SeriesRecord] = {}
        self._refresh_job = None

        self.search = QLineEdit(placeholderText="Search name, ID, description, accession")
        self.search.setClearButtonEnabled(True)
        self.modality = QComboBox()
        self.modality.addItem(ALL_MODALITIES)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.proxy = StudyFilter(self)
        self.proxy.setSourceModel(self.model)
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setIconSize(THUMBNAIL_ICON)
        self.tree.setUniformRowHeights(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setSortingEnabled(False)
        self.empty_hint = QLabel(
            "No studies yet. Import files or a folder (File menu), or drop them on the window."
        )
        self.empty_hint.setWordWrap(True)

        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.modality)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.tree, 1)

        self.search.textChanged.connect(self._apply_filter)
        self.modality.currentTextChanged.connect(self._apply_filter)
        self.tree.activated.connect(self._on_activated)

    # --- reading the database ----------------------------------------------------

    def refresh(self) -> None:
        """Re-read the database in the background; the tree updates when it is read."""
        if self._refresh_job is not None and not self._refresh_job.done:
            self._refresh_job.cancel()

        database_path = self.database_path

        def read(progress: Progress, cancel: CancelToken) -> Listing:
            return read_listing(database_path)

        self._refresh_job = self.jobs.submit(
            "read the study list", read, on_result=self._show, on_error=self._refresh_failed
        )

    def _refresh_failed(self, message: str) -> None:
        self.refresh_failed.emit(message)

    def _show(self, listing: Listing) -> None:
        selected = self.selected_series_uid()
        self._studies = {study.study_uid: study for study in listing.studies}
        self._series = {series.series_uid: series for series in listing.series}
        self.model.removeRows(0, self.model.rowCount())
        self._thumbnail_items.clear()
        by_study: dict[str, list[SeriesRecord]] = {}
        for series in listing.series:
            by_study.setdefault(series.study_uid, []).append(series)
        patients: dict[tuple[str, str], QStandardItem] = {}
        for study in listing.studies:
            key = (study.patient_id, study.patient_name)
            if key not in patients:
                patients[key] = self._add_patient(study)
            study_item = self._add_study(patients[key], study)
            for series in by_study.get(study.study_uid, []):
                self._add_series(study_item, study, series)
        self._update_modalities(listing.series)
        self._expand(len(listing.series))
        self.empty_hint.setVisible(not listing.studies)
        if selected:
            self.select_series(selected)
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
        self.refreshed.emit(len(listing.studies))

    def _row(self, kind: str, uid: str, search: str, cells: dict[int, object]) -> list:
        items = []
        for column in range(len(COLUMNS)):
            value = cells.get(column, "")
            item = QStandardItem("" if value is None else str(value))
            item.setEditable(False)
            items.append(item)
        items[0].setData(kind, ROLE_KIND)
        items[0].setData(uid, ROLE_UID)
        items[0].setData(search.lower(), ROLE_SEARCH)
        return items

    def _add_patient(self, study: StudyRecord) -> QStandardItem:
        name = study.patient_name.replace("^", " ").strip() or "(no name)"
        row = self._row(
            "patient",
            study.patient_id,
            f"{study.patient_name} {name} {study.patient_id}",
            {
                COL_NAME: name,
                COL_ID: study.patient_id,
                COL_BIRTH: dicom_date(study.patient_birth_date),
                COL_SEX: study.patient_sex,
            },
        )
        self.model.appendRow(row)
        return row[0]

    def _add_study(self, patient: QStandardItem, study: StudyRecord) -> QStandardItem:
        row = self._row(
            "study",
            study.study_uid,
            f"{study.study_description} {study.accession_number}",
            {
                COL_NAME: study.study_description or "Study",
                COL_DATE: dicom_date(study.study_date),
                COL_DESCRIPTION: study.study_description,
                COL_ACCESSION: study.accession_number,
                COL_MODALITY: ", ".join(study.modalities),
                COL_NUMBER: study.series_count,
                COL_IMAGES: study.instance_count,
            },
        )
        patient.appendRow(row)
        return row[0]

    def _add_series(self, study_item: QStandardItem, study: StudyRecord, series: SeriesRecord):
        number = "" if series.series_number is None else series.series_number
        row = self._row(
            "series",
            series.series_uid,
            series.series_description,
            {
                COL_NAME: series.series_description or f"Series {number}",
                COL_DESCRIPTION: series.series_description,
                COL_MODALITY: series.modality,
                COL_NUMBER: number,
                COL_IMAGES: series.instance_count,
            },
        )
        row[0].setData(series.modality, ROLE_MODALITY)
        row[0].setToolTip(
            f"{series.columns}x{series.rows}, {series.instance_count} images\n{series.series_uid}"
        )
        study_item.appendRow(row)
        self._thumbnail_items[series.series_uid] = QPersistentModelIndex(row[0].index())
        if series.series_uid in self.thumbnails:
            row[0].setIcon(QIcon(QPixmap.fromImage(self.thumbnails[series.series_uid])))
        else:
            self._request_thumbnail(series.series_uid)

    def _update_modalities(self, series: list[SeriesRecord]) -> None:
        current = self.modality.currentText()
        modalities = sorted({s.modality for s in series if s.modality})
        self.modality.blockSignals(True)
        self.modality.clear()
        self.modality.addItems([ALL_MODALITIES, *modalities])
        self.modality.setCurrentText(current if current in modalities else ALL_MODALITIES)
        self.modality.blockSignals(False)
        self._apply_filter()

    def _expand(self, series_count: int) -> None:
        for row in range(self.proxy.rowCount()):
            patient = self.proxy.index(row, 0)
            self.tree.expand(patient)
            if series_count <= EXPAND_STUDIES_UP_TO:
                for study_row in range(self.proxy.rowCount(patient)):
                    self.tree.expand(self.proxy.index(study_row, 0, patient))

    # --- thumbnails --------------------------------------------------------------

    def _request_thumbnail(self, series_uid: str) -> None:
        if self.thumbnail_jobs.closed:  # a refresh answered after the window closed
            return
        database_path = self.database_path

        def make(progress: Progress, cancel: CancelToken) -> tuple[str, np.ndarray]:
            from workstation.ui.browser.thumbnails import series_thumbnail

            cancel.raise_if_cancelled()
            return series_uid, series_thumbnail(series_files(database_path, series_uid))

        self.thumbnail_jobs.submit(f"thumbnail of {series_uid}", make, on_result=self._set_icon)

    def _set_icon(self, result: tuple[str, np.ndarray]) -> None:
        series_uid, pixels = result
        image = to_qimage(pixels)
        self.thumbnails[series_uid] = image
        index = self._thumbnail_items.get(series_uid)
        if index is not None and index.isValid():
            self.model.setData(
                self.model.index(index.row(), 0, index.parent()),
                QIcon(QPixmap.fromImage(image)),
                Qt.ItemDataRole.DecorationRole,
            )

    # --- filtering, selection, opening -----------------------------------------

    def _apply_filter(self) -> None:
        modality = self.modality.currentText()
        self.proxy.set_filter(self.search.text(), "" if modality == ALL_MODALITIES else modality)
        if self.search.text():
            self.tree.expandAll()

    def visible_series(self) -> list[str]:
        """UIDs of the series the filters let through, in tree order."""
        found = []

        def walk(parent: QModelIndex) -> None:
            for row in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(row, 0, parent)
                if index.data(ROLE_KIND) == "series":
                    found.append(index.data(ROLE_UID))
                walk(index)

        walk(QModelIndex())
        return found

    def selected_series_uid(self) -> str | None:
        """The selected series; for a selected study, its largest series."""
        index = self.tree.currentIndex()
        return self._series_at(index) if index.isValid() else None

    def select_series(self, series_uid: str) -> bool:
        """Make ``series_uid`` the current row, if it is listed and not filtered out."""
        source = self._thumbnail_items.get(series_uid)
        if source is None or not source.isValid():
            return False
        index = self.proxy.mapFromSource(self.model.index(source.row(), 0, source.parent()))
        if not index.isValid():
            return False
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def label_of(self, series_uid: str) -> str:
        series = self._series.get(series_uid)
        if series is None:
            return series_uid
        return series_label(self._studies.get(series.study_uid), series)

    def _series_at(self, index: QModelIndex) -> str | None:
        index = index.siblingAtColumn(0)
        kind = index.data(ROLE_KIND)
        if kind == "series":
            return index.data(ROLE_UID)
        if kind == "study":
            candidates = [
                self._series[index.model().index(row, 0, index).data(ROLE_UID)]
                for row in range(index.model().rowCount(index))
            ]
            if candidates:
                return max(candidates, key=lambda s: s.instance_count).series_uid
        return None

    def _on_activated(self, index: QModelIndex) -> None:
        series_uid = self._series_at(index)
        if series_uid is not None:
            self.series_activated.emit(series_uid, self.label_of(series_uid))

    def activate_selected(self) -> bool:
        """Open the selected series (the File menu's "Open Selected Series")."""
        series_uid = self.selected_series_uid()
        if series_uid is None:
            return False
        self.series_activated.emit(series_uid, self.label_of(series_uid))
        return True

    def shutdown(self) -> bool:
        """Stop the background reads; True when every thread has ended."""
        ended = self.jobs.shutdown()
        return self.thumbnail_jobs.shutdown() and ended
