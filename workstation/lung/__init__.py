"""The lung nodule capability, Qt-free: what ``halong lung``, the Lung nodules panel and
the report share.

* :mod:`~workstation.lung.analysis`: the run (settings, prior choice, the engine call);
* :mod:`~workstation.lung.outputs`: ``lung.json``, the nodule SEG and the TID 1500 SR;
* :mod:`~workstation.lung.review_journal`: the reader's unsaved decisions, on disk;
* :mod:`~workstation.lung.figures`: what a viewer draws (labels, growth points);
* :mod:`~workstation.lung.report_adapter`: lung results as report findings.
"""
