"""Galley's quality stage written the way a Python team would: confluent-kafka consume ->
process -> produce, committing each batch after its outputs are delivered (at-least-once).

The baseline of `galley bench quality`: it reads the same pre-filled topic of CatalogChange
records (Confluent framing: magic 0, 4-byte schema id, Avro), applies the same checks
(checks.py, from the same rules, taxonomy and currency files) and routes like Galley's stage:
valid and changed -> ValidatedProduct on --validated (on the input's partition), error findings ->
--needs-enrichment, unchanged / stale / deleted -> skipped (a delete is a tombstone on
--validated), undecodable or keyed unlike its sku -> --dlq.

Per-sku freshness state is a dict in this process. Galley rebuilds it from the validated topic
when a partition is assigned; on the fresh topics of a bench run both start empty, so the
outcomes are the same.

Stops after --messages records and prints one JSON line: counts per outcome and the rate from
the first delivered output to the last completed record, as Galley's bench measures its stage.
"""

import argparse
import io
import json
import os
import pathlib
import struct
import sys
import time

import fastavro
from confluent_kafka import Consumer, KafkaException, Producer

import checks

REPO = pathlib.Path(__file__).resolve().parents[2]
BATCH = 500


def load_schemas(schema_dir):
    """Parsed schemas by id, and the id of each name's newest version (schemas/ids.json)."""
    ids = json.loads((schema_dir / "ids.json").read_text())
    by_id, newest = {}, {}
    for entry in ids["schemas"]:
        raw = json.loads((schema_dir / entry["file"]).read_text())
        # event_time_ms travels as the raw long, as in Galley, not as a datetime.
        by_id[entry["id"]] = (entry["name"], fastavro.parse_schema(_without_logical_types(raw)))
        if entry["version"] >= newest.get(entry["name"], (0, 0))[1]:
            newest[entry["name"]] = (entry["id"], entry["version"])
    return by_id, {name: id_ for name, (id_, _) in newest.items()}


def _without_logical_types(node):
    if isinstance(node, dict):
        return {k: _without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_without_logical_types(v) for v in node]
    return node


class Codec:
    def __init__(self, schema_dir):
        self.by_id, newest = load_schemas(schema_dir)
        self.out_id = newest["galley.v1.ValidatedProduct"]
        self.out_schema = self.by_id[self.out_id][1]

    def decode_change(self, value):
        if value is None or len(value) < 5 or value[0] != 0:
            raise ValueError("not Confluent-framed")
        (schema_id,) = struct.unpack(">I", value[1:5])
        name, schema = self.by_id.get(schema_id, (None, None))
        if name != "galley.v1.CatalogChange":
            raise ValueError(f"schema id {schema_id} is not a CatalogChange")
        body = io.BytesIO(value[5:])
        change = fastavro.schemaless_reader(body, schema, None)
        if body.tell() != len(value) - 5:
            raise ValueError("trailing bytes after the datum")
        return change

    def encode_product(self, product):
        out = io.BytesIO()
        out.write(b"\x00" + struct.pack(">I", self.out_id))
        fastavro.schemaless_writer(out, self.out_schema, product)
        return out.getvalue()


