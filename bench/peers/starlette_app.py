"""Peer: starlette under uvicorn.  uvicorn --app-dir bench/peers starlette_app:app"""
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def plaintext(request):
    return PlainTextResponse("Hello, World!")


async def as_json(request):
    return JSONResponse({"message": "Hello, World!"})


async def user(request):
    return JSONResponse({"id": request.path_params["id"]})


async def records(request):
    n = int(request.query_params.get("n", "10"))
    return JSONResponse([{"id": i, "name": f"item-{i}", "even": i % 2 == 0} for i in range(n)])


app = Starlette(routes=[Route("/plaintext", plaintext), Route("/json", as_json),
                        Route("/users/{id}", user), Route("/records", records)])
