"""DICOM dates as people read them (the CLI tables and the study browser show the same)."""

from __future__ import annotations


def dicom_date(value: str) -> str:
    """``20240131`` as ``2024-01-31``; anything else unchanged."""
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value
