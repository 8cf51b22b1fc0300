"""AWS requests read back into the parameters they carry, and checked against the service's
official API model (botocore's service-2.json: required members, enums, lengths, ranges,
patterns).

A request is parsed the way the service's protocol serialized it (json, rest-json, rest-xml,
query), directed by the operation's input shape, so what is checked is what AWS would see.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import botocore
import regex

DATA = os.path.join(os.path.dirname(botocore.__file__), "data")

# The services paved (and its tests) talk to, by the signing name in the SigV4 credential scope.
SERVICES = ("ecr", "eks", "route53", "autoscaling", "sts", "ec2", "iam")


def model_source(service: str) -> str:
    """Where a service's model comes from, for violation messages and docs."""
    return f"botocore {botocore.__version__} data/{service}/*/service-2.json"


def _load(service: str) -> dict:
    base = os.path.join(DATA, service)
    version = sorted(os.listdir(base))[-1]
    path = os.path.join(base, version, "service-2.json")
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz") as f:
            return json.load(f)
    with open(path) as f:
        return json.load(f)


# Java regular expressions in the models that Python's `regex` spells differently.
_JAVA_PATTERN_FIXES = (
    (r"\uD800\uDC00-\uDBFF\uDFFF", "\U00010000-\U0010ffff"),
    (r"\u10000-\u10FFFF", "\U00010000-\U0010ffff"),
)


def _compile_pattern(pattern: str):
    for java, python in _JAVA_PATTERN_FIXES:
        pattern = pattern.replace(java, python)
    # Smithy's pattern trait is not implicitly anchored: a match anywhere counts.
    return regex.compile(pattern)


@dataclass
class Violation:
    """A request AWS would refuse: which rule, what it says, and where the rule comes from."""

    rule: str
    message: str
    source: str
    # The error AWS answers with (code, HTTP status); None means the service's validation error.
    code: str | None = None
    status: int = 400
    # A refusal a correct client may meet and handle (see rules.Rule.conflict).
    conflict: bool = False


@dataclass
class Operation:
    service: "Service"
    name: str
    spec: dict

    @property
    def input_shape(self) -> str | None:
        return self.spec.get("input", {}).get("shape")


@dataclass
class Service:
    name: str
    model: dict
    patterns: dict = field(default_factory=dict)
    # Patterns the regex engine could not compile: reported, never silently dropped.
    unchecked_patterns: list = field(default_factory=list)

    @property
    def protocol(self) -> str:
        return self.model["metadata"]["protocol"]

    @property
    def signing_name(self) -> str:
        meta = self.model["metadata"]
        return meta.get("signingName") or meta["endpointPrefix"]

    def shape(self, name: str) -> dict:
        return self.model["shapes"][name]

    def pattern(self, text: str):
        if text not in self.patterns:
            try:
                self.patterns[text] = _compile_pattern(text)
            except regex.error:
                self.patterns[text] = None
                self.unchecked_patterns.append(text)
        return self.patterns[text]

    def xml_namespace(self) -> str:
        meta = self.model["metadata"]
        ns = meta.get("xmlNamespace")
        if isinstance(ns, dict):
            ns = ns.get("uri")
        if not ns:
            # rest-xml services name theirs on each operation's input (Route53's are all alike).
            for op in self.model["operations"].values():
                ns = op.get("input", {}).get("xmlNamespace", {}).get("uri")
                if ns:
                    break
        return ns or f"https://{self.name}.amazonaws.com/doc/{meta['apiVersion']}/"

    def validation_code(self) -> str:
        """The error code the service answers a request its model refuses with."""
        return {
            "eks": "InvalidParameterException",
            "ecr": "InvalidParameterException",
            "route53": "InvalidInput",
        }.get(self.name, "ValidationError")

    def operation(self, method: str, path: str, query: dict, headers: dict, body: bytes):
        """The operation a request calls."""
        ops = self.model["operations"]
        if self.protocol == "json":
            target = headers.get("x-amz-target", "")
            name = target.rsplit(".", 1)[-1]
            return Operation(self, name, ops[name]) if name in ops else None
        if self.protocol in ("query", "ec2"):
            form = _form(body)
            form.update({k: v[0] for k, v in query.items()})
            name = form.get("Action")
            return Operation(self, name, ops[name]) if name in ops else None
        best = None
        for name, spec in ops.items():
            http = spec["http"]
            if http["method"] != method:
                continue
            score = _match_uri(http["requestUri"], path, query)
            if score is not None and (best is None or score > best[0]):
                best = (score, name)
        return Operation(self, best[1], ops[best[1]]) if best else None


