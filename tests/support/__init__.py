"""Helpers shared by the test modules. A test module never imports another test module (tests/test_layout.py
checks it): what two modules share lives here, and shared fixtures live in tests/conftest.py."""
