-- evibridge schema, part 1: the four tables. Applied by `evb-logger --migrate`
-- (or by evb-logger at start) in one transaction, recorded in
-- schema_migrations. Never edit a migration that has shipped: add a new one.

-- Agents: one row per EVI persona. evb-logger adds a bare row (slug only)
-- when an event names an agent that is not here yet, so calls.agent can be a
-- foreign key; evb-api owns the other columns.
CREATE TABLE agents (
	slug text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
	name text NOT NULL,
	hume_config_id text,
	voice text,
	system_prompt text,
	greeting text,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- Calls: id is evibridge's call UUID (the call_id of every event). status is
-- the canonical status (docs/logger.md): it only moves forward, by
-- evb_status_rank().
CREATE TABLE calls (
	id uuid PRIMARY KEY,
	provider text NOT NULL CHECK (provider IN ('twilio', 'vonage')),
	provider_call_id text UNIQUE,
	direction text CHECK (direction IN ('inbound', 'outbound')),
	from_number text,
	to_number text,
	status text NOT NULL DEFAULT 'initiated' CHECK (status IN
		('initiated', 'ringing', 'in-progress', 'completed', 'busy',
		 'no-answer', 'canceled', 'failed')),
	agent text REFERENCES agents (slug) ON UPDATE CASCADE,
	hume_chat_id text,
	hume_chat_group_id text,
	customer_name text,
	customer_email text,
	metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
	started_at timestamptz,
	answered_at timestamptz,
	ended_at timestamptz,
	duration_ms bigint CHECK (duration_ms >= 0),
	end_reason text,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX calls_started_at_idx ON calls (started_at);
CREATE INDEX calls_provider_started_idx ON calls (provider, started_at);
CREATE INDEX calls_from_number_idx ON calls (from_number);
CREATE INDEX calls_agent_idx ON calls (agent);
CREATE INDEX calls_status_idx ON calls (status);
CREATE INDEX calls_created_at_idx ON calls (created_at);

-- Utterances: final user and assistant turns (interim ones stay in
-- call_events). emotion_scores holds the 48 prosody scores keyed exactly as
-- EVI spells them; top_emotions, sentiment and confidence are derived by the
-- rule in docs/emotions.md. NULL scores: EVI sent none (text input, or an
-- assistant turn without prosody).
CREATE TABLE utterances (
	event_id uuid PRIMARY KEY,
	call_id uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	role text NOT NULL CHECK (role IN ('user', 'assistant')),
	message_id text,
	text text NOT NULL,
	emotion_scores jsonb CHECK (emotion_scores IS NULL OR
		jsonb_typeof(emotion_scores) = 'object'),
	top_emotions text[] CHECK (cardinality(top_emotions) <= 3),
	sentiment text CHECK (sentiment IN ('positive', 'neutral', 'negative')),
	confidence real CHECK (confidence BETWEEN 0 AND 1),
	begin_ms integer CHECK (begin_ms >= 0),
	end_ms integer CHECK (end_ms >= 0),
	interrupted boolean NOT NULL DEFAULT false,
	spoken_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((emotion_scores IS NULL) = (sentiment IS NULL))
);

-- An utterance row is 2 to 3 kB: keep it whole in the page rather than
-- compress it (compression cost more CPU than the rest of the insert).
ALTER TABLE utterances SET (toast_tuple_target = 8160);

CREATE INDEX utterances_call_idx ON utterances (call_id, spoken_at);
CREATE INDEX utterances_spoken_at_idx ON utterances (spoken_at);
CREATE INDEX utterances_negative_idx ON utterances (spoken_at)
	WHERE sentiment = 'negative';
CREATE INDEX utterances_interrupted_idx ON utterances (call_id)
	WHERE interrupted AND role = 'assistant';

-- Every event evb-logger received, as sent (payload), keyed by event_id so a
-- replay adds nothing. status: accepted (mapped to rows), unhandled (well
-- formed, type without a mapping), rejected (malformed: reason says why; raw
-- holds a payload that is not a JSON object).
CREATE TABLE call_events (
	event_id uuid PRIMARY KEY,
	call_id uuid REFERENCES calls (id) ON DELETE CASCADE,
	type text,
	provider text,
	ts timestamptz,
	status text NOT NULL CHECK (status IN ('accepted', 'unhandled', 'rejected')),
	reason text,
	payload jsonb,
	raw text,
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((status = 'rejected') = (reason IS NOT NULL)),
	CHECK (payload IS NOT NULL OR raw IS NOT NULL)
);

ALTER TABLE call_events SET (toast_tuple_target = 8160);

CREATE INDEX call_events_call_idx ON call_events (call_id, ts);
CREATE INDEX call_events_rejected_idx ON call_events (created_at)
	WHERE status = 'rejected';
