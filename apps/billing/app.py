"""billing: answers /ready and serves invoice totals; `app.py invoicer` runs the nightly invoicer."""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/ready":
            self.reply(200, {"status": "ready"})
        elif self.path == "/totals":
            self.reply(200, {"currency": os.environ.get("CURRENCY", "EUR"), "open": 0})
        else:
            self.reply(404, {"error": "not found"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def invoicer():
    while True:
        print(json.dumps({"msg": "invoicer pass", "ts": time.time()}), flush=True)
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1:] == ["invoicer"]:
        invoicer()
    HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
