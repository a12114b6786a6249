// Peer: Node's own `http` module, one process.  node bench/peers/node_http.js PORT
"use strict";
const http = require("http");

function send(res, type, body) {
  res.writeHead(200, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function records(n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push({ id: i, name: `item-${i}`, even: i % 2 === 0 });
  return out;
}

const server = http.createServer((req, res) => {
  const q = req.url.indexOf("?");
  const path = q < 0 ? req.url : req.url.slice(0, q);
  if (path === "/plaintext") {
    send(res, "text/plain; charset=utf-8", "Hello, World!");
  } else if (path === "/json") {
    send(res, "application/json", JSON.stringify({ message: "Hello, World!" }));
  } else if (path.startsWith("/users/")) {
    send(res, "application/json", JSON.stringify({ id: path.slice(7) }));
  } else if (path === "/records") {
    const n = parseInt(new URLSearchParams(q < 0 ? "" : req.url.slice(q + 1)).get("n") ?? "10", 10);
    send(res, "application/json", JSON.stringify(records(n)));
  } else {
    res.writeHead(404, { "Content-Length": 0 });
    res.end();
  }
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2]), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${process.argv[2]}`);
});