def load_services() -> dict[str, Service]:
    services = {}
    for name in SERVICES:
        svc = Service(name, _load(name))
        services[svc.signing_name] = svc
    return services


def _form(body: bytes) -> dict:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return {}
    return {k: v[0] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}


def _uri_regex(template: str):
    """A request URI template (`/clusters/{name}/node-groups?x`) as a regex over the path, the
    literal query keys it requires, and how many literal characters it has (for ranking)."""
    path, _, query = template.partition("?")
    # SDKs differ on a trailing slash (Route 53's `/rrset/` is sent as `/rrset`); AWS takes both.
    path = path.rstrip("/") or "/"
    out, literal = "", 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            label = part[1:-1]
            greedy = label.endswith("+")
            label = label.rstrip("+")
            out += f"(?P<{re.sub(r'[^A-Za-z0-9_]', '_', label)}>{'.+' if greedy else '[^/]+'})"
        else:
            out += re.escape(part)
            literal += len(part)
    keys = [q.split("=")[0] for q in query.split("&") if q]
    return re.compile("^" + out + "/?$"), keys, literal


def _match_uri(template: str, path: str, query: dict):
    rx, keys, literal = _uri_regex(template)
    if not rx.match(path) or any(k not in query for k in keys):
        return None
    return literal + 10 * len(keys)


def _uri_labels(template: str, path: str) -> dict:
    rx, _, _ = _uri_regex(template)
    m = rx.match(path)
    if not m:
        return {}
    return {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}


# --- reading a request into parameters, per protocol ----------------------------------------


class ParseError(Exception):
    pass


def parse(op: Operation, path: str, query: dict, headers: dict, body: bytes) -> dict:
    svc = op.service
    shape_name = op.input_shape
    if shape_name is None:
        return {}
    shape = svc.shape(shape_name)
    proto = svc.protocol
    if proto == "json":
        return _from_json(svc, shape, json.loads(body or b"{}"))
    if proto in ("query", "ec2"):
        return _from_query(svc, shape, "", _form(body))
    # rest-json and rest-xml: members located in the URI, query string and headers, the rest in
    # the body.
    params: dict = {}
    labels = _uri_labels(op.spec["http"]["requestUri"], path)
    body_members = {}
    for member, ref in shape["members"].items():
        loc = ref.get("location")
        wire = ref.get("locationName", member)
        target = svc.shape(ref["shape"])
        if loc == "uri":
            if wire in labels:
                params[member] = _scalar(target, labels[wire])
        elif loc == "querystring":
            if wire in query:
                values = query[wire]
                if target["type"] == "list":
                    params[member] = [_scalar(svc.shape(target["member"]["shape"]), v) for v in values]
                else:
                    params[member] = _scalar(target, values[0])
        elif loc == "header":
            if wire.lower() in headers:
                params[member] = _scalar(target, headers[wire.lower()])
        elif loc == "headers":
            prefix = wire.lower()
            found = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}
            if found:
                params[member] = found
        else:
            body_members[member] = ref
    if not body_members or not body:
        return params
    payload = shape.get("payload")
    if proto == "rest-json":
        doc = json.loads(body)
        if payload:
            params[payload] = _from_json(svc, svc.shape(shape["members"][payload]["shape"]), doc)
        else:
            sub = {"type": "structure", "members": body_members}
            params.update(_from_json(svc, sub, doc))
        return params
    root = ET.fromstring(body)
    sub = {"type": "structure", "members": body_members}
    params.update(_from_xml(svc, sub, root))
    return params


