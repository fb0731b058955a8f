"""Galley's quality checks in Python: the same normalisation (normalize.py), rules, taxonomy
mapping, completeness, fingerprint and verdict as src/quality, read from the same files
(config/quality-rules.toml, config/taxonomy.txt, src/quality/currency-codes.txt).

It exists as the baseline of `galley bench quality`: a competent Python port, so that the speed
ratio compares implementations of the same work.
"""

import hashlib
import re
import struct
import tomllib
from dataclasses import dataclass, field as dc_field

from normalize import WS_CHARS, ASCII_UPPER, key, text, units

# --- taxonomy (src/quality/taxonomy.rs) ---


def split_path(s):
    return [t for t in (text(seg) for seg in re.split(r"[>/|]", s)) if t]


class Taxonomy:
    def __init__(self, source):
        self.nodes, self.by_path, self.by_name = [], {}, {}
        for n, raw in enumerate(source.splitlines(), 1):
            line = raw.strip(WS_CHARS)
            if not line or line.startswith("#"):
                continue
            node_id, sep, path = line.partition(" - ")
            if not (sep and node_id.isascii() and node_id.isdigit()):
                node_id, path = None, line
            segments = [t for t in (text(seg) for seg in path.split(">")) if t]
            folded = " > ".join(key(seg) for seg in segments)
            if not segments or folded in self.by_path:
                raise ValueError(f"taxonomy line {n}: no category path, or listed twice")
            index = len(self.nodes)
            self.by_path[folded] = index
            self.by_name.setdefault(key(segments[-1]), []).append(index)
            self.nodes.append((node_id or " > ".join(segments), segments))

    def map(self, path):
        """(kind, node) with kind exact | ancestor | by_name | unmapped, and levels dropped."""
        folded = [key(seg) for seg in path]
        for keep in range(len(path), 0, -1):
            i = self.by_path.get(" > ".join(folded[:keep]))
            if i is not None:
                return ("exact" if keep == len(path) else "ancestor"), self.nodes[i], len(path) - keep
        for seg in reversed(folded):
            found = self.by_name.get(seg)
            if found is not None and len(found) == 1:
                return "by_name", self.nodes[found[0]], 0
        return "unmapped", None, 0


# --- rules (src/quality/rules) ---

FIELD_NAMES = {
    "title": "title", "brand": "brand", "category": "category_path", "price": "price",
    "list_price": "list_price", "currency": "currency", "description": "description",
    "images": "images", "attributes": "attributes",
}
# Rust iterates the completeness weights in the Field enum's order; summing in the same order
# gives the same float.
FIELD_ORDER = ["title", "brand", "category", "price", "list_price", "currency", "description", "images", "attributes"]
TEXT_FIELDS = ("title", "brand", "currency", "description")


@dataclass
class Normalised:
    title: str = None
    brand: str = None
    category_path: list = dc_field(default_factory=list)
    taxonomy_path: list = dc_field(default_factory=list)
    price_minor: int = None
    list_price_minor: int = None
    currency: str = None
    description: str = None
    attributes: dict = dc_field(default_factory=dict)
    images: list = dc_field(default_factory=list)

    def text_of(self, f):
        return getattr(self, f) if f in TEXT_FIELDS else None

    def count(self, f):
        if f == "category":
            return len(self.category_path)
        if f in ("images", "attributes"):
            return len(getattr(self, f))
        if f in ("price", "list_price"):
            return int(getattr(self, f + "_minor") is not None)
        return int(bool(self.text_of(f)))


def _non_empty(s):
    return (text(s) or None) if s is not None else None


def normalise(c):
    path = [t for t in (text(s) for s in c["category_path"]) if t]
    if len(path) == 1:
        path = split_path(path[0])
    attributes = {}
    for k, v in sorted(c["attributes"].items()):
        k, v = key(k), text(v)
        if k and v and k not in attributes:
            attributes[k] = units(v)
    images = []
    for url in c["images"]:
        url = url.strip(WS_CHARS)
        if url and url not in images:
            images.append(url)
    currency = (c["currency"] or "").strip(WS_CHARS).translate(ASCII_UPPER) or None
    return Normalised(
        title=_non_empty(c["title"]), brand=_non_empty(c["brand"]), category_path=path,
        price_minor=c["price_minor"], list_price_minor=c["list_price_minor"], currency=currency,
        description=_non_empty(c["description"]), attributes=attributes, images=images,
    )


