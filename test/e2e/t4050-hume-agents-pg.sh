#!/bin/sh
# Agents and customers from PostgreSQL (schema by evb-logger --migrate):
# the agent named in call.prepare gives the config id, system prompt,
# voice and greeting (spoken first, as assistant_input); the customer comes
# from call.prepare or the calls row; agents are cached (--agent-ttl-s) and
# edits are picked up without a restart; a call evb-hume did not see start
# resumes the chat group stored for it; with the database down, cached
# agents or HUME_CONFIG_ID are used without delaying the call.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

RUN=$TMP/run
HUME_API_KEY=test-key-4050
HUME_CONFIG_ID=cfg-default
export EVB_RUN_DIR=$RUN HUME_API_KEY HUME_CONFIG_ID
PORT=$(free_port)
A=aaaaaaaa-0000-4000-8000-0000000040f1
B=aaaaaaaa-0000-4000-8000-0000000040f2
C=aaaaaaaa-0000-4000-8000-0000000040f3

ctl() {
	printf '{"kind":"control","dir":"up","call_id":"%s","json":%s}\n' "$1" "$2" | evb-cat -r
}

# prepare ID [JSON fields]: call.prepare into hume.sock.
prepare() {
	ctl $1 "{\"type\":\"call.prepare\",\"call_id\":\"$1\",\"provider\":\"twilio\",\"format\":\"ulaw/8000\",\"direction\":\"inbound\",\"from\":\"+15550100\"${2:+,$2}}" |
		evb-sock --send - --linger-ms 50 --timeout-s 10 $RUN/hume.sock >/dev/null
}

hangup() {
	ctl $1 "{\"type\":\"call.ended\",\"reason\":\"caller-hangup\"}" |
		evb-sock --send - --linger-ms 50 --timeout-s 10 $RUN/hume.sock >/dev/null
}

# settings ID: the session_settings fakehume got for call ID (its first).
settings() {
	grep "\"custom_session_id\":\"$1\"" rec.jsonl | grep "\"type\":\"session_settings\"" |
		head -n 1 | jq -c .msg
}

# open_of ID: fakehume's "open" line for call ID's first chat.
open_of() {
	conn=$(grep "\"custom_session_id\":\"$1\"" rec.jsonl | head -n 1 | jq .conn) &&
	grep "\"ev\":\"open\"" rec.jsonl | jq -c "select(.conn == $conn)"
}

# agents_locked: another session holds the agents table locked.
agents_locked() {
	test "$(pg_query "SELECT count(*) FROM pg_locks WHERE relation = 'agents'::regclass
		AND granted AND mode = 'AccessExclusiveLock'")" = 1
}

test_expect_success_here 'PostgreSQL with the schema, an agent and a call row' '
	pg_start &&
	evb-logger --migrate >migrate.out 2>&1 &&
	pg_query "INSERT INTO agents (slug, name, hume_config_id, voice, system_prompt, greeting)
		VALUES (\$\$sarah_sales\$\$, \$\$Sarah\$\$, \$\$cfg-sarah\$\$, \$\$voice-sarah\$\$,
			\$\$You are Sarah, a friendly sales agent.\$\$,
			\$\$Hi, this is Sarah from sales.\$\$)" &&
	pg_query "INSERT INTO calls (id, provider, agent, customer_name, customer_email)
		VALUES (\$\$$B\$\$, \$\$twilio\$\$, \$\$sarah_sales\$\$, \$\$Alex Doe\$\$,
			\$\$alex@example.com\$\$)"
'

test_expect_success_here 'fakehume and evb-hume (agents cached 1 s) start' '
	evb_start_ready fakehume evb-fakehume --listen 127.0.0.1:$PORT --record rec.jsonl &&
	evb_start_ready hume evb-hume --agent-ttl-s 1 \
		--HUME_EVI_URL=ws://127.0.0.1:$PORT/v0/evi/chat
'

test_expect_success 'a call for agent sarah_sales: her config, prompt, voice' '
	prepare $A "\"agent\":\"sarah_sales\",\"customer\":{\"name\":\"Jo Public\"}" &&
	wait_for "settings $A | grep -q session_settings" 10 &&
	open_of $A | jq -e ".query.config_id == \"cfg-sarah\"" &&
	settings $A | jq -e ".system_prompt == \"You are Sarah, a friendly sales agent.\" and
		.voice_id == \"voice-sarah\" and .variables.agent_name == \"Sarah\" and
		.variables.customer_name == \"Jo Public\""
'

test_expect_success 'her greeting is spoken first, as assistant_input' '
	wait_for "grep -q assistant_input rec.jsonl" 10 &&
	grep "\"type\":\"assistant_input\"" rec.jsonl | jq -e ".msg.text == \"Hi, this is Sarah from sales.\"" &&
	wait_for "grep \"\\\"ev\\\":\\\"sent\\\"\" rec.jsonl | grep -q assistant_end" 10 &&
	hangup $A
'

