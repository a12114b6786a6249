"""`Response.headers` and `HTTPError.headers` are always a case-insensitive mapping
(docs/native.md), whatever the handler passed: a mapping, pairs, or nothing.

Strategy: a hypothesis model: a dict keyed by the lower-cased name, checked after every
operation against `Headers`; the spelling first set is the one kept for the wire.
"""
from hypothesis import given, strategies as st

from rtserve.runtime.http import wire
from rtserve.runtime.http.response import Headers, HTTPError, Response

NAMES = st.sampled_from(["X-A", "x-a", "X-B", "x-b", "Set-Cookie", "set-cookie"])
VALUES = st.text(alphabet="abc", min_size=1, max_size=3)
OPS = st.lists(st.tuples(st.sampled_from(["set", "del", "get", "in", "pop"]), NAMES, VALUES),
               max_size=30)


@given(OPS)
def test_headers_behave_like_a_dict_keyed_by_lower_case_names(ops):
    headers, model = Headers(), {}
    for op, name, value in ops:
        key = name.lower()
        if op == "set":
            headers[name] = value
            model[key] = value
        elif op == "del" and key in model:
            del headers[name]
            del model[key]
        elif op == "pop":
            assert headers.pop(name, None) == model.pop(key, None)
        elif op == "get":
            assert headers.get(name) == model.get(key)
        else:
            assert (name in headers) == (key in model)
        assert {k.lower(): v for k, v in headers.items()} == model
        assert len(headers) == len(model)


def test_pairs_with_a_repeated_name_collect_a_list_sent_as_several_lines():
    headers = Headers([("Set-Cookie", "a=1"), ("X-One", "1"), ("set-cookie", "b=2")])
    assert headers["SET-COOKIE"] == ["a=1", "b=2"] and list(headers) == ["Set-Cookie", "X-One"]
    assert wire.encode_headers(headers) == b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-One: 1\r\n"


def test_response_and_http_error_headers_are_always_mappings():
    for made in (Response("x"), Response("x", headers=[("A", "1")]), HTTPError(401, "no"),
                 HTTPError(401, "no", headers=[("WWW-Authenticate", "Bearer")])):
        made.headers["X-Added"] = "yes"  # what a native middleware does on any answer
        assert isinstance(made.headers, Headers) and made.headers["x-added"] == "yes"
