-- evibridge schema, part 3: views for psql users (docs/psql.md).

-- One row per call: who, how long, how it went, and how the caller felt.
-- dominant_emotions: the caller's three emotions with the highest mean score
-- over the call. sentiment: the caller's overall sentiment, the one whose
-- utterances carry the most confidence in total (a tie is neutral; NULL when
-- the caller said nothing scored).
CREATE VIEW call_summary AS
SELECT k.id AS call_id,
	k.provider,
	k.provider_call_id,
	k.direction,
	k.from_number,
	k.to_number,
	k.agent,
	k.status,
	k.started_at,
	k.answered_at,
	k.ended_at,
	d.duration_ms,
	round(d.duration_ms / 1000.0, 1) AS duration_s,
	coalesce(u.utterances, 0) AS utterances,
	coalesce(u.user_utterances, 0) AS user_utterances,
	coalesce(u.assistant_utterances, 0) AS assistant_utterances,
	coalesce(u.interrupted_turns, 0) AS interrupted_turns,
	e.dominant_emotions,
	CASE
		WHEN u.pos IS NULL AND u.neg IS NULL AND u.neu IS NULL THEN NULL
		WHEN coalesce(u.pos, 0) > greatest(coalesce(u.neg, 0), coalesce(u.neu, 0))
			THEN 'positive'
		WHEN coalesce(u.neg, 0) > greatest(coalesce(u.pos, 0), coalesce(u.neu, 0))
			THEN 'negative'
		ELSE 'neutral'
	END AS sentiment,
	k.hume_chat_id,
	k.hume_chat_group_id,
	k.customer_name,
	k.customer_email,
	k.end_reason,
	k.created_at
FROM calls k
CROSS JOIN LATERAL (SELECT coalesce(k.duration_ms,
	(extract(epoch FROM k.ended_at - k.answered_at) * 1000)::bigint)
	AS duration_ms) d
LEFT JOIN LATERAL (
	SELECT count(*) AS utterances,
		count(*) FILTER (WHERE x.role = 'user') AS user_utterances,
		count(*) FILTER (WHERE x.role = 'assistant') AS assistant_utterances,
		count(*) FILTER (WHERE x.role = 'assistant' AND x.interrupted) AS interrupted_turns,
		sum(x.confidence) FILTER (WHERE x.role = 'user' AND x.sentiment = 'positive') AS pos,
		sum(x.confidence) FILTER (WHERE x.role = 'user' AND x.sentiment = 'negative') AS neg,
		sum(x.confidence) FILTER (WHERE x.role = 'user' AND x.sentiment = 'neutral') AS neu
	FROM utterances x
	WHERE x.call_id = k.id
) u ON true
LEFT JOIN LATERAL (
	SELECT array_agg(t.key ORDER BY t.score DESC, t.key) AS dominant_emotions
	FROM (
		SELECT s.key, avg(s.value::float8) AS score
		FROM utterances x, jsonb_each_text(x.emotion_scores) s
		WHERE x.call_id = k.id AND x.role = 'user' AND x.emotion_scores IS NOT NULL
		GROUP BY s.key
		ORDER BY score DESC, s.key
		LIMIT 3
	) t
) e ON true;

-- Every final utterance in time order with its strongest emotions: turn
-- numbers each call's utterances from 1; emotion1..3 and score1..3 are the
-- top three emotions and their scores.
CREATE VIEW emotion_timeline AS
SELECT u.call_id,
	row_number() OVER (PARTITION BY u.call_id ORDER BY u.spoken_at, u.event_id) AS turn,
	u.spoken_at,
	round(extract(epoch FROM u.spoken_at - k.started_at)::numeric, 3) AS at_s,
	u.role,
	u.text,
	u.sentiment,
	u.confidence,
	u.top_emotions,
	u.top_emotions[1] AS emotion1,
	(u.emotion_scores ->> u.top_emotions[1])::real AS score1,
	u.top_emotions[2] AS emotion2,
	(u.emotion_scores ->> u.top_emotions[2])::real AS score2,
	u.top_emotions[3] AS emotion3,
	(u.emotion_scores ->> u.top_emotions[3])::real AS score3,
	u.interrupted,
	u.begin_ms,
	u.end_ms,
	u.event_id
FROM utterances u
JOIN calls k ON k.id = u.call_id;

-- The original app's ConversationLog model, for queries written against it:
-- one row per final utterance with call, role, message, emotion_scores,
-- sentiment, confidence and timestamp.
CREATE VIEW conversation_log AS
SELECT u.event_id AS id,
	u.call_id,
	k.provider_call_id AS call_sid,
	k.provider,
	u.role,
	u.text AS message,
	u.emotion_scores,
	u.sentiment,
	u.confidence,
	u.spoken_at AS "timestamp"
FROM utterances u
JOIN calls k ON k.id = u.call_id;
