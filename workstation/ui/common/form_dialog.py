"""The one layout every small settings dialog uses: a form, notes, then OK and Cancel."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def note_label(text: str) -> QLabel:
    """A wrapped line of explanation under a form."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def lay_out_form_dialog(
    dialog: QDialog, form: QFormLayout, *below: QWidget, ok_text: str = ""
) -> QPushButton:
    """Put ``form``, then ``below`` (notes), then OK/Cancel into ``dialog``; the OK button."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
    if ok_text:
        ok_button.setText(ok_text)
    layout = QVBoxLayout(dialog)
    layout.addLayout(form)
    for widget in below:
        layout.addWidget(widget)
    layout.addWidget(buttons)
    return ok_button
