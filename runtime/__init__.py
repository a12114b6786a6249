"""rtserve.runtime: rt's HTTP front end, router, native handler API and CLI.

Embedding rt in a Python program:

    from rtserve import App, Response
    app = App()

    @app.get("/hello/:name")
    def hello(req):
        return f"hello {req.params['name']}"

    app.serve(port=8080)

The package itself imports nothing, so loading one part (say the HTTP core) never drags in
the others; `rtserve` re-exports the native names.
"""
