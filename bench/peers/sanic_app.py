"""Peer: sanic, one process.  python bench/peers/sanic_app.py PORT"""
import sys

from sanic import Sanic
from sanic.response import json, text

app = Sanic("bench")


@app.get("/plaintext")
async def plaintext(request):
    return text("Hello, World!")


@app.get("/json")
async def as_json(request):
    return json({"message": "Hello, World!"})


@app.get("/users/<id>")
async def user(request, id):
    return json({"id": id})


@app.get("/records")
async def records(request):
    n = int(request.args.get("n", "10"))
    return json([{"id": i, "name": f"item-{i}", "even": i % 2 == 0} for i in range(n)])


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), single_process=True, access_log=False,
            debug=False, motd=False)
