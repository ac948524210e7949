import assay


def test_public_api_is_pinned() -> None:
    assert assay.__all__ == sorted(assay.__all__)
    assert assay.__all__ == [
        "AssayError",
        "BiasReport",
        "Facet",
        "InvalidInput",
        "Label",
        "Workspace",
        "__version__",
        "assess",
        "capture",
        "open_data",
        "review",
        "write_outputs",
    ]
    for name in assay.__all__:
        assert hasattr(assay, name)


def test_importing_the_package_governance_or_cli_does_not_load_the_numeric_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, assay, assay.governance, assay.cli; "
        "print(sorted({'numpy', 'pandas', 'duckdb'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
