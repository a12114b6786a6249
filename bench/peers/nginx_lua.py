"""Peer: nginx with Lua (OpenResty's model: Debian's libnginx-mod-http-lua, lua-cjson).

    python bench/peers/nginx_lua.py PORT

Writes a configuration into a fresh temporary prefix and runs one nginx worker in the
foreground (`master_process off`, `daemon off`), error log to stderr, no access log; the
routes are Lua content handlers, /records building its tables and encoding them with cjson.
"""
import os
import sys
import tempfile

MODULES = "/usr/lib/nginx/modules"
CONF = """
load_module {modules}/ndk_http_module.so;
load_module {modules}/ngx_http_lua_module.so;
daemon off;
master_process off;
worker_processes 1;
error_log stderr warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    init_by_lua_block {{ cjson = require "cjson" }}
    server {{
        listen 127.0.0.1:{port} backlog=2048;
        location = /plaintext {{
            default_type "text/plain; charset=utf-8";
            content_by_lua_block {{ local b = "Hello, World!"; ngx.header["Content-Length"] = #b; ngx.print(b) }}
        }}
        location = /json {{
            default_type application/json;
            content_by_lua_block {{ local b = cjson.encode({{message = "Hello, World!"}}); ngx.header["Content-Length"] = #b; ngx.print(b) }}
        }}
        location /users/ {{
            default_type application/json;
            content_by_lua_block {{ local b = cjson.encode({{id = string.sub(ngx.var.uri, 8)}}); ngx.header["Content-Length"] = #b; ngx.print(b) }}
        }}
        location = /records {{
            default_type application/json;
            content_by_lua_block {{
                local n = tonumber(ngx.var.arg_n) or 10
                local out = {{}}
                for i = 0, n - 1 do
                    out[i + 1] = {{id = i, name = "item-" .. i, even = i % 2 == 0}}
                end
                local b = cjson.encode(out)
                ngx.header["Content-Length"] = #b
                ngx.print(b)
            }}
        }}
    }}
}}
"""


def main() -> None:
    port = int(sys.argv[1])
    prefix = tempfile.mkdtemp(prefix="rt-bench-nginx-")
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(CONF.format(modules=MODULES, prefix=prefix, port=port))
    os.execvp("nginx", ["nginx", "-p", prefix, "-c", path, "-e", "stderr"])


if __name__ == "__main__":
    main()
