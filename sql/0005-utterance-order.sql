-- Utterances stamped in the same millisecond kept a random order in
-- transcripts (the tie went to event_id, a random UUID): EVI's user_message
-- and the assistant_message answering it can arrive together. seq numbers
-- utterances as evb-logger stores them, which for one call is the order
-- evb-hume sent them in (one sender, one spool, and a call's events always
-- go through the same writer connection, in order); it breaks the ties.
ALTER TABLE utterances ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;

CREATE OR REPLACE VIEW emotion_timeline AS
SELECT u.call_id,
	row_number() OVER (PARTITION BY u.call_id ORDER BY u.spoken_at, u.seq) AS turn,
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