test_expect_success 'a call without a customer in call.prepare: the calls row has it' '
	prepare $B "\"agent\":\"sarah_sales\"" &&
	wait_for "settings $B | grep -q session_settings" 10 &&
	settings $B | jq -e ".variables.customer_name == \"Alex Doe\" and
		.variables.customer_email == \"alex@example.com\"" &&
	hangup $B
'

test_expect_success 'an unknown agent: HUME_CONFIG_ID and no prompt' '
	prepare $C "\"agent\":\"nobody_here\",\"customer\":{\"name\":\"Kim\"}" &&
	wait_for "settings $C | grep -q session_settings" 10 &&
	open_of $C | jq -e ".query.config_id == \"cfg-default\"" &&
	settings $C | jq -e ".system_prompt == null and .voice_id == null" &&
	hangup $C
'

test_expect_success 'an edited agent is picked up without a restart' '
	pg_query "UPDATE agents SET system_prompt = \$\$You are Sarah 2.\$\$
		WHERE slug = \$\$sarah_sales\$\$" &&
	echo 0 >probe.n &&
	probe() {
		n=$(($(cat probe.n) + 1)) && echo $n >probe.n &&
		id=aaaaaaaa-0000-4000-8000-$(printf %012d $n) &&
		prepare $id "\"agent\":\"sarah_sales\",\"customer\":{\"name\":\"Jo\"}" &&
		wait_for "settings $id | grep -q session_settings" 10 &&
		hangup $id &&
		settings $id | grep -q "You are Sarah 2."
	} &&
	wait_for probe 10 &&
	echo "picked up at probe $(cat probe.n)"
'

test_expect_success 'a call evb-hume did not see start resumes its chat group' '
	group=$(open_of $A | jq -r .chat_group_id) &&
	D=aaaaaaaa-0000-4000-8000-0000000040f4 &&
	pg_query "INSERT INTO calls (id, provider, agent, hume_chat_group_id)
		VALUES (\$\$$D\$\$, \$\$twilio\$\$, \$\$sarah_sales\$\$, \$\$$group\$\$)" &&
	sox -n -r 8000 -b 16 -c 1 quiet.wav trim 0 0.4 &&
	evb-wav to-frames --as l16/8000 --call $D quiet.wav |
		evb-sock --send - --linger-ms 50 --timeout-s 10 $RUN/hume.sock >/dev/null &&
	wait_for "settings $D | grep -q session_settings" 10 &&
	open_of $D | jq -e ".resumed == true and .chat_group_id == \"$group\"" &&
	grep -q "call=$D resuming chat group .$group. from the database" hume.log &&
	! grep "\"custom_session_id\":\"$D\"" rec.jsonl | grep -q assistant_input &&
	hangup $D
'

test_expect_success_here 'a slow database holds a call back --db-wait-ms (500) at most' '
	evb_start locker psql -XAtq -d "$DATABASE_URL" -c "BEGIN; LOCK TABLE agents IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;" &&
	wait_for agents_locked 10 &&
	G=aaaaaaaa-0000-4000-8000-0000000040f7 &&
	prepare $G "\"agent\":\"slow_agent\",\"customer\":{\"name\":\"Jo\"}" &&
	wait_for "settings $G | grep -q session_settings" 10 &&
	open_of $G | jq -e ".query.config_id == \"cfg-default\"" &&
	grep -q "call=$G no answer from the database in 500 ms: connecting with the defaults" hume.log &&
	t1=$(sed -n "s/^\([^ ]*\) .*call=$G prepared.*/\1/p" hume.log) &&
	t2=$(sed -n "s/^\([^ ]*\) .*call=$G connecting to EVI.*/\1/p" hume.log | head -n 1) &&
	ms() { echo "$1" | awk -F "[T:Z]" "{ printf \"%d\", (\$2 * 3600 + \$3 * 60 + \$4) * 1000 }"; } &&
	wait_ms=$(( $(ms $t2) - $(ms $t1) )) && echo "waited $wait_ms ms" &&
	test $wait_ms -ge 450 && test $wait_ms -le 1200 &&
	evb_wait locker && hangup $G
'

test_expect_success_here 'the database goes away' '
	pg_stop
'

test_expect_success 'database down: cached agent, at once; then the defaults' '
	E=aaaaaaaa-0000-4000-8000-0000000040f5 &&
	prepare $E "\"agent\":\"sarah_sales\",\"customer\":{\"name\":\"Jo\"}" &&
	wait_for "settings $E | grep -q session_settings" 10 &&
	open_of $E | jq -e ".query.config_id == \"cfg-sarah\"" &&
	grep -q "unable to read agents from the database" hume.log &&
	F=aaaaaaaa-0000-4000-8000-0000000040f6 &&
	prepare $F "\"agent\":\"someone_else\"" &&
	wait_for "settings $F | grep -q session_settings" 10 &&
	open_of $F | jq -e ".query.config_id == \"cfg-default\"" &&
	test $(grep -c "unable to read agents from the database" hume.log) -eq 1 &&
	hangup $E && hangup $F
'

test_expect_success_here 'everything stops cleanly' '
	for d in hume fakehume; do
		kill -TERM $(evb_pid $d) && { wait $(evb_pid $d); test $? -eq 0; } || return 1
	done
'

test_done
