#!/usr/bin/env python3
"""Validate the labelled evaluation set for the review checks.

Usage:
    python3 eval/review/validate.py eval/review/dev.jsonl [more files ...]
    python3 eval/review/validate.py --csv PATH/TO/flipkart.csv eval/review/*.jsonl

Checks every line of every file (standard library only) and prints counts per
split / use_case / kind.  Exits 1 if any problem is found, 2 on bad usage.

The Flipkart catalog is looked up at <repo root>/../shared/data/flipkart/
flipkart_com-ecommerce_sample.csv (the repo root is two levels above this
file).  When it is absent, the product_ref existence and split-rule checks are
skipped with a message; everything else is still checked.
"""
import csv
import json
import os
import sys
from collections import Counter, defaultdict

PRODUCT_KINDS = [
    "wrong_price", "invented_quantity", "invented_count", "invented_material",
    "invented_property", "warranty_guarantee", "compatibility", "invented_feature",
    "medical_safety", "competitor", "banned_phrase", "superlative", "pii",
]
SUPPORT_KINDS = ["unbacked_promise"]
SPLITS = {"dev", "holdout"}
PRODUCT_KEYS = {"id", "split", "use_case", "locale", "product_ref", "kind", "base",
                "text", "defect", "note"}
SUPPORT_KEYS = {"id", "split", "use_case", "locale", "customer_message", "known_answers",
                "kind", "base", "text", "defect", "note"}
MAX_OUTSIDE_DEFECT = 160   # chars a defect's carrier sentence may add beyond the defect span
MAX_REMOVED = 220          # chars of the base text a defect edit may replace
MAX_DEFECT_CHARS = 120

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_CSV = os.path.join(REPO_ROOT, "..", "shared", "data", "flipkart",
                           "flipkart_com-ecommerce_sample.csv")


def load_catalog(path):
    """pid -> 0-based row index (file order, as csv.DictReader reads it)."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(path, encoding="utf-8", newline="") as f:
        return {row["pid"]: i for i, row in enumerate(csv.DictReader(f))}


def diff_region(a, b):
    """Return (start, end_in_b, end_in_a) of the region where b differs from a."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    j = 0
    while j < n - i and a[-1 - j] == b[-1 - j]:
        j += 1
    return i, len(b) - j, len(a) - j