def _scalar(shape: dict, text: str):
    t = shape["type"]
    try:
        if t in ("integer", "long"):
            return int(text)
        if t in ("float", "double"):
            return float(text)
    except ValueError:
        raise ParseError(f"{text!r} is not a number")
    if t == "boolean":
        return text.lower() == "true"
    if t == "blob":
        return base64.b64decode(text)
    return text


def _from_json(svc: Service, shape: dict, value):
    t = shape["type"]
    if t == "structure":
        if not isinstance(value, dict):
            raise ParseError("expected an object")
        out = {}
        for member, ref in shape["members"].items():
            wire = ref.get("jsonName") or ref.get("locationName") or member
            if wire in value and value[wire] is not None:
                out[member] = _from_json(svc, svc.shape(ref["shape"]), value[wire])
        return out
    if t == "list":
        if not isinstance(value, list):
            raise ParseError("expected a list")
        return [_from_json(svc, svc.shape(shape["member"]["shape"]), v) for v in value]
    if t == "map":
        if not isinstance(value, dict):
            raise ParseError("expected an object")
        vshape = svc.shape(shape["value"]["shape"])
        return {k: _from_json(svc, vshape, v) for k, v in value.items()}
    if t == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    return value


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _from_xml(svc: Service, shape: dict, elem):
    t = shape["type"]
    if t == "structure":
        out = {}
        children = list(elem)
        for member, ref in shape["members"].items():
            wire = ref.get("locationName", member)
            mshape = svc.shape(ref["shape"])
            if mshape["type"] == "list" and mshape.get("flattened"):
                items = [c for c in children if _local(c.tag) == wire]
                if items:
                    inner = svc.shape(mshape["member"]["shape"])
                    out[member] = [_from_xml(svc, inner, c) for c in items]
                continue
            child = next((c for c in children if _local(c.tag) == wire), None)
            if child is not None:
                out[member] = _from_xml(svc, mshape, child)
        return out
    if t == "list":
        wire = shape["member"].get("locationName", "member")
        inner = svc.shape(shape["member"]["shape"])
        return [_from_xml(svc, inner, c) for c in elem if _local(c.tag) == wire]
    if t == "map":
        kshape, vshape = svc.shape(shape["key"]["shape"]), svc.shape(shape["value"]["shape"])
        out = {}
        for entry in elem:
            k = next((c for c in entry if _local(c.tag) == shape["key"].get("locationName", "key")), None)
            v = next((c for c in entry if _local(c.tag) == shape["value"].get("locationName", "value")), None)
            if k is not None and v is not None:
                out[_from_xml(svc, kshape, k)] = _from_xml(svc, vshape, v)
        return out
    return _scalar(shape, elem.text or "")


def _from_query(svc: Service, shape: dict, prefix: str, form: dict):
    t = shape["type"]
    if t == "structure":
        out = {}
        for member, ref in shape["members"].items():
            wire = ref.get("locationName", member)
            key = f"{prefix}.{wire}" if prefix else wire
            mshape = svc.shape(ref["shape"])
            if mshape["type"] in ("structure", "list", "map"):
                if any(k == key or k.startswith(key + ".") for k in form):
                    out[member] = _from_query(svc, mshape, key, form)
            elif key in form:
                out[member] = _scalar(mshape, form[key])
        return out
    if t == "list":
        inner = svc.shape(shape["member"]["shape"])
        base = prefix if shape.get("flattened") else f"{prefix}.{shape['member'].get('locationName', 'member')}"
        items, i = [], 1
        if form.get(prefix) == "":
            return []
        while any(k == f"{base}.{i}" or k.startswith(f"{base}.{i}.") for k in form):
            key = f"{base}.{i}"
            if inner["type"] in ("structure", "list", "map"):
                items.append(_from_query(svc, inner, key, form))
            else:
                items.append(_scalar(inner, form[key]))
            i += 1
        return items
    if t == "map":
        base = prefix if shape.get("flattened") else f"{prefix}.entry"
        kname = shape["key"].get("locationName", "key")
        vname = shape["value"].get("locationName", "value")
        vshape = svc.shape(shape["value"]["shape"])
        out, i = {}, 1
        while f"{base}.{i}.{kname}" in form:
            k = form[f"{base}.{i}.{kname}"]
            if vshape["type"] in ("structure", "list", "map"):
                out[k] = _from_query(svc, vshape, f"{base}.{i}.{vname}", form)
            else:
                out[k] = _scalar(vshape, form.get(f"{base}.{i}.{vname}", ""))
            i += 1
        return out
    return _scalar(shape, form.get(prefix, ""))


