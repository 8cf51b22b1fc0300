"""The AWS contract layer of the test bed: a proxy in front of moto that refuses what AWS refuses.

Every AWS request is read back into its parameters and checked against the service's official
API model (model.py) and against the server-side rules the models do not encode (rules.py). A
request that breaks one is answered the way AWS answers it (the service's error shape and code),
with the rule and its source appended to the message, and recorded in the violations log, which
scripts/test reads after the tests: a violation fails the run even where a caller swallowed the
error. Everything else goes to moto unchanged.

Requests carrying the header `x-paved-contract-probe` come from the layer's own tests, which send
bad requests on purpose; their violations are logged as probes and do not fail the run.

    python -m awscontract.proxy --port P --upstream http://127.0.0.1:M --log FILE
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from . import model, rules

PROBE_HEADER = "x-paved-contract-probe"


def _service_of(headers: dict) -> str | None:
    """The signing name from the SigV4 credential scope: Credential=AKID/date/region/service/aws4_request."""
    auth = headers.get("authorization", "")
    marker = "Credential="
    if marker not in auth:
        return None
    scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
    return scope[3] if len(scope) >= 5 else None


def _region_of(headers: dict) -> str:
    auth = headers.get("authorization", "")
    try:
        return auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")[2]
    except IndexError:
        return "us-east-1"


def _access_key_of(headers: dict) -> str:
    auth = headers.get("authorization", "")
    try:
        return auth.split("Credential=", 1)[1].split("/", 1)[0]
    except IndexError:
        return "testing"


def error_body(svc: model.Service, code: str, status: int, message: str) -> tuple[int, dict, bytes]:
    """An error in the shape the service's protocol uses, as the SDKs parse it."""
    request_id = str(uuid.uuid4())
    proto = svc.protocol
    if proto == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": code, "x-amzn-requestid": request_id}, body
    if proto == "rest-json":
        body = json.dumps({"message": message}).encode()
        return status, {"content-type": "application/json", "x-amzn-errortype": code, "x-amzn-requestid": request_id}, body
    # rest-xml and query alike; Route 53's InvalidChangeBatch too (an ErrorResponse in
    # https://github.com/boto/boto/issues/2887).
    ns = svc.xml_namespace()
    xml = f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{ns}"><Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>'
    return status, {"content-type": "text/xml", "x-amzn-requestid": request_id}, xml.encode()


class Layer:
    """The checks, shared by every connection."""

    def __init__(self, upstream: str, log_path: str | None):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.services = model.load_services()
        self.log_path = log_path
        self.log_lock = threading.Lock()
        # Checks that read moto's state and the forward that changes it run under one lock, so a
        # state rule sees what the request will change (Route53 batches, ECR manifests).
        self.state_lock = threading.Lock()

    def record(self, entry: dict):
        if not self.log_path:
            return
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def identify(self, method, path, query, headers, body):
        """(service, operation) of a request; service None when it is not AWS's (moto's own API)."""
        name = _service_of(headers)
        svc = self.services.get(name) if name else None
        if svc is None:
            return None, None
        return svc, svc.operation(method, path, query, headers, body)

    def check(self, svc, op, method, path, query, headers, body) -> list:
        """Every way the request breaks the model or a server-side rule."""
        if op is None:
            return [
                model.Violation(
                    rule=f"model:{svc.name}:unknown-operation",
                    message=f"{method} {path} is no operation of {svc.name}",
                    source=model.model_source(svc.name),
                    code="UnknownOperationException",
                    status=404,
                )
            ]
        try:
            params = model.parse(op, path, query, headers, body)
        except (model.ParseError, ValueError) as e:
            return [
                model.Violation(
                    rule=f"model:{svc.name}:{op.name}",
                    message=f"the request body cannot be read as {op.input_shape}: {e}",
                    source=model.model_source(svc.name),
                    code="SerializationException",
                )
            ]
        found = model.validate(op, params)
        if found:
            return found
        ctx = rules.Context(
            service=svc.name,
            operation=op.name,
            params=params,
            region=_region_of(headers),
            access_key=_access_key_of(headers),
            upstream=self.upstream.geturl(),
        )
        return rules.check(ctx)

    def forward(self, method, path_qs, headers, body):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        try:
            out_headers = {k: v for k, v in headers.items() if k not in ("connection", "transfer-encoding", PROBE_HEADER)}
            out_headers["content-length"] = str(len(body))
            conn.request(method, path_qs, body=body, headers=out_headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in ("connection", "transfer-encoding", "content-length")], data
        finally:
            conn.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    layer: Layer

    def log_message(self, fmt, *args):  # quiet: the violations log says what matters
        pass

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        body = self._body()
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        probe = PROBE_HEADER in headers
        svc, op = self.layer.identify(self.command, split.path, query, headers, body)
        if svc is None:
            self._reply(*self.layer.forward(self.command, self.path, headers, body))
            return
        # A rule that reads moto's state and the request that changes it run as one step.
        stateful = op is not None and rules.reads_state(svc.name, op.name)
        with self.layer.state_lock if stateful else contextlib.nullcontext():
            try:
                violations = self.layer.check(svc, op, self.command, split.path, query, headers, body)
            except Exception as e:  # a checker bug must be seen, never pass a request through
                violations = [model.Violation("layer:internal-error", f"the contract layer failed: {e!r}", "scripts/testbed/awscontract")]
            if not violations:
                self._reply(*self.layer.forward(self.command, self.path, headers, body))
                return
        for v in violations:
            self.layer.record({"probe": probe, "service": svc.name, "operation": op.name if op else None, "rule": v.rule, "conflict": v.conflict, "message": v.message, "source": v.source})
        first = violations[0]
        code = first.code or svc.validation_code()
        if first.rule.startswith("model:"):
            text = f"{len(violations)} validation error{'s' if len(violations) > 1 else ''} detected: " + "; ".join(v.message for v in violations)
        else:
            text = first.message
        text += f" [contract rule {first.rule}; source: {first.source}]"
        status, hdrs, data = error_body(svc, code, first.status, text)
        self._reply(status, list(hdrs.items()), data)

    def _reply(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log")
    args = ap.parse_args(argv)
    layer = Layer(args.upstream, args.log)
    Handler.layer = layer
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"contract layer on 127.0.0.1:{args.port} -> {args.upstream}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
