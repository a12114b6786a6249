"""runtime: rt's HTTP front end, router, native handler API and CLI.

Embedding rt in a Python program:

    from runtime import App, Response
    app = App()

    @app.get("/hello/:name")
    def hello(req):
        return f"hello {req.params['name']}"

    app.serve(port=8080)
"""
from .app import App
from .request import Request
from .response import HTTPError, Response

__all__ = ["App", "Request", "Response", "HTTPError"]
