"""Tests of the Kafka bridge (events, spool, producer, reader, audit) against a real broker."""
