"""Perturbation robustness: realistic corruptions of a dataset's columns at stated severities
(:mod:`assay.robustness.corrupt`), options in :mod:`assay.robustness.options`. The suite that scores a model on the
corrupted rows and measures accuracy and the bias metrics per group is :mod:`assay.services.robustness` (it combines
this package with :mod:`assay.metrics`)."""