# --- checking parameters against the model ---------------------------------------------------


def _describe(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def validate(op: Operation, params: dict) -> list[Violation]:
    """Every way `params` breaks the operation's input shape, in AWS's validation wording."""
    svc = op.service
    problems: list[str] = []
    if op.input_shape:
        _check(svc, svc.shape(op.input_shape), params, "", problems)
    source = model_source(svc.name)
    return [
        Violation(rule=f"model:{svc.name}:{op.name}", message=p, source=source) for p in problems
    ]


def _check(svc: Service, shape: dict, value, where: str, problems: list[str]):
    t = shape["type"]
    at = where or "input"
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"Value at '{at}' must be a structure")
            return
        for req in shape.get("required", []):
            if req not in value:
                problems.append(f"Value null at '{_join(where, req)}' failed to satisfy constraint: Member must not be null")
        for member, ref in shape["members"].items():
            if member in value:
                _check(svc, svc.shape(ref["shape"]), value[member], _join(where, member), problems)
        return
    if t == "list":
        if not isinstance(value, list):
            problems.append(f"Value at '{at}' must be a list")
            return
        _length(shape, len(value), value, at, problems)
        inner = svc.shape(shape["member"]["shape"])
        for i, item in enumerate(value):
            _check(svc, inner, item, f"{at}.{i + 1}.member", problems)
        return
    if t == "map":
        if not isinstance(value, dict):
            problems.append(f"Value at '{at}' must be a map")
            return
        _length(shape, len(value), value, at, problems)
        kshape, vshape = svc.shape(shape["key"]["shape"]), svc.shape(shape["value"]["shape"])
        for k, v in value.items():
            _check(svc, kshape, k, f"{at}.key", problems)
            _check(svc, vshape, v, f"{at}.{k}", problems)
        return
    if t == "string":
        if not isinstance(value, str):
            problems.append(f"Value at '{at}' must be a string")
            return
        _length(shape, len(value), value, at, problems)
        if "enum" in shape and value not in shape["enum"]:
            problems.append(
                f"Value '{_describe(value)}' at '{at}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]"
            )
        if "pattern" in shape:
            rx = svc.pattern(shape["pattern"])
            if rx is not None and not rx.search(value):
                problems.append(
                    f"Value '{_describe(value)}' at '{at}' failed to satisfy constraint: "
                    f"Member must satisfy regular expression pattern: {shape['pattern']}"
                )
        return
    if t in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"Value at '{at}' must be a number")
            return
        if "min" in shape and value < shape["min"]:
            problems.append(f"Value '{value}' at '{at}' failed to satisfy constraint: Member must have value greater than or equal to {shape['min']}")
        if "max" in shape and value > shape["max"]:
            problems.append(f"Value '{value}' at '{at}' failed to satisfy constraint: Member must have value less than or equal to {shape['max']}")
        return
    if t == "blob" and isinstance(value, (bytes, str)):
        _length(shape, len(value), "<blob>", at, problems)


def _length(shape: dict, n: int, value, at: str, problems: list[str]):
    if "min" in shape and n < shape["min"]:
        problems.append(f"Value '{_describe(value)}' at '{at}' failed to satisfy constraint: Member must have length greater than or equal to {shape['min']}")
    if "max" in shape and n > shape["max"]:
        problems.append(f"Value '{_describe(value)}' at '{at}' failed to satisfy constraint: Member must have length less than or equal to {shape['max']}")


def _join(where: str, member: str) -> str:
    return f"{where}.{member}" if where else member