def _span(t, start, end):
    return len(t[:start].encode()), len(t[:end].encode())


class Rule:
    def __init__(self, spec, currencies):
        self.id, self.check = spec["id"], spec["check"]
        self.severity = spec.get("severity", "error")
        self.categories = [c.lower() for c in spec.get("categories", [])]
        self.message = spec.get("message")
        self.fields = spec.get("fields", [])
        self.field = spec.get("field")
        self.attributes = [key(a) for a in spec.get("attributes", [])]
        self.min, self.max = spec.get("min", 0), spec.get("max", 2**64 - 1)
        self.chars = spec.get("chars", "")
        self.pattern = re.compile(spec["pattern"]) if "pattern" in spec else None
        self.currencies = currencies

    def evaluate(self, p, out):
        def emit(field, default, span=(None, None)):
            out.append({
                "rule": self.id, "severity": self.severity, "field": field,
                "message": self.message or default, "span_start": span[0], "span_end": span[1],
            })

        check, f = self.check, self.field
        if check == "required":
            for name in self.fields:
                if p.count(name) == 0:
                    emit(FIELD_NAMES[name], f"{FIELD_NAMES[name]} is missing")
        elif check == "required_attributes":
            for k in self.attributes:
                if k not in p.attributes:
                    emit("attributes", f"attribute '{k}' is missing")
        elif check == "price_positive":
            if p.price_minor is not None and p.price_minor <= 0:
                emit("price", f"price must be above 0, is {p.price_minor} (minor units)")
        elif check == "discount_not_above_list":
            if p.price_minor is not None and p.list_price_minor is not None and p.price_minor > p.list_price_minor:
                emit("price", f"price {p.price_minor} is above list price {p.list_price_minor}")
        elif check == "currency_iso4217":
            if p.currency is not None and p.currency not in self.currencies:
                emit("currency", f"'{p.currency}' is not an ISO-4217 code")
            elif p.currency is None and p.price_minor is not None:
                emit("currency", "a price needs a currency")
        elif check == "length":
            t = p.text_of(f)
            if t is not None and not self.min <= len(t) <= self.max:
                emit(FIELD_NAMES[f], f"{FIELD_NAMES[f]} has {len(t)} characters; allowed {self.min}..={self.max}")
        elif check == "banned_chars":
            t = p.text_of(f) or ""
            hit = next((i for i, ch in enumerate(t) if ch in self.chars), None)
            if hit is not None:
                emit(FIELD_NAMES[f], f"contains banned character '{t[hit]}'", _span(t, hit, hit + 1))
        elif check == "min_count":
            n = p.count(f)
            if n < self.min:
                emit(FIELD_NAMES[f], f"{FIELD_NAMES[f]} has {n}; at least {self.min} wanted")
        elif check == "forbidden_pattern":
            t = p.text_of(f)
            m = self.pattern.search(t) if t is not None else None
            if m:
                emit(FIELD_NAMES[f], f"contains '{m.group(0)}'", _span(t, m.start(), m.end()))
        else:
            raise ValueError(f"rule '{self.id}': unknown check '{check}'")


def _under(path, prefix):
    return path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix) :].startswith(" >"))


