"""A small, strict parser of Prometheus text exposition format 0.0.4, for the admin tests.

Strategy: read line by line; `# HELP` and `# TYPE` lines must come before a metric family's
samples (TYPE once per family); a sample is `name{label="value",...} number`, label values
unescaped (backslash, double quote, `\\n`) as the format says. Anything else fails with the
offending line, so a malformed exposition cannot pass a test. Histogram samples (`_bucket`,
`_sum`, `_count`) belong to their family's declared name.
"""
from __future__ import annotations

import math
import re

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _labels(text: str, pos: int, line: str) -> tuple[dict, int]:
    """Parse `{a="x",b="y"}` from text[pos] == "{"; the labels and the position after `}`."""
    labels: dict[str, str] = {}
    pos += 1
    while text[pos] != "}":
        m = _LABEL.match(text, pos)
        assert m, f"bad label name in {line!r}"
        name, pos = m.group(), m.end()
        assert text[pos:pos + 2] == '="', f"bad label in {line!r}"
        pos += 2
        value = []
        while text[pos] != '"':
            if text[pos] == "\\":
                escaped = text[pos + 1]
                assert escaped in '\\"n', f"bad escape in {line!r}"
                value.append("\n" if escaped == "n" else escaped)
                pos += 2
            else:
                value.append(text[pos])
                pos += 1
        pos += 1
        assert name not in labels, f"label {name} twice in {line!r}"
        labels[name] = "".join(value)
        if text[pos] == ",":
            pos += 1
    return labels, pos + 1


def _family(name: str, types: dict) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
            return name[:-len(suffix)]
    return name


def parse(text: str) -> tuple[dict, dict]:
    """({(sample name, frozenset of label pairs): value}, {family: type})."""
    assert text.endswith("\n"), "the exposition must end with a line feed"
    samples: dict = {}
    types: dict[str, str] = {}
    helped: set[str] = set()
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert _NAME.fullmatch(name) and name not in helped, line
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert _NAME.fullmatch(name) and kind in _TYPES and name not in types, line
            types[name] = kind
            continue
        assert line and not line.startswith("#"), f"unexpected line {line!r}"
        m = _NAME.match(line)
        assert m, f"bad sample {line!r}"
        name, pos = m.group(), m.end()
        labels: dict = {}
        if line[pos] == "{":
            labels, pos = _labels(line, pos, line)
        assert line[pos] == " ", f"bad sample {line!r}"
        value = float(line[pos + 1:])
        assert not math.isnan(value), line
        family = _family(name, types)
        assert family in types, f"sample before its # TYPE: {line!r}"
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"sample twice: {line!r}"
        samples[key] = value
    return samples, types


def value(samples: dict, name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: dict, name: str) -> list[tuple[dict, float]]:
    """Every sample of `name`, as (labels, value)."""
    return [(dict(labels), v) for (n, labels), v in samples.items() if n == name]
