"""rt's side of the HTTP bench: the three bench routes as native handlers.

    rt serve --native bench/peers/rt_native.py --port PORT
"""
from rtserve import App


def setup(app: App) -> None:
    @app.get("/plaintext")
    def plaintext(req):
        return "Hello, World!"  # text/plain; charset=utf-8, like the peers' plain text

    @app.get("/json")
    def as_json(req):
        return {"message": "Hello, World!"}

    @app.get("/users/:id")
    def user(req):
        return {"id": req.params["id"]}

    @app.get("/records")
    def records(req):
        n = int(req.query.get("n", "10"))
        return [{"id": i, "name": f"item-{i}", "even": i % 2 == 0} for i in range(n)]
