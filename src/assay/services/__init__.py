"""Use cases: what the CLI, the server and the Python API call. One service per job."""

from assay.services.assessments import AssessmentReport, assess, write_outputs

__all__ = ["AssessmentReport", "assess", "write_outputs"]
