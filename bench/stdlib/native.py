"""The native twins of bench/stdlib/*.script: the same work with the same libraries, without
the script layer (`rt serve --native bench/stdlib/native.py`)."""
import hashlib
import hmac
import os
import time

import jwt
import re2
import urllib3

SECRET = b"0123456789abcdef0123456789abcdef"
BODY = ('{"event":"push","ref":"refs/heads/main","commits":[1,2,3],"pad":"' + "x" * 900 + '"}').encode()
PATTERN = re2.compile(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")
EMAIL = "someone.else+tag@example.co.uk"
TOKEN = jwt.encode({"sub": "bench", "role": "admin", "exp": int(time.time()) + 86400}, SECRET, algorithm="HS256")


def setup(app):
    @app.get("/native/hmac")
    def native_hmac(req):
        return hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()

    @app.get("/native/re")
    def native_re(req):
        return str(PATTERN.search(EMAIL) is not None).lower()

    @app.get("/native/jwt")
    def native_jwt(req):
        return jwt.decode(TOKEN, SECRET, algorithms=["HS256"], options={"require": ["exp"]})["sub"]

    upstream = os.environ.get("BENCH_UPSTREAM")
    if upstream:
        host_port = upstream.split("/")[2]
        host, port = host_port.split(":")
        pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=16, retries=False)

        @app.get("/native/fetch")
        def native_fetch(req):
            return pool.urlopen("GET", "/plaintext").data.decode()
