"""Report templates and the words reports are written in, as data in ``resources/templates``.

A template (``<template_id>.<language>.json``) gives a report its title, the LOINC code
of each exam it covers, the default indication and technique text, and the ICD-10
codes to suggest; ``labels.<language>.json`` holds every heading and phrase the
outputs print. Hospitals translate or adapt them without touching code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from workstation.model.report import Icd10Code

LANGUAGES = ("vi", "en")


class TemplateError(Exception):
    """A template or label file is missing or malformed."""


@dataclass(frozen=True)
class ExamCode:
    code: str  # LOINC
    display: str


@dataclass(frozen=True)
class ReportTemplate:
    template_id: str
    language: str
    title: str
    result_kinds: tuple[str, ...]
    exams: dict[str, ExamCode]  # by modality
    indication: str
    technique: str
    findings_text: str
    impression_without_findings: str
    recommendations: str
    icd10_with_findings: tuple[Icd10Code, ...]
    icd10_without_findings: tuple[Icd10Code, ...]
    icd10_suggestions: tuple[Icd10Code, ...]

    def exam(self, modality: str) -> ExamCode:
        """The exam code for ``modality``, or the template's first one."""
        return self.exams.get(modality) or next(iter(self.exams.values()))


class Labels(dict[str, Any]):
    """Headings and phrases of one language; ``labels.text(key, **values)`` formats one."""

    def text(self, key: str, **values: object) -> str:
        return str(self[key]).format(**values)

    def measurement(self, key: str) -> str:
        return self["measurements"].get(key, key)


def _read(name: str) -> dict[str, Any]:
    path = resources.files("resources") / "templates" / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as missing:
        raise TemplateError(f"no report template file {name}") from missing
    except ValueError as bad:
        raise TemplateError(f"report template file {name} is not valid JSON: {bad}") from bad


def _codes(items: list[dict[str, str]]) -> tuple[Icd10Code, ...]:
    return tuple(Icd10Code(item["code"], item["display"]) for item in items)


@cache
def load_template(template_id: str, language: str) -> ReportTemplate:
    data = _read(f"{template_id}.{language}.json")
    try:
        return ReportTemplate(
            template_id=data["template_id"],
            language=data["language"],
            title=data["title"],
            result_kinds=tuple(data["result_kinds"]),
            exams={m: ExamCode(e["code"], e["display"]) for m, e in data["exams"].items()},
            indication=data["indication"],
            technique=data["technique"],
            findings_text=data["findings_text"],
            impression_without_findings=data["impression_without_findings"],
            recommendations=data["recommendations"],
            icd10_with_findings=_codes(data["icd10_with_findings"]),
            icd10_without_findings=_codes(data["icd10_without_findings"]),
            icd10_suggestions=_codes(data["icd10_suggestions"]),
        )
    except (KeyError, ValueError) as bad:
        raise TemplateError(f"report template {template_id}.{language}: {bad}") from bad


def template_ids() -> list[str]:
    """Every template shipped, by id (``chest-ct-nodules``, ``perfusion-ct-mr``, ...)."""
    folder = resources.files("resources") / "templates"
    names = (entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))
    return sorted({name.split(".")[0] for name in names if not name.startswith("labels.")})


@cache
def load_labels(language: str) -> Labels:
    return Labels(_read(f"labels.{language}.json"))


def template_for(result_kind: str, language: str) -> ReportTemplate:
    """The template that reports results of ``result_kind`` (``lung`` or ``perfusion``)."""
    for template_id in template_ids():
        template = load_template(template_id, language)
        if result_kind in template.result_kinds:
            return template
    raise TemplateError(f"no report template for {result_kind} results")
