"""Session setup: rt's cache directory (parser tables, compiled route tables) is a fresh
temporary one, so a run starts cold as on CI and never writes into the user's own cache.
Servers the tests start inherit it through the environment."""
import os
import shutil
import tempfile

_made: list[str] = []


def pytest_configure(config):
    if "RT_CACHE_DIR" not in os.environ:
        directory = tempfile.mkdtemp(prefix="rt-test-cache-")
        os.environ["RT_CACHE_DIR"] = directory
        _made.append(directory)


def pytest_unconfigure(config):
    for directory in _made:
        shutil.rmtree(directory, ignore_errors=True)
