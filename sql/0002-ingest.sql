-- evibridge schema, part 2: the functions evb-logger writes through.

-- Order of the canonical call statuses: a call's status only moves to a
-- status of a higher rank. Every end status has the same rank, so the first
-- one recorded stays.
CREATE FUNCTION evb_status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE status
		WHEN 'initiated' THEN 1
		WHEN 'ringing' THEN 2
		WHEN 'in-progress' THEN 3
		WHEN 'completed' THEN 4
		WHEN 'busy' THEN 4
		WHEN 'no-answer' THEN 4
		WHEN 'canceled' THEN 4
		WHEN 'failed' THEN 4
		ELSE 0
	END
$$;

-- Writes one batch of events. batch is a JSON array of records built and
-- checked by evb-logger (bin/logger/evmap.c, docs/logger.md):
--   e event_id, c call_id, t type, p provider, ts epoch ms, s accepted |
--   unhandled | rejected, r reason, ev the event as sent, raw a payload that
--   is not a JSON object;
--   call.started: dir fr tn pcid agent cn ce (metadata from ev);
--   call.status / call.ended: cs canonical status; call.ended: dur why;
--   chat.metadata: chat chatg;
--   utterance: fin (final), role mid top sent conf b en intr (text and
--   emotion_scores from ev).
-- Idempotent: a replayed event changes nothing. Events may come in any
-- order: a call row is created by the first event naming the call. Returns
-- the number of events that were new.
CREATE FUNCTION evb_ingest(batch jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	INSERT INTO agents (slug, name)
	SELECT DISTINCT x.agent, x.agent
	FROM jsonb_to_recordset(batch) AS x(s text, agent text)
	WHERE x.agent IS NOT NULL AND x.s <> 'rejected'
	ORDER BY 1
	ON CONFLICT (slug) DO NOTHING;

	-- One row per call of the batch, merged with the row already there.
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
		coalesce((array_agg(x.ev -> 'metadata' ORDER BY x.ts)
			FILTER (WHERE x.t = 'call.started'
				AND jsonb_typeof(x.ev -> 'metadata') = 'object'))[1], '{}'),
		coalesce((array_agg(x.cs ORDER BY evb_status_rank(x.cs) DESC, x.ts)
			FILTER (WHERE x.cs IS NOT NULL))[1], 'initiated'),
		(array_agg(x.chat ORDER BY x.ts) FILTER (WHERE x.chat IS NOT NULL))[1],
		(array_agg(x.chatg ORDER BY x.ts) FILTER (WHERE x.chatg IS NOT NULL))[1],
		to_timestamp(min(x.ts) / 1000.0),
		to_timestamp(min(x.ts) FILTER (WHERE x.cs = 'in-progress') / 1000.0),
		to_timestamp(min(x.ts) FILTER (WHERE evb_status_rank(x.cs) = 4) / 1000.0),
		max(x.dur),
		max(x.why)
	FROM jsonb_to_recordset(batch) AS x(c uuid, t text, p text, ts bigint,
		s text, ev jsonb, cs text, dir text, fr text, tn text, pcid text,
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
		x.t, x.p, to_timestamp(x.ts / 1000.0), x.s, x.r, x.ev, x.raw
	FROM jsonb_to_recordset(batch) AS x(e uuid, c uuid, t text, p text,
		ts bigint, s text, r text, ev jsonb, raw text)
	ON CONFLICT (event_id) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
