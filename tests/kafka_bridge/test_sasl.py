"""Against a real broker's SASL_PLAINTEXT and SASL_SSL listeners: replay configured by the
FEDCHURN_KAFKA_* variables alone delivers a spool (PLAIN, SCRAM-SHA-256/512, and over TLS); a
wrong password or an untrusted broker certificate is one readable error that leaves the spool
as it was; the dashboard's reader and a simulation mirror use SASL, with and without TLS."""

from __future__ import annotations

import json

import pytest

from dashboard.settings import MonitorSettings
from kafka_bridge.config import ENV_VARS
from kafka_bridge.reader import EventReader
from kafka_bridge.spool import DELIVERED_FILE, EVENTS_FILE, Spool
from kafka_bridge.verify import verify_events
from tests.kafka_bridge.helpers import cli, dead_bootstrap, run_synthetic, unique_prefix
from tests.kafka_bridge.sim_helpers import SMALL, bridge_overrides, expected_events, simulate
from tests.kafka_tls import make_tls

pytestmark = pytest.mark.kafka


def _env(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], **changes: str) -> None:
    """Export the bridge settings under their one environment variable name each."""
    for key, value in {**settings, **changes}.items():
        monkeypatch.setenv(ENV_VARS[key], value)


def _offline_spool(tmp_path, prefix):
    return run_synthetic(tmp_path / "spool", dead_bootstrap(), prefix, rounds=1,
                         flush_timeout_s=0.0, connect_timeout_s=0.2)[0]


@pytest.mark.parametrize("listener, mechanism", [
    ("sasl_kafka", "PLAIN"), ("sasl_kafka", "SCRAM-SHA-256"), ("sasl_kafka", "SCRAM-SHA-512"),
    ("sasl_ssl_kafka", "SCRAM-SHA-512")])
def test_replay_over_sasl_from_the_environment_delivers_the_spool(request, tmp_path,
                                                                  monkeypatch, listener, mechanism):
    broker, settings = request.getfixturevalue(listener)
    prefix = unique_prefix()
    run_id = _offline_spool(tmp_path, prefix)
    _env(monkeypatch, settings, sasl_mechanism=mechanism)
    done = cli("kafka_bridge", "replay", "--spool", str(tmp_path / "spool"))  # no flags at all
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["delivered"] == 8
    with EventReader(config={**settings, "sasl_mechanism": mechanism,
                             "topic_prefix": prefix}) as reader:
        events = reader.read_run(run_id)
    assert len(events) == 8 and verify_events(events).ok
    with EventReader(broker.bootstrap, prefix) as plain:  # same broker, PLAINTEXT listener
        assert len(plain.read_run(run_id)) == 8


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_a_wrong_password_is_one_readable_error_and_the_spool_stays(sasl_kafka, tmp_path,
                                                                    monkeypatch, mechanism):
    _, settings = sasl_kafka
    prefix = unique_prefix()
    _offline_spool(tmp_path, prefix)
    spool = tmp_path / "spool"
    before = {name: (spool / name).read_bytes() for name in (EVENTS_FILE, DELIVERED_FILE)}
    wrong = "not-" + settings["sasl_plain_password"]
    _env(monkeypatch, settings, sasl_plain_password=wrong, sasl_mechanism=mechanism)
    refused = cli("kafka_bridge", "replay", "--spool", str(spool))
    assert refused.returncode == 1
    lines = [ln for ln in refused.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, refused.stderr  # no traceback, no client retry log
    assert lines[0].startswith(f"error: Kafka at {settings['bootstrap_servers']} refused the "
                               f"{mechanism} login of user '{settings['sasl_plain_username']}'"), lines
    assert ENV_VARS["sasl_plain_password"] in lines[0] and "spool is unchanged" in lines[0]
    assert wrong not in refused.stderr + refused.stdout
    assert {n: (spool / n).read_bytes() for n in before} == before
    again = Spool(spool)
    try:
        assert again.pending_count == 8
    finally:
        again.close()


@pytest.mark.parametrize("listener", ["sasl_kafka", "sasl_ssl_kafka"])
def test_the_dashboard_reader_and_a_simulation_mirror_use_sasl(request, tmp_path, monkeypatch,
                                                               listener):
    _, settings = request.getfixturevalue(listener)
    prefix, out = unique_prefix(), tmp_path / "run"
    _env(monkeypatch, {"sasl_plain_password": settings["sasl_plain_password"]})
    sasl = {k: settings[k] for k in ("security_protocol", "sasl_mechanism",
                                     "sasl_plain_username", "ssl_cafile") if k in settings}
    results, bridge, run_id = simulate(out, [*SMALL, "num_rounds=2", *bridge_overrides(
        settings["bootstrap_servers"], prefix, tmp_path / "spool", **sasl)])
    n = expected_events(2, 3)
    assert bridge.inner.last_stats == {"delivered": n, "spooled": n, "pending": 0}
    for path in out.rglob("*"):  # the password came from the environment: in no run file
        assert not path.is_file() or settings["sasl_plain_password"].encode() not in \
            path.read_bytes(), path
    _env(monkeypatch, {**settings, "topic_prefix": prefix})
    dashboard = MonitorSettings.load(path=None)
    with EventReader(config=dashboard.bridge_config(), include_updates=False) as reader:
        events = reader.read_run(run_id)
    assert [e.type for e in events][::len(events) - 1] == ["run_started", "run_finished"]
    assert len(events) == n - 2 * 3  # without the updates topic


def test_a_broker_certificate_from_another_ca_is_one_readable_error(sasl_ssl_kafka, tmp_path,
                                                                    monkeypatch):
    _, settings = sasl_ssl_kafka
    prefix = unique_prefix()
    _offline_spool(tmp_path, prefix)
    spool = tmp_path / "spool"
    before = {name: (spool / name).read_bytes() for name in (EVENTS_FILE, DELIVERED_FILE)}
    stranger = make_tls(tmp_path / "other-ca").ca_file
    _env(monkeypatch, settings, ssl_cafile=str(stranger))
    refused = cli("kafka_bridge", "replay", "--spool", str(spool))
    assert refused.returncode == 1
    lines = [ln for ln in refused.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(f"error: the TLS certificate of Kafka at "
                               f"{settings['bootstrap_servers']} failed verification"), lines
    assert "CERTIFICATE_VERIFY_FAILED" in lines[0] and ENV_VARS["ssl_cafile"] in lines[0]
    assert {n: (spool / n).read_bytes() for n in before} == before