class Assessor:
    """Rules plus taxonomy, built once; `assess` is Galley's `Assessor::assess`."""

    def __init__(self, rules_text, taxonomy_text, currency_text):
        spec = tomllib.loads(rules_text)
        currencies = frozenset(line.strip() for line in currency_text.splitlines() if line.strip() and not line.startswith("#"))
        self.rules = [Rule(r, currencies) for r in spec.get("rule", [])]
        self.completeness = spec["completeness"]
        self.severities = spec["taxonomy"]
        self.head_at = spec["segment"]["head_min_description_chars"]
        self.taxonomy = Taxonomy(taxonomy_text)

    def _score(self, p):
        got = total = 0.0
        full_at = max(self.completeness["attributes_full_at"], 1)
        weights = self.completeness["weights"]
        for f in FIELD_ORDER:
            if f not in weights:
                continue
            w = float(weights[f])
            present = min(len(p.attributes) / full_at, 1.0) if f == "attributes" else float(p.count(f) > 0)
            got += w * present
            total += w
        return got / total if total > 0.0 else 1.0

    def _map_taxonomy(self, p, findings):
        shown = " > ".join(p.category_path)
        kind, node, dropped = self.taxonomy.map(p.category_path)

        def finding(rule, severity, message):
            findings.append({
                "rule": rule, "severity": severity, "field": "category_path", "message": message,
                "span_start": None, "span_end": None,
            })

        if kind == "unmapped":
            finding("taxonomy.unmapped", self.severities["unmapped"], f"'{shown}' matches nothing in the taxonomy; categorise it by hand")
            return None
        if kind == "ancestor":
            finding("taxonomy.ancestor", self.severities["ancestor"],
                    f"'{shown}' is not in the taxonomy; mapped to its ancestor '{' > '.join(node[1])}' ({dropped} level(s) up)")
        elif kind == "by_name":
            finding("taxonomy.ancestor", self.severities["ancestor"],
                    f"'{shown}' is not in the taxonomy; mapped by name to '{' > '.join(node[1])}'")
        p.taxonomy_path = node[1]
        return node[0]

    def assess(self, change):
        """(valid, ValidatedProduct as a dict ready for Avro)."""
        p = normalise(change)
        findings = []
        node = self._map_taxonomy(p, findings)
        own = mapped = None
        for rule in self.rules:
            if rule.categories:
                if own is None:
                    own, mapped = " > ".join(p.category_path).lower(), " > ".join(p.taxonomy_path).lower()
                if not any(_under(own, c) or _under(mapped, c) for c in rule.categories):
                    continue
            rule.evaluate(p, findings)
        score = self._score(p)
        minimum = self.completeness["min_score"]
        if score < minimum:
            findings.append({
                "rule": "completeness.low", "severity": "error", "field": None,
                "message": f"completeness {score:.2f} is below {minimum:.2f}: too little to write about",
                "span_start": None, "span_end": None,
            })
        valid = not any(f["severity"] == "error" for f in findings)
        head = p.description is not None and len(p.description) >= self.head_at
        return valid, {
            "sku": change["sku"], "version": change["version"], "event_time_ms": change["event_time_ms"],
            "title": p.title or "", "brand": p.brand, "category_path": p.category_path,
            "taxonomy_node": node, "price_minor": p.price_minor, "list_price_minor": p.list_price_minor,
            "currency": p.currency, "description": p.description, "attributes": p.attributes,
            "images": p.images, "locale": change["locale"], "completeness": score,
            "findings": findings, "fingerprint": fingerprint(p, node, change["locale"]),
            "segment": "head" if head else "long_tail",
        }


def fingerprint(p, node, locale):
    """Normalised.fingerprint: length-prefixed fields, SHA-256, first 16 bytes in hex."""
    h = hashlib.sha256()

    def field(s):
        b = s.encode()
        h.update(struct.pack("<Q", len(b)))
        h.update(b)

    def price(v):
        h.update(b"\x00" if v is None else b"\x01" + struct.pack("<q", v))

    field(p.title or "")
    field(p.brand or "")
    h.update(struct.pack("<Q", len(p.category_path)))
    for seg in p.category_path:
        field(seg)
    field(node or "")
    price(p.price_minor)
    price(p.list_price_minor)
    field(p.currency or "")
    field(p.description or "")
    field(locale)
    h.update(struct.pack("<Q", len(p.attributes)))
    for k in sorted(p.attributes):
        field(k)
        field(p.attributes[k])
    h.update(struct.pack("<Q", len(p.images)))
    for url in p.images:
        field(url)
    return h.hexdigest()[:32]
