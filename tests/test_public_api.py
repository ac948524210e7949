import assay


def test_public_api_is_pinned() -> None:
    assert assay.__all__ == sorted(assay.__all__)
    assert assay.__all__ == [
        "AssayError",
        "AssessmentReport",
        "Facet",
        "InvalidInput",
        "Label",
        "__version__",
        "assess",
        "open_data",
        "write_outputs",
    ]
    for name in assay.__all__:
        assert hasattr(assay, name)