class QualityStage:
    def __init__(self, args, produce):
        read = lambda p: pathlib.Path(p).read_text(encoding="utf-8")
        self.assessor = checks.Assessor(read(args.rules), read(args.taxonomy), read(args.currencies))
        self.codec = Codec(pathlib.Path(args.schemas))
        self.args, self.produce = args, produce
        self.skus = {}  # sku -> (version, fingerprint, deleted): the last accepted state
        self.outcomes = {"validated": 0, "needs_enrichment": 0, "skipped": 0, "dlq": 0}
        self.skipped = {}

    def process(self, msg):
        try:
            change = self.codec.decode_change(msg.value())
            if msg.key() != change["sku"].encode():
                raise ValueError("record key is not the sku")
        except Exception as e:  # any undecodable record is poison: dead-letter it, as Galley does
            self.produce(self.args.dlq, msg.value(), msg.key(), None, msg.headers(), error=str(e))
            return "dlq"
        sku, version = change["sku"], change["version"]
        prev = self.skus.get(sku)
        if prev is not None and version < prev[0]:
            return self.skip("stale")
        if change["op"] == "delete":
            self.skus[sku] = (version, "", True)
            self.produce(self.args.validated, None, msg.key(), msg.partition(), msg.headers())
            return self.skip("deleted")
        valid, product = self.assessor.assess(change)
        if not valid:
            self.produce(self.args.needs_enrichment, self.codec.encode_product(product), msg.key(), None, msg.headers())
            return "needs_enrichment"
        accepted = (version, product["fingerprint"], False)
        if prev is not None and not prev[2] and prev[1] == product["fingerprint"]:
            self.skus[sku] = accepted
            return self.skip("unchanged")
        self.produce(self.args.validated, self.codec.encode_product(product), msg.key(), msg.partition(), msg.headers())
        self.skus[sku] = accepted
        return "validated"

    def skip(self, reason):
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        return "skipped"


def parse_args(argv):
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    a.add_argument("--input", required=True)
    a.add_argument("--validated", required=True)
    a.add_argument("--needs-enrichment", required=True)
    a.add_argument("--dlq", required=True)
    a.add_argument("--group", required=True)
    a.add_argument("--messages", type=int, required=True, help="stop after this many records")
    a.add_argument("--session-timeout-ms", type=int, default=10000)
    a.add_argument("--rules", default=str(REPO / "config/quality-rules.toml"))
    a.add_argument("--taxonomy", default=str(REPO / "config/taxonomy.txt"))
    a.add_argument("--currencies", default=str(REPO / "src/quality/currency-codes.txt"))
    a.add_argument("--schemas", default=str(REPO / "schemas"))
    a.add_argument("--timeout-s", type=float, default=600.0, help="give up after this long")
    return a.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    # Extra librdkafka properties (JSON object) come through the environment, not argv: they may
    # hold SASL secrets.
    extra = json.loads(os.environ.get("BENCH_KAFKA_PROPERTIES") or "{}")
    common = {"bootstrap.servers": args.bootstrap_servers, **extra}
    consumer = Consumer({
        **common,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": args.session_timeout_ms,
    })
    # The same producer settings as Galley's: idempotent, acks=all, linger 5 ms.
    producer = Producer({**common, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    failed, first_ack = [], []

    def delivered(err, _msg):
        if err is not None:
            failed.append(err)
        elif not first_ack:
            first_ack.append(time.monotonic())

    def produce(topic, value, key, partition, headers, error=None):
        if error is not None:
            headers = (headers or []) + [("bench.error", error.encode())]
        kwargs = {"partition": partition} if partition is not None else {}
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers, on_delivery=delivered, **kwargs)
                return
            except BufferError:
                producer.poll(0.01)  # local queue full: serve delivery reports, then retry

    stage = QualityStage(args, produce)
    consumer.subscribe([args.input])
    done, deadline = 0, time.monotonic() + args.timeout_s
    try:
        while done < args.messages and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=min(BATCH, args.messages - done), timeout=0.5)
            for msg in batch:
                if msg.error():
                    raise KafkaException(msg.error())
                label = stage.process(msg)
                stage.outcomes[label] += 1
            if not batch:
                continue
            # At-least-once: the batch's offsets are committed only after its outputs are acked.
            producer.flush()
            if failed:
                raise KafkaException(failed[0])
            consumer.commit(asynchronous=False)
            done += len(batch)
            if not first_ack:
                first_ack.append(time.monotonic())  # a batch of skips only: completed now
        last = time.monotonic()
    finally:
        consumer.close()
    span = last - first_ack[0] if first_ack else 0.0
    print(json.dumps({
        "processed": done,
        "outcomes": stage.outcomes,
        "skipped": stage.skipped,
        "seconds": span,
        "msgs_per_s": (done - 1) / span if span > 0 else 0.0,
    }))
    return 0 if done == args.messages else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
