-- evibridge schema, part 4: a cheaper write path, and each utterance's 48
-- scores stored once.
--
-- evb-logger now writes a batch as one transaction of three statements:
-- SELECT evb_ingest_calls(records) for the agents and calls rows, then
-- COPY utterances and COPY call_events with rows it builds itself (no JSON
-- batch for PostgreSQL to parse and pick apart). A batch with a rejected
-- event, or one that would insert an event_id already there (a replay),
-- still goes through evb_ingest() (sql/0002-ingest.sql).
--
-- The payload in call_events of a final utterance with scores no longer
-- holds emotion_scores: they are in utterances.emotion_scores, once.
-- call_events_as_sent shows every event as it was sent, scores included.
-- Rows written before this migration keep their scores in the payload.

-- Writes the agents and calls rows of one batch. records is a JSON array
-- of records as evb_ingest() takes them (docs/logger.md), except that a
-- call.started record carries its metadata object as meta (there is no
-- ev). Merges exactly as evb_ingest() does. Returns the number of calls.
CREATE FUNCTION evb_ingest_calls(records jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	INSERT INTO agents (slug, name)
	SELECT DISTINCT x.agent, x.agent
	FROM jsonb_to_recordset(records) AS x(s text, agent text)
	WHERE x.agent IS NOT NULL AND x.s <> 'rejected'
	ORDER BY 1
	ON CONFLICT (slug) DO NOTHING;

	INSERT INTO calls AS k (id, provider, provider_call_id, direction,
		from_number, to_number, agent, customer_name, customer_email,
		metadata, status, hume_chat_id, hume_chat_group_id, started_at,
		answered_at, ended_at, duration_ms, end_reason)
	SELECT x.c,
		min(x.p),
		max(x.pcid),
		max(x.dir),
		max(x.fr),
		max(x.tn),
		max(x.agent),
		max(x.cn),
		max(x.ce),
		coalesce((array_agg(x.meta ORDER BY x.ts)
			FILTER (WHERE x.t = 'call.started'
				AND jsonb_typeof(x.meta) = 'object'))[1], '{}'),
		coalesce((array_agg(x.cs ORDER BY evb_status_rank(x.cs) DESC, x.ts)
			FILTER (WHERE x.cs IS NOT NULL))[1], 'initiated'),
		(array_agg(x.chat ORDER BY x.ts) FILTER (WHERE x.chat IS NOT NULL))[1],
		(array_agg(x.chatg ORDER BY x.ts) FILTER (WHERE x.chatg IS NOT NULL))[1],
		to_timestamp(min(x.ts) / 1000.0),
		to_timestamp(min(x.ts) FILTER (WHERE x.cs = 'in-progress') / 1000.0),
		to_timestamp(min(x.ts) FILTER (WHERE evb_status_rank(x.cs) = 4) / 1000.0),
		max(x.dur),
		max(x.why)
	FROM jsonb_to_recordset(records) AS x(c uuid, t text, p text, ts bigint,
		s text, meta jsonb, cs text, dir text, fr text, tn text, pcid text,
		agent text, cn text, ce text, chat text, chatg text, dur bigint,
		why text)
	WHERE x.s <> 'rejected' AND x.c IS NOT NULL
	GROUP BY x.c
	ORDER BY x.c
	ON CONFLICT (id) DO UPDATE SET
		provider_call_id = coalesce(k.provider_call_id, excluded.provider_call_id),
		direction = coalesce(k.direction, excluded.direction),
		from_number = coalesce(k.from_number, excluded.from_number),
		to_number = coalesce(k.to_number, excluded.to_number),
		agent = coalesce(k.agent, excluded.agent),
		customer_name = coalesce(k.customer_name, excluded.customer_name),
		customer_email = coalesce(k.customer_email, excluded.customer_email),
		metadata = excluded.metadata || k.metadata,
		status = CASE WHEN evb_status_rank(excluded.status) > evb_status_rank(k.status)
			THEN excluded.status ELSE k.status END,
		hume_chat_id = coalesce(k.hume_chat_id, excluded.hume_chat_id),
		hume_chat_group_id = coalesce(k.hume_chat_group_id, excluded.hume_chat_group_id),
		started_at = least(k.started_at, excluded.started_at),
		answered_at = least(k.answered_at, excluded.answered_at),
		ended_at = least(k.ended_at, excluded.ended_at),
		duration_ms = coalesce(k.duration_ms, excluded.duration_ms),
		end_reason = coalesce(k.end_reason, excluded.end_reason),
		updated_at = now();
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- evb_ingest() as in 0002, but storing a final utterance's payload without
-- its emotion_scores, like the COPY path.
CREATE OR REPLACE FUNCTION evb_ingest(batch jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	PERFORM evb_ingest_calls(coalesce(jsonb_agg(r - 'ev' ||
		CASE WHEN r ->> 't' = 'call.started'
			THEN jsonb_build_object('meta', r -> 'ev' -> 'metadata')
			ELSE '{}' END), '[]'))
	FROM jsonb_array_elements(batch) AS r;

	INSERT INTO utterances (event_id, call_id, role, message_id, text,
		emotion_scores, top_emotions, sentiment, confidence, begin_ms, end_ms,
		interrupted, spoken_at)
	SELECT x.e, x.c, x.role, x.mid, x.ev ->> 'text',
		CASE WHEN x.sent IS NOT NULL THEN x.ev -> 'emotion_scores' END,
		x.top, x.sent, x.conf, x.b, x.en, coalesce(x.intr, false),
		to_timestamp(x.ts / 1000.0)
	FROM jsonb_to_recordset(batch) AS x(e uuid, c uuid, s text, ts bigint,
		ev jsonb, fin boolean, role text, mid text, top text[], sent text,
		conf real, b integer, en integer, intr boolean)
	WHERE x.fin AND x.s = 'accepted'
	ON CONFLICT (event_id) DO NOTHING;

	INSERT INTO call_events (event_id, call_id, type, provider, ts, status,
		reason, payload, raw)
	SELECT x.e,
		CASE WHEN x.s <> 'rejected' THEN x.c
			ELSE (SELECT k.id FROM calls k WHERE k.id = x.c) END,
		x.t, x.p, to_timestamp(x.ts / 1000.0), x.s, x.r,
		CASE WHEN x.fin AND x.s = 'accepted' AND x.sent IS NOT NULL
			THEN x.ev - 'emotion_scores' ELSE x.ev END,
		x.raw
	FROM jsonb_to_recordset(batch) AS x(e uuid, c uuid, t text, p text,
		ts bigint, s text, r text, ev jsonb, raw text, fin boolean,
		sent text)
	ON CONFLICT (event_id) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- Every event as it was sent: call_events with a final utterance's
-- emotion_scores put back into its payload from utterances.
CREATE VIEW call_events_as_sent AS
SELECT e.event_id,
	e.call_id,
	e.type,
	e.provider,
	e.ts,
	e.status,
	e.reason,
	CASE WHEN u.emotion_scores IS NOT NULL AND NOT e.payload ? 'emotion_scores'
		THEN e.payload || jsonb_build_object('emotion_scores', u.emotion_scores)
		ELSE e.payload END AS payload,
	e.raw,
	e.created_at
FROM call_events e
LEFT JOIN utterances u ON u.event_id = e.event_id;

-- The foreign keys of utterances and call_events on calls, checked once per
-- statement rather than once per row (a query per row was a sixth of a
-- batch's time): each insert or update locks the calls its rows name, as
-- the foreign key did (FOR KEY SHARE), and fails with SQLSTATE 23503 when
-- one is missing; deleting a call deletes its rows (ON DELETE CASCADE); a
-- call's id cannot change while rows name it.
ALTER TABLE utterances DROP CONSTRAINT utterances_call_id_fkey;
ALTER TABLE call_events DROP CONSTRAINT call_events_call_id_fkey;

CREATE FUNCTION evb_check_call_ids() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	missing uuid;
BEGIN
	PERFORM 1 FROM calls k
	WHERE k.id IN (SELECT n.call_id FROM new_rows n)
	ORDER BY k.id
	FOR KEY SHARE;
	SELECT n.call_id INTO missing FROM new_rows n
	WHERE n.call_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.id = n.call_id)
	LIMIT 1;
	IF FOUND THEN
		RAISE foreign_key_violation USING
			MESSAGE = format('insert or update on table "%s" violates foreign key '
				'"%s_call_id_fkey"', TG_TABLE_NAME, TG_TABLE_NAME),
			DETAIL = format('Key (call_id)=(%s) is not present in table "calls".',
				missing);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER utterances_call_id_ins AFTER INSERT ON utterances
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION evb_check_call_ids();
CREATE TRIGGER utterances_call_id_upd AFTER UPDATE ON utterances
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION evb_check_call_ids();
CREATE TRIGGER call_events_call_id_ins AFTER INSERT ON call_events
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION evb_check_call_ids();
CREATE TRIGGER call_events_call_id_upd AFTER UPDATE ON call_events
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION evb_check_call_ids();

CREATE FUNCTION evb_calls_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM utterances WHERE call_id IN (SELECT o.id FROM old_rows o);
	DELETE FROM call_events WHERE call_id IN (SELECT o.id FROM old_rows o);
	RETURN NULL;
END
$$;

CREATE TRIGGER calls_cascade AFTER DELETE ON calls
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION evb_calls_deleted();

CREATE FUNCTION evb_calls_id_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM utterances WHERE call_id = OLD.id)
		OR EXISTS (SELECT 1 FROM call_events WHERE call_id = OLD.id) THEN
		RAISE foreign_key_violation USING
			MESSAGE = format('the id of call %s is still named by its events', OLD.id);
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER calls_id_kept BEFORE UPDATE OF id ON calls
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
	EXECUTE FUNCTION evb_calls_id_kept();
