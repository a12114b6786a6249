"""rtserve: the rt scripting runtime server, installed under one name of its own.

The repository keeps the layout of DESIGN.md (`lang/`, `stdlib/`, `runtime/`); packaging maps
each folder below this package (`rtserve.lang`, `rtserve.stdlib`, `rtserve.runtime`), so an
install never puts generic top-level modules into site-packages. The native names below are
loaded on first use, so importing the compiler alone never loads the server.

The native API, for Python modules passed with `--native` or for embedding rt:

    from rtserve import App, Response

    def setup(app: App) -> None:
        @app.get("/health")
        def health(req):
            return Response(b"ok", content_type="text/plain")
"""
__all__ = ["App", "Request", "Response", "HTTPError"]


def __getattr__(name: str):
    # Lazily, so `import rtserve.lang` (the compiler alone) does not load the server.
    if name == "App":
        from .runtime.app import App
        return App
    if name == "Request":
        from .runtime.http.request import Request
        return Request
    if name in ("Response", "HTTPError"):
        from .runtime.http import response
        return getattr(response, name)
    raise AttributeError(f"module 'rtserve' has no attribute {name!r}")
