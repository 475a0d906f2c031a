"""The perfusion capability (CT perfusion and MR DSC), Qt-free: what ``halong
perfusion``, the Perfusion panel and the report share.

* :mod:`~workstation.perfusion.inputs`: the 4D series and ADC map of a load, identity;
* :mod:`~workstation.perfusion.analysis`: the run and the re-triage with new clinical values;
* :mod:`~workstation.perfusion.outputs`: perfusion.json, NIfTI, summary.png, DICOM;
* :mod:`~workstation.perfusion.figures`: the summary and map pictures;
* :mod:`~workstation.perfusion.display`: what a viewer overlays and plots;
* :mod:`~workstation.perfusion.phantoms`: phantom studies written as a scanner would;
* :mod:`~workstation.perfusion.report_adapter`: perfusion results as report findings.
"""
