"""The suite runs on a fresh clone anywhere: no test reads ../shared (the data it needs lives
in tests/data), and while ../shared is present the copies in tests/data are still equal to it."""
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED = ROOT.parent / "shared"

# What reaching outside the clone looks like: ../shared, ROOT.parent, parents[2] and beyond.
_OUTSIDE = re.compile(r"\.\./shared|ROOT\.parent\b|parents\[[2-9]\]|parent\.parent\.parent")


SOURCES = [p for p in sorted(TESTS.glob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
           if p.name != Path(__file__).name]  # this file alone compares with the original


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_test_or_benchmark_reads_outside_the_clone(path):
    text = path.read_text()
    assert not _OUTSIDE.search(text), f"{path.name} reads outside the repository"


@pytest.mark.parametrize("folder, pattern", [("conformance", "*.script"), ("routes", "*.txt")])
def test_copies_match_the_shared_folder_when_it_is_there(folder, pattern):
    copies = {p.name: p.read_bytes() for p in (TESTS / "data" / folder).glob(pattern)}
    assert copies, f"tests/data/{folder} is empty"
    if not (SHARED / folder).is_dir():
        pytest.skip(f"{SHARED / folder} is not here to compare with (a fresh clone)")
    originals = {p.name: p.read_bytes() for p in (SHARED / folder).glob(pattern)}
    assert copies == originals, f"tests/data/{folder} differs from {SHARED / folder}: copy it again"
