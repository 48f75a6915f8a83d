"""Keys sent to providers: one per attempt at a request, never cut short into another's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ordergate.models.idempotency import PROVIDER_KEY_LENGTH, IdempotencyRecord, provider_key

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def a_record(key: str = "key-1", scope: str = "agent:ann") -> IdempotencyRecord:
    return IdempotencyRecord(
        scope=scope, key=key, operation="placeOrder", request_hash="h", created_at=NOW, leased_until=NOW
    )


def test_each_attempt_at_a_key_has_its_own_provider_key() -> None:
    record = a_record()
    first = provider_key("auth", record)

    record.take("placeOrder", "h", NOW + timedelta(minutes=2))

    assert provider_key("auth", record) != first
    assert first.startswith("auth:agent:ann:key-1:")


def test_long_keys_that_differ_only_at_the_end_keep_apart_within_the_length() -> None:
    one, other = a_record(key="k" * 254 + "1"), a_record(key="k" * 254 + "2")
    other.attempt = one.attempt

    keys = provider_key("auth", one), provider_key("auth", other)

    assert keys[0] != keys[1]
    assert all(len(key) == PROVIDER_KEY_LENGTH for key in keys)


def test_a_pending_key_is_held_until_its_lease_runs_out_and_a_done_one_never() -> None:
    record = a_record()
    record.leased_until = NOW + timedelta(minutes=2)

    assert record.held(NOW)
    assert not record.held(NOW + timedelta(minutes=2))
    record.result_id = "order-1"
    assert not record.held(NOW)
