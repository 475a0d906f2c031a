"""Reports: from the AI findings a physician accepted to a signed PDF and its messages.

Headless (no Qt), and knowing no capability: lung, perfusion and any later capability
plug in through their :mod:`~workstation.reporting.adapters` (entry points). Shared by
``halong report`` and the viewer's report panel:

* :mod:`~workstation.reporting.workflow`: the one workflow both skins call: start a draft,
  decide, preview, sign (with timestamping), amend;
* :mod:`~workstation.reporting.gate`: what is refused before anything is signed (two
  patients, a changed or malformed result, a physician who is not the signer);
* :mod:`~workstation.reporting.package`: the steps (draft from results, sign, write the
  package: PDF, DICOM SR/SEG/PDF, FHIR, HL7);
* :mod:`~workstation.reporting.results`, :mod:`~workstation.reporting.result_schema`:
  result folders as findings, and the schemas they must pass;
* :mod:`~workstation.reporting.drafts` / :mod:`~workstation.reporting.drafting`: autosaved
  drafts, templates -> first draft, ``prefill_conclusion``;
* :mod:`~workstation.reporting.pdf`, :mod:`~workstation.reporting.pdf_identity`,
  :mod:`~workstation.reporting.signing`, :mod:`~workstation.reporting.verification`: the
  PDF and the patient and study signed in it, PAdES signing, and checking both;
* :mod:`~workstation.reporting.fhir_bundle`, :mod:`~workstation.reporting.hl7_oru`,
  :mod:`~workstation.reporting.sending`: the bytes for the EMR, and sending a package.

The rules themselves (drafts vs final, accepted-findings gate, amendments, no empty
text) live in :mod:`workstation.model.report`.
"""

import warnings

# pyHanko imports cryptography's deprecated DSA key type at import time (Halong never
# signs with DSA): that one warning, on every start and signature, is noise for users.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"pyhanko(\.|$)")
