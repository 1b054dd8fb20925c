-- Middleware -> canon: events carry their own correlation ID, source_system here is the event origin.
INSERT INTO canon.integration_event (event_id, correlation_id, idempotency_key, source_system, target_system,
                                     entity_type, entity_id, target_entity_id, event_type, status, attempt,
                                     error_message, created_at, processed_at, source_id, snapshot_ts)
SELECT event_id, correlation_id, idempotency_key, source_system, target_system, entity_type, entity_id,
       target_entity_id, event_type, status, CAST(attempt AS INTEGER), error_message, created_at, processed_at,
       event_id, _extracted_at
FROM raw.${source}__events;
