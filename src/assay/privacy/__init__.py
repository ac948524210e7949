"""Security and privacy tests of models and data: membership inference (:mod:`assay.privacy.membership`), data
poisoning indicators (:mod:`assay.privacy.poisoning`) and anonymisation with its k-anonymity, l-diversity and
re-identification risk (:mod:`assay.privacy.anonymise`). Options in :mod:`assay.privacy.options`."""