def main(argv):
    args = list(argv)
    csv_path = DEFAULT_CSV
    if "--csv" in args:
        k = args.index("--csv")
        if k + 1 >= len(args):
            print("usage: validate.py [--csv PATH] FILE.jsonl [...]", file=sys.stderr)
            return 2
        csv_path = args[k + 1]
        del args[k:k + 2]
    if not args:
        print("usage: validate.py [--csv PATH] FILE.jsonl [...]", file=sys.stderr)
        return 2

    problems = []

    def bad(where, msg):
        problems.append(f"{where}: {msg}")

    catalog = None
    if os.path.exists(csv_path):
        catalog = load_catalog(csv_path)
    else:
        print(f"NOTE: catalog not found at {os.path.normpath(csv_path)}; "
              "skipping the product_ref existence and split-rule checks.")

    items = []  # (where, obj)
    for path in args:
        try:
            fh = open(path, encoding="utf-8")
        except OSError as e:
            bad(path, f"cannot open: {e}")
            continue
        with fh:
            for ln, line in enumerate(fh, 1):
                where = f"{path}:{ln}"
                if not line.strip():
                    bad(where, "blank line")
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    bad(where, f"invalid JSON: {e}")
                    continue
                if not isinstance(obj, dict):
                    bad(where, "line is not a JSON object")
                    continue
                items.append((where, obj))

    by_id = {}
    for where, o in items:
        oid = o.get("id")
        if not isinstance(oid, str) or not oid:
            bad(where, "missing or empty id")
            continue
        if oid in by_id:
            bad(where, f"duplicate id {oid!r} (first at {by_id[oid][0]})")
            continue
        by_id[oid] = (where, o)

    seen_base_kind = set()
    counts = Counter()
    for where, o in items:
        oid = o.get("id")
        where = f"{where} [{oid}]"
        use_case = o.get("use_case")
        if use_case == "product_description":
            keys, kinds, locale = PRODUCT_KEYS, PRODUCT_KINDS, "en-IN"
        elif use_case == "support_reply":
            keys, kinds, locale = SUPPORT_KEYS, SUPPORT_KINDS, "en-US"
        else:
            bad(where, f"unknown use_case {use_case!r}")
            continue
        missing = keys - set(o)
        extra = set(o) - keys
        if missing:
            bad(where, f"missing fields {sorted(missing)}")
        if extra:
            bad(where, f"unexpected fields {sorted(extra)}")
        split = o.get("split")
        if split not in SPLITS:
            bad(where, f"split must be dev or holdout, got {split!r}")
        if isinstance(oid, str):
            if split == "dev" and not oid.startswith("d-"):
                bad(where, "dev ids must start with 'd-'")
            if split == "holdout" and oid.startswith("d-"):
                bad(where, "holdout ids must not use the dev prefix 'd-'")
        if o.get("locale") != locale:
            bad(where, f"locale must be {locale} for {use_case}, got {o.get('locale')!r}")
        kind = o.get("kind")
        if kind != "clean" and kind not in kinds:
            bad(where, f"kind {kind!r} not allowed for {use_case}")
        counts[(split, use_case, kind)] += 1
        text = o.get("text")
        if not isinstance(text, str) or not text.strip():
            bad(where, "text must be a non-empty string")
            continue
        if not isinstance(o.get("note", ""), str):
            bad(where, "note must be a string")

        if use_case == "product_description":
            ref = o.get("product_ref")
            if not isinstance(ref, str) or not ref.startswith("flipkart:") or len(ref) <= 9:
                bad(where, f"product_ref must be 'flipkart:<pid>', got {ref!r}")
            elif catalog is not None:
                pid = ref[len("flipkart:"):]
                if pid not in catalog:
                    bad(where, f"pid {pid} not in catalog")
                else:
                    held = catalog[pid] % 4 == 3
                    if split == "dev" and held:
                        bad(where, f"pid {pid} is a holdout row (index {catalog[pid]})")
                    if split == "holdout" and not held:
                        bad(where, f"pid {pid} is not a holdout row (index {catalog[pid]})")
            if kind == "clean" and not 300 <= len(text) <= 1000:
                bad(where, f"clean description is {len(text)} chars (want 300-1000)")
        else:
            msg = o.get("customer_message")
            if not isinstance(msg, str) or not msg.strip():
                bad(where, "customer_message must be a non-empty string")
            ka = o.get("known_answers")
            if (not isinstance(ka, list) or not 2 <= len(ka) <= 5
                    or not all(isinstance(x, str) and x.strip() for x in ka)):
                bad(where, "known_answers must be a list of 2-5 non-empty strings")
            if not 150 <= len(text) <= 600:
                bad(where, f"support reply is {len(text)} chars (want 150-600)")

        defect, base = o.get("defect"), o.get("base")
        if kind == "clean":
            if defect is not None:
                bad(where, "clean item must have defect null")
            if base is not None:
                bad(where, "clean item must have base null")
            continue
        if not isinstance(defect, str) or not defect.strip():
            bad(where, "defect item needs a non-empty defect string")
            continue
        if len(defect) > MAX_DEFECT_CHARS:
            bad(where, f"defect span is {len(defect)} chars (max {MAX_DEFECT_CHARS})")
        c = text.count(defect)
        if c != 1:
            bad(where, f"defect occurs {c} times in text (must be exactly once): {defect!r}")
            continue
        if not isinstance(base, str) or base not in by_id:
            bad(where, f"base {base!r} is not an id in the given files")
            continue
        bo = by_id[base][1]
        if bo.get("kind") != "clean" or bo.get("use_case") != use_case:
            bad(where, f"base {base} must be a clean {use_case} item")
            continue
        if bo.get("split") != split:
            bad(where, f"base {base} is in split {bo.get('split')!r}")
        if use_case == "product_description":
            if bo.get("product_ref") != o.get("product_ref"):
                bad(where, f"product_ref differs from base {base}")
            if (base, kind) in seen_base_kind:
                bad(where, f"second {kind} variant of {base} (variants of a product must differ in kind)")
            seen_base_kind.add((base, kind))
            if oid != f"{base}-{kind}":
                bad(where, f"id should be {base}-{kind}")
        else:
            if not (oid == f"{base}-{kind}" or oid.startswith(f"{base}-{kind}-")):
                bad(where, f"id should start with {base}-{kind}")
            if o.get("known_answers") != bo.get("known_answers") or \
                    o.get("customer_message") != bo.get("customer_message"):
                bad(where, f"customer_message/known_answers differ from base {base}")
        btext = bo.get("text") or ""
        if defect in btext:
            bad(where, "defect string already occurs in the base text")
        if btext == text:
            bad(where, "text is identical to its base")
            continue
        a, b_new, b_old = diff_region(btext, text)
        s = text.index(defect)
        e = s + len(defect)
        if b_new <= a:
            bad(where, "edit only deletes text; the defect must be added")
        elif not (a < e and b_new > s):
            bad(where, f"text differs from base at [{a},{b_new}) {text[a:b_new]!r}, "
                       f"away from the defect [{s},{e})")
        else:
            outside = max(0, s - a) + max(0, b_new - e)
            if outside > MAX_OUTSIDE_DEFECT:
                bad(where, f"edit changes {outside} chars outside the defect span "
                           f"(max {MAX_OUTSIDE_DEFECT}): {text[a:b_new]!r}")
            if b_old - a > MAX_REMOVED:
                bad(where, f"edit replaces {b_old - a} chars of the base (max {MAX_REMOVED})")

    # report
    print(f"{len(items)} items in {len(args)} file(s)")
    by_su = defaultdict(Counter)
    for (split, uc, kind), n in counts.items():
        by_su[(str(split), str(uc))][str(kind)] += n
    for (split, uc) in sorted(by_su):
        kc = by_su[(split, uc)]
        print(f"\n{split} / {uc}: {sum(kc.values())}")
        order = ["clean"] + (PRODUCT_KINDS if uc == "product_description" else SUPPORT_KINDS)
        for k in order + sorted(set(kc) - set(order)):
            if k in kc:
                print(f"  {k:20s} {kc[k]}")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print("  " + p)
        return 1
    print("\nOK: no problems found")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
