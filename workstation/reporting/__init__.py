"""Reports: from the AI findings a physician accepted to a signed PDF and its messages.

Headless (no Qt), shared by ``halong report`` and the viewer's report panel:

* :mod:`~workstation.reporting.package`: the whole path in four calls:
  ``draft_from_results`` -> (physician decides) -> ``sign_report`` -> ``write_package``;
* :mod:`~workstation.reporting.drafts`: autosaved drafts (``DraftStore``, ``DraftSession``);
* :mod:`~workstation.reporting.drafting`: templates -> first draft, ``prefill_conclusion``;
* :mod:`~workstation.reporting.pdf`: ``render_report_pdf`` (previews of drafts too);
* :mod:`~workstation.reporting.signing` / :mod:`~workstation.reporting.verification`:
  PAdES signing with a PKCS#12 file, and checking it;
* :mod:`~workstation.reporting.fhir_bundle`, :mod:`~workstation.reporting.hl7_oru`:
  the bytes the network layer (:mod:`workstation.net`) sends to the EMR.

The rules themselves (drafts vs final, accepted-findings gate, amendments) live in
:mod:`workstation.model.report`.
"""
