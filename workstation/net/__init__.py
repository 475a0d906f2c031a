"""Talking to the hospital: PACS (DIMSE, DICOMweb), EMR (FHIR REST, HL7 v2 over MLLP).

Everything that leaves Halong goes through the durable :mod:`~workstation.net.outbox`
and is delivered by :mod:`~workstation.net.delivery`, so nothing a physician made is
lost or sent twice; every transfer is written to the :mod:`~workstation.net.audit`
trail. Headless: no Qt here.
"""
