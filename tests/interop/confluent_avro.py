#!/usr/bin/env python3
"""Confluent's reference Avro serde (confluent-kafka's AvroSerializer / AvroDeserializer with its
SchemaRegistryClient) on the other side of Galley, for tests/schema_registry.rs.

  produce BOOTSTRAP REGISTRY SCHEMA_FILE   stdin: JSON lines {"topic", "key", "value"}; prints
                                           how many were produced
  consume BOOTSTRAP REGISTRY TOPICS N SECS prints each value read (JSON lines) until N or SECS
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def produce(bootstrap, registry, schema_file):
    with open(schema_file, encoding="utf-8") as f:
        serializer = AvroSerializer(SchemaRegistryClient({"url": registry}), f.read())
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    sent = 0
    for line in sys.stdin:
        rec = json.loads(line)
        value = serializer(rec["value"], SerializationContext(rec["topic"], MessageField.VALUE))
        producer.produce(rec["topic"], key=rec["key"].encode(), value=value)
        sent += 1
    if producer.flush(30) != 0:
        sys.exit("records left unsent after 30 s")
    print(sent)


def consume(bootstrap, registry, topics, expected, seconds):
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": registry}))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"interop-{time.time_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(topics.split(","))
    got, deadline = 0, time.time() + seconds
    while got < expected and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            continue
        value = deserializer(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
        print(json.dumps({"topic": msg.topic(), "value": value}, default=str), flush=True)
        got += 1
    consumer.close()


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        produce(*sys.argv[2:5])
    elif sys.argv[1] == "consume":
        consume(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    else:
        sys.exit(__doc__)
