"""Fixtures of the import's tests."""

import pytest


@pytest.fixture(params=["here", "reader-process"])
def reader(request, monkeypatch):
    """Parsed in this process, or (on Linux) as a big file is: in a forked reader while this
    process writes, new phone numbers shared with a helper. Same results."""
    if request.param == "reader-process":
        from loyalty_cli.importing import phones as import_phones
        from loyalty_cli.importing import reader as import_reader
        from loyalty_cli.importing import sources as import_formats

        if not import_reader.can_fork():
            pytest.skip("no fork here: the reader process is never used")
        monkeypatch.setattr(import_reader, "FORK_FROM_LINES", 0)
        monkeypatch.setattr(import_phones, "FORK_FROM", 1)
        monkeypatch.setattr(import_formats, "CHUNK", 64)  # many batches, written as they come
    return request.param
