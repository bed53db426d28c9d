#!/bin/sh
# evb-api calls against PostgreSQL and evb-fakeprovider (the Twilio and
# Vonage REST APIs over HTTPS with a test CA): place calls through both
# providers and check what the providers received and what the database
# holds; provider errors (502) and silence (504) leave failed rows; hang up;
# one call with its transcript; the paginated list; SQL injection strings
# stored as text; agents; the original app's routes and shapes.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

FAKE_PORT=$(free_port)
API_PORT=$(free_port)
URL=http://127.0.0.1:$API_PORT
TWILIO_ACCOUNT_SID=AC0123456789abcdef0123456789abcdef
TWILIO_AUTH_TOKEN=twilio-auth-token
TWILIO_PHONE_NUMBER=+14155550199
VONAGE_APPLICATION_ID=aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab
VONAGE_PHONE_NUMBER=14155550198
VONAGE_PRIVATE_KEY_PATH=$TMP/keys/vonage.key
EVB_CA_FILE=$TMP/keys/ca.pem
TWILIO_API_BASE=https://localhost:$FAKE_PORT
VONAGE_API_BASE=https://127.0.0.1:$FAKE_PORT/
EVB_API_LISTEN=127.0.0.1:$API_PORT
EVB_API_TOKEN=test-api-token-0123456789
EVB_RUN_DIR=$TMP/run
PUBLIC_BASE_URL=https://bridge.example.com/
export TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN TWILIO_PHONE_NUMBER VONAGE_APPLICATION_ID \
	VONAGE_PHONE_NUMBER VONAGE_PRIVATE_KEY_PATH EVB_CA_FILE TWILIO_API_BASE VONAGE_API_BASE \
	EVB_API_LISTEN EVB_API_TOKEN EVB_RUN_DIR PUBLIC_BASE_URL

# api METHOD PATH [JSON]: prints the HTTP status; the body goes to $TMP/out.
api() {
	if [ $# -ge 3 ]; then
		curl -sS -o "$TMP/out" -w '%{http_code}' -X "$1" \
			-H "Authorization: Bearer $EVB_API_TOKEN" \
			-H 'Content-Type: application/json' --data-binary "$3" "$URL$2"
	else
		curl -sS -o "$TMP/out" -w '%{http_code}' -X "$1" \
			-H "Authorization: Bearer $EVB_API_TOKEN" "$URL$2"
	fi
}
# expect STATUS METHOD PATH [JSON]
expect() {
	want=$1
	shift
	got=$(api "$@") || return 1
	[ "$got" = "$want" ] || {
		echo "$1 $2: HTTP $got, expected $want:" >&2
		cat "$TMP/out" >&2
		return 1
	}
}
# j FILTER: the jq filter holds on the last answer.
j() {
	jq -e "$1" "$TMP/out" >/dev/null || {
		echo "jq '$1' is false on:" >&2
		cat "$TMP/out" >&2
		return 1
	}
}
# last PROVIDER: the fake's record of the last request to PROVIDER.
last() { jq -c "select(.provider == \"$1\")" "$TMP/rec.jsonl" | tail -n 1 >"$TMP/last"; }
r() {
	jq -e "$1" "$TMP/last" >/dev/null || {
		echo "jq '$1' is false on the record:" >&2
		cat "$TMP/last" >&2
		return 1
	}
}
stop_ok() { pid=$(evb_pid "$1") && kill -TERM "$pid" && wait "$pid"; }

test_expect_success_here 'start PostgreSQL, the schema, the fake providers and evb-api' '
	pg_start &&
	evb-logger --migrate 2>migrate.log &&
	evb-fakeprovider --make-keys keys &&
	evb_start_ready fake evb-fakeprovider --listen 127.0.0.1:$FAKE_PORT \
		--cert keys/cert.pem --key keys/key.pem --vonage-public-key keys/vonage.pub \
		--record rec.jsonl &&
	evb_start_ready api evb-api --twilio-cps=100 --vonage-cps=100 --provider-timeout-ms=1500
'

AGENT='{"slug":"sarah_sales","name":"Sarah","hume_config_id":"cfg-1","voice":"ITO","system_prompt":"Sell.","greeting":"Hi!"}'
test_expect_success 'an agent to call with' '
	expect 201 POST /v1/agents "$AGENT" &&
	j ".success and .agent.slug == \"sarah_sales\" and .agent.hume_config_id == \"cfg-1\""
'

CALL1='{"to":"+14155550100","agent":"sarah_sales","customer":{"name":"Ann Lee","email":"ann@example.com"},"metadata":{"campaign":"spring","n":3},"machine_detection":true}'
test_expect_success 'POST /v1/calls through Twilio: 201, the call id and the CallSid' '
	expect 201 POST /v1/calls "$CALL1" &&
	j ".success and .provider == \"twilio\" and .status == \"initiated\"" &&
	j ".provider_call_id | test(\"^CA[0-9a-f]{32}$\")" &&
	jq -r .call_id out >c1 && jq -r .provider_call_id out >c1.sid &&
	grep -Eq "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" c1
'

test_expect_success 'Twilio received Basic auth and every form field, StatusCallbackEvent once per value' '
	C1=$(cat c1) && last twilio &&
	r ".method == \"POST\" and .path == \"/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/Calls.json\"" &&
	r ".auth == \"ok\" and .status == 201 and .problems == []" &&
	r ".form.To == [\"+14155550100\"] and .form.From == [\"+14155550199\"]" &&
	r ".form.Url == [\"https://bridge.example.com/twilio/voice?call_id=$C1&agent=sarah_sales\"]" &&
	r ".form.StatusCallback == [\"https://bridge.example.com/twilio/status?call_id=$C1\"]" &&
	r ".form.StatusCallbackEvent == [\"initiated\",\"ringing\",\"answered\",\"completed\"]" &&
	r ".form.StatusCallbackMethod == [\"POST\"] and .form.Timeout == [\"60\"]" &&
	r ".form.MachineDetection == [\"Enable\"]"
'

test_expect_success 'the calls row: initiated, outbound, agent, customer, metadata, CallSid' '
	pg_query "SELECT provider, direction, status, from_number, to_number, agent,
		customer_name, customer_email, metadata->>'\''campaign'\'', metadata->>'\''n'\'',
		provider_call_id, started_at IS NOT NULL FROM calls WHERE id = '\''$(cat c1)'\''" >row &&
	echo "twilio|outbound|initiated|+14155550199|+14155550100|sarah_sales|Ann Lee|ann@example.com|spring|3|$(cat c1.sid)|t" >want &&
	diff -u want row
'

CALL2='{"to":"+442071838750","provider":"vonage","from":"+14155550111","ring_timeout_s":30}'
test_expect_success 'POST /v1/calls through Vonage: 201 with the uuid' '
	expect 201 POST /v1/calls "$CALL2" &&
	j ".provider == \"vonage\" and (.provider_call_id | test(\"^[0-9a-f-]{36}$\"))" &&
	jq -r .call_id out >c2 && jq -r .provider_call_id out >c2.uuid &&
	test "$(pg_query "SELECT provider_call_id || '\''|'\'' || status FROM calls WHERE id = '\''$(cat c2)'\''")" = "$(cat c2.uuid)|initiated"
'

test_expect_success 'Vonage received an RS256 JWT it verified, numbers without +, our webhooks' '
	C2=$(cat c2) && last vonage &&
	r ".method == \"POST\" and .path == \"/v1/calls\" and .status == 201 and .problems == []" &&
	r ".jwt.verified == true and .jwt.header.alg == \"RS256\" and .jwt.header.typ == \"JWT\"" &&
	r ".jwt.claims.application_id == \"$VONAGE_APPLICATION_ID\"" &&
	r "(.jwt.claims.exp - .jwt.claims.iat) == 900 and (.jwt.claims.jti | length) > 0" &&
	r ".json.to == [{\"type\":\"phone\",\"number\":\"442071838750\"}]" &&
	r ".json.from == {\"type\":\"phone\",\"number\":\"14155550111\"}" &&
	r ".json.answer_url == [\"https://bridge.example.com/vonage/answer?call_id=$C2\"]" &&
	r ".json.event_url == [\"https://bridge.example.com/vonage/event?call_id=$C2\"]" &&
	r ".json.ringing_timer == 30 and .json.answer_method == \"GET\""
'

test_expect_success 'a fresh JWT per request: every jti differs' '
	expect 201 POST /v1/calls "{\"to\":\"+14155550123\",\"provider\":\"vonage\"}" &&
	last vonage && r ".json.from.number == \"14155550198\"" &&
	test "$(jq -r "select(.provider == \"vonage\") | .jwt.claims.jti" rec.jsonl | sort | uniq -d)" = ""
'

test_expect_success 'invalid requests: 400 naming the field, and no row, no provider request' '
	n=$(wc -l <rec.jsonl) && rows=$(pg_query "SELECT count(*) FROM calls") &&
	expect 400 POST /v1/calls "{}" && j ".success == false and .error.field == \"to\"" &&
	expect 400 POST /v1/calls "{\"to\":\"4155550100\"}" && j ".error.field == \"to\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+1415555abcd\"}" && j ".error.field == \"to\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+14155550100\",\"from\":\"x\"}" && j ".error.field == \"from\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+14155550100\",\"provider\":\"skype\"}" &&
	j ".error.field == \"provider\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+14155550100\",\"agent\":\"Bad Slug\"}" &&
	j ".error.field == \"agent\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+14155550100\",\"agent\":\"nobody\"}" &&
	j ".error.field == \"agent\" and (.error.message | test(\"nobody\"))" &&
	expect 400 POST /v1/calls "{\"to\":\"+14155550100\",\"metadata\":[1]}" &&
	j ".error.field == \"metadata\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+14155550100\",\"customer\":{\"email\":\"no-at\"}}" &&
	j ".error.field == \"customer.email\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+14155550100\",\"colour\":\"red\"}" &&
	j ".error.field == \"colour\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+14155550100\",\"provider\":\"vonage\",\"ring_timeout_s\":200}" &&
	j ".error.field == \"ring_timeout_s\"" &&
	expect 400 POST /v1/calls "{\"to\":" && j ".error.code == \"invalid_json\"" &&
	expect 400 POST /v1/calls "[1,2]" && j ".error.code == \"invalid_json\"" &&
	expect 400 POST /v1/calls "{\"to\":\"+1\",\"to\":\"+2\"}" &&
	test "$(wc -l <rec.jsonl)" = "$n" &&
	test "$(pg_query "SELECT count(*) FROM calls")" = "$rows"
'

test_expect_success 'the wrong Content-Type is 415; no body is 400' '
	code=$(curl -sS -o out -w "%{http_code}" -H "Authorization: Bearer $EVB_API_TOKEN" \
		-H "Content-Type: text/plain" --data-binary "{\"to\":\"+14155550100\"}" $URL/v1/calls) &&
	test "$code" = 415 && j ".success == false and .error.code == \"unsupported_media_type\"" &&
	code=$(curl -sS -o out -w "%{http_code}" -X POST -H "Authorization: Bearer $EVB_API_TOKEN" \
		-H "Content-Type: application/json" $URL/v1/calls) &&
	test "$code" = 400
'

test_expect_success 'a provider error is 502 with its message; the row is failed with it' '
	expect 502 POST /v1/calls "{\"to\":\"+15005550001\"}" &&
	j ".success == false and .error.code == \"provider_error\"" &&
	j ".error.message | test(\"not a valid phone number\") and test(\"21211\")" &&
	last twilio && r ".status == 400" &&
	pg_query "SELECT status, end_reason IS NOT NULL, ended_at IS NOT NULL, provider_call_id IS NULL
		FROM calls WHERE to_number = '\''+15005550001'\''" >row &&
	test "$(cat row)" = "failed|t|t|t" &&
	expect 502 POST /v1/calls "{\"to\":\"+15005550002\",\"provider\":\"vonage\"}" &&
	j ".error.message | test(\"vonage\") and test(\"HTTP 500\")" &&
	test "$(pg_query "SELECT status FROM calls WHERE to_number = '\''+15005550002'\''")" = failed
'

test_expect_success 'a provider that does not answer in time: 504, and the row is failed' '
	expect 504 POST /v1/calls "{\"to\":\"+15005550009\"}" &&
	j ".error.code == \"provider_timeout\" and (.error.message | test(\"1500 ms\"))" &&
	pg_query "SELECT status, end_reason FROM calls WHERE to_number = '\''+15005550009'\''" >row &&
	grep -q "^failed|twilio did not answer within 1500 ms$" row &&
	expect 504 POST /v1/calls "{\"to\":\"+15005550009\",\"provider\":\"vonage\"}" &&
	test "$(pg_query "SELECT count(*) FROM calls WHERE to_number = '\''+15005550009'\'' AND status = '\''failed'\''")" = 2
'

test_expect_success 'no row claims a call that was never placed' '
	test "$(pg_query "SELECT count(*) FROM calls WHERE provider_call_id IS NULL AND status <> '\''failed'\''")" = 0
'

test_expect_success 'hang up a Twilio call before it is answered: Status=canceled' '
	expect 200 POST "/v1/calls/$(cat c1)/hangup" &&
	j ".success and .status == \"canceled\" and .provider_call_id == \"$(cat c1.sid)\"" &&
	last twilio &&
	r ".path == \"/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/Calls/$(cat c1.sid).json\"" &&
	r ".form == {\"Status\":[\"canceled\"]} and .auth == \"ok\" and .status == 200" &&
	test "$(pg_query "SELECT status FROM calls WHERE id = '\''$(cat c1)'\''")" = canceled
'

test_expect_success 'hang up an answered Twilio call, by its CallSid: Status=completed' '
	expect 201 POST /v1/calls "{\"to\":\"+14155550101\"}" &&
	id=$(jq -r .call_id out) && sid=$(jq -r .provider_call_id out) &&
	pg_query "UPDATE calls SET status = '\''in-progress'\'' WHERE id = '\''$id'\''" &&
	expect 200 POST "/v1/calls/$sid/hangup" && j ".status == \"completed\" and .call_id == \"$id\"" &&
	last twilio && r ".form.Status == [\"completed\"]"
'

test_expect_success 'hang up a Vonage call: PUT {"action":"hangup"} with a JWT' '
	expect 200 POST "/v1/calls/$(cat c2)/hangup" && j ".status == \"completed\"" &&
	last vonage &&
	r ".method == \"PUT\" and .path == \"/v1/calls/$(cat c2.uuid)\" and .status == 204" &&
	r ".json == {\"action\":\"hangup\"} and .jwt.verified and .problems == []"
'

test_expect_success 'hangup: 404 for an unknown call, 409 for an ended one or one never placed' '
	expect 404 POST /v1/calls/00000000-0000-4000-8000-000000000000/hangup &&
	j ".error.code == \"not_found\"" &&
	expect 409 POST "/v1/calls/$(cat c1)/hangup" && j ".error.code == \"call_ended\"" &&
	pg_query "INSERT INTO calls (id, provider, status) VALUES ('\''cccccccc-0000-4000-8000-000000000001'\'', '\''twilio'\'', '\''ringing'\'')" &&
	expect 409 POST /v1/calls/cccccccc-0000-4000-8000-000000000001/hangup &&
	j ".error.code == \"call_not_placed\""
'

test_expect_success 'GET /v1/calls/{id}: the call, its transcript in order, the emotion summary' '
	C1=$(cat c1) &&
	pg_query "INSERT INTO utterances (event_id, call_id, role, text, emotion_scores,
		top_emotions, sentiment, confidence, begin_ms, end_ms, interrupted, spoken_at) VALUES
		('\''eeeeeeee-0000-4000-8000-000000000002'\'', '\''$C1'\'', '\''assistant'\'', '\''Sorry to hear that'\'',
		 NULL, NULL, NULL, NULL, 1500, 2500, true, now() + interval '\''1 s'\''),
		('\''eeeeeeee-0000-4000-8000-000000000001'\'', '\''$C1'\'', '\''user'\'', '\''I am upset'\'',
		 '\''{\"Anger\": 0.9, \"Distress\": 0.5, \"Calmness\": 0.1}'\'', '\''{Anger,Distress,Calmness}'\'',
		 '\''negative'\'', 0.8, 0, 1000, false, now())" &&
	expect 200 GET "/v1/calls/$C1" &&
	j ".success and .call.call_id == \"$C1\" and .call.agent == \"sarah_sales\"" &&
	j ".call.customer == {\"name\":\"Ann Lee\",\"email\":\"ann@example.com\"}" &&
	j ".call.metadata == {\"campaign\":\"spring\",\"n\":3}" &&
	j "[.transcript[].role] == [\"user\",\"assistant\"]" &&
	j ".transcript[0].text == \"I am upset\" and .transcript[0].sentiment == \"negative\"" &&
	j "[.transcript[0].top_emotions[].name] == [\"Anger\",\"Distress\",\"Calmness\"]" &&
	j ".transcript[0].top_emotions[0].score == 0.9 and .transcript[1].interrupted == true" &&
	j ".emotion_summary.dominant_emotions == [\"Anger\",\"Distress\",\"Calmness\"]" &&
	j ".emotion_summary.sentiment == \"negative\" and .emotion_summary.utterances == 2" &&
	j ".emotion_summary.caller_sentiments.negative == 1" &&
	expect 200 GET "/v1/calls/$(cat c1.sid)" && j ".call.call_id == \"$C1\"" &&
	expect 404 GET /v1/calls/dddddddd-0000-4000-8000-000000000000 && j ".error.code == \"not_found\"" &&
	expect 404 GET /v1/calls/CAnope
'

test_expect_success 'GET /v1/calls: pages with a cursor, newest first, per-provider counts' '
	expect 200 GET "/v1/calls?limit=3" &&
	j ".success and (.calls | length) == 3 and (.next_cursor | type) == \"string\"" &&
	total=$(pg_query "SELECT count(*) FROM calls") && j ".counts.total == $total" &&
	j ".counts.twilio == $(pg_query "SELECT count(*) FROM calls WHERE provider = '\''twilio'\''")" &&
	j ".counts.vonage == $(pg_query "SELECT count(*) FROM calls WHERE provider = '\''vonage'\''")" &&
	jq -r ".calls[].call_id" out >ids && cursor=$(jq -r .next_cursor out) &&
	while [ "$cursor" != null ]; do
		expect 200 GET "/v1/calls?limit=3&cursor=$cursor" && jq -r ".calls[].call_id" out >>ids &&
		cursor=$(jq -r .next_cursor out) || return 1
	done &&
	test "$(wc -l <ids)" = "$total" && test "$(sort -u ids | wc -l)" = "$total" &&
	pg_query "SELECT id FROM calls ORDER BY created_at DESC, id DESC" >want && diff -u want ids
'

test_expect_success 'GET /v1/calls filters: provider, status, since; bad ones are 400' '
	expect 200 "GET" "/v1/calls?provider=vonage&status=failed" &&
	j "(.calls | length) > 0 and all(.calls[]; .provider == \"vonage\" and .status == \"failed\")" &&
	j ".counts.total == (.calls | length) and .counts.twilio == 0" &&
	expect 200 GET "/v1/calls?since=2000-01-01T00:00:00Z" && j ".counts.total > 0" &&
	expect 200 GET "/v1/calls?since=2999-01-01T00:00:00%2B01:00" && j ".calls == [] and .counts.total == 0" &&
	expect 400 GET "/v1/calls?provider=skype" && j ".error.field == \"provider\"" &&
	expect 400 GET "/v1/calls?status=done" && j ".error.field == \"status\"" &&
	expect 400 GET "/v1/calls?since=yesterday" && j ".error.field == \"since\"" &&
	expect 400 GET "/v1/calls?since=2026-13-45" && j ".error.field == \"since\"" &&
	expect 400 GET "/v1/calls?limit=0" && j ".error.field == \"limit\"" &&
	expect 400 GET "/v1/calls?limit=201" &&
	expect 400 GET "/v1/calls?cursor=abc" && j ".error.field == \"cursor\""
'

INJ='{"to":"+14155550102","customer":{"name":"Robert'"'"'); DROP TABLE calls; --","email":"x@y.z"},"metadata":{"q":"'"'"' OR 1=1 --","b":"\\\\x00"}}'
test_expect_success 'SQL injection strings are stored as text and change nothing else' '
	expect 201 POST /v1/calls "$INJ" && id=$(jq -r .call_id out) &&
	expect 200 GET "/v1/calls/$id" &&
	j ".call.customer.name == \"Robert'"'"'); DROP TABLE calls; --\"" &&
	j ".call.metadata.q == \"'"'"' OR 1=1 --\"" &&
	test "$(pg_query "SELECT customer_name FROM calls WHERE id = '\''$id'\''")" = "Robert'"'"'); DROP TABLE calls; --" &&
	expect 400 GET "/v1/calls?provider=twilio%27%20OR%20%271%27=%271" &&
	expect 404 GET "/v1/calls/1%27%20OR%201=1" &&
	expect 400 POST /v1/agents "{\"slug\":\"x'"'"';drop\",\"name\":\"n\"}" &&
	pg_query "SELECT count(*) FROM calls" >/dev/null && pg_query "SELECT count(*) FROM agents" >/dev/null
'

test_expect_success 'agents: list, get, replace with PUT, 404, 409 on a duplicate' '
	expect 201 POST /v1/agents "{\"slug\":\"max\",\"name\":\"Max\"}" &&
	j ".agent == (.agent + {slug: \"max\", name: \"Max\", voice: null, greeting: null})" &&
	expect 409 POST /v1/agents "{\"slug\":\"max\",\"name\":\"Again\"}" && j ".error.code == \"conflict\"" &&
	expect 200 GET /v1/agents && j "[.agents[].slug] == [\"max\",\"sarah_sales\"]" &&
	expect 200 PUT /v1/agents/max "{\"name\":\"Maxine\",\"voice\":\"Kora\",\"greeting\":\"Hello\"}" &&
	j ".agent.name == \"Maxine\" and .agent.voice == \"Kora\" and .agent.hume_config_id == null" &&
	expect 200 GET /v1/agents/max && j ".agent.greeting == \"Hello\"" &&
	test "$(pg_query "SELECT name FROM agents WHERE slug = '\''max'\''")" = Maxine &&
	expect 400 PUT /v1/agents/max "{\"slug\":\"other\",\"name\":\"x\"}" && j ".error.field == \"slug\"" &&
	expect 400 PUT /v1/agents/max "{\"voice\":\"x\"}" && j ".error.field == \"name\"" &&
	expect 400 POST /v1/agents "{\"slug\":\"ok\",\"name\":\"n\",\"colour\":1}" && j ".error.field == \"colour\"" &&
	expect 404 GET /v1/agents/nobody && expect 404 PUT /v1/agents/nobody "{\"name\":\"x\"}"
'

test_expect_success 'agents: DELETE, 404 after, 409 while calls refer to one' '
	expect 200 DELETE /v1/agents/max && j ".deleted == \"max\"" &&
	expect 404 DELETE /v1/agents/max && expect 404 GET /v1/agents/max &&
	expect 409 DELETE /v1/agents/sarah_sales && j ".error.code == \"agent_in_use\""
'

test_expect_success 'original app: initiate-call with phone_number, JSON, shape kept' '
	expect 200 POST /api/hume-twilio/initiate-call/ "{\"phone_number\":\"+1 (415) 555-0177\",\"agent_id\":\"sarah_sales\",\"customer_name\":\"Bo\"}" &&
	j "keys == [\"call_id\",\"call_sid\",\"provider\",\"status\",\"success\"]" &&
	j ".success and .provider == \"twilio\" and .status == \"initiated\" and (.call_sid | test(\"^CA\"))" &&
	jq -r .call_id out >l1 && jq -r .call_sid out >l1.sid &&
	last twilio && r ".form.To == [\"+14155550177\"]" &&
	r ".form.Url[0] | endswith(\"&agent=sarah_sales\")" &&
	test "$(pg_query "SELECT customer_name || '\''|'\'' || agent FROM calls WHERE id = '\''$(cat l1)'\''")" = "Bo|sarah_sales"
'

test_expect_success 'original app: initiate-call as a form, with phone_no or customer_phone' '
	code=$(curl -sS -o out -w "%{http_code}" -H "Authorization: Bearer $EVB_API_TOKEN" \
		--data-urlencode "phone_no=+14155550178" --data-urlencode provider=vonage \
		$URL/api/hume-twilio/initiate-call/) &&
	test "$code" = 200 && j ".provider == \"vonage\" and (.call_sid | length) == 36" &&
	expect 200 POST /api/hume-twilio/initiate-call "{\"customer_phone\":\"+14155550179\"}" &&
	expect 400 POST /api/hume-twilio/initiate-call/ "{\"customer_name\":\"x\"}" &&
	j ".success == false and .error.field == \"phone_number\"" &&
	expect 400 POST /api/hume-twilio/initiate-call/ "{\"phone_no\":\"12\"}" && j ".error.field == \"phone_no\"" &&
	expect 502 POST /api/hume-twilio/initiate-call/ "{\"phone_number\":\"+15005550001\"}" &&
	j ".success == false and .error.code == \"provider_error\""
'

test_expect_success 'original app: call-status by call id or provider sid; 404 when unknown' '
	expect 200 GET "/api/hume-twilio/call-status/$(cat l1)/" &&
	j ".success and .call_id == \"$(cat l1)\" and .call_sid == \"$(cat l1.sid)\"" &&
	j ".provider == \"twilio\" and .status == \"initiated\" and .phone_number == \"+14155550177\"" &&
	j ".customer_name == \"Bo\" and .agent_id == \"sarah_sales\" and has(\"duration\")" &&
	expect 200 GET "/api/hume-twilio/call-status/$(cat l1.sid)/" && j ".call_id == \"$(cat l1)\"" &&
	expect 404 GET /api/hume-twilio/call-status/CA0000/ && j ".success == false"
'

test_expect_success 'original app: get-all-calls with per-provider counts and provider on each call' '
	expect 200 GET /api/hume-twilio/get-all-calls/ &&
	j ".success and .total_calls == $(pg_query "SELECT count(*) FROM calls")" &&
	j ".twilio_calls == $(pg_query "SELECT count(*) FROM calls WHERE provider = '\''twilio'\''")" &&
	j ".vonage_calls == $(pg_query "SELECT count(*) FROM calls WHERE provider = '\''vonage'\''")" &&
	j ".twilio_calls + .vonage_calls == .total_calls and (.calls | length) == .total_calls" &&
	j "all(.calls[]; has(\"provider\") and has(\"call_sid\") and has(\"status\") and has(\"phone_number\"))" &&
	j ".calls[0].call_id == \"$(pg_query "SELECT id FROM calls ORDER BY created_at DESC, id DESC LIMIT 1")\"" &&
	expect 200 GET "/api/hume-twilio/get-all-calls/?limit=2" && j "(.calls | length) == 2"
'

test_expect_success 'the fake providers saw no malformed request' '
	test "$(jq -c "select(.problems != [])" rec.jsonl)" = ""
'

test_expect_success_here 'evb-logger receives the call events evb-api queued for it' '
	logger_start &&
	placed=$(pg_query "SELECT count(*) FROM calls WHERE provider_call_id IS NOT NULL AND direction = '\''outbound'\''") &&
	failed=$(pg_query "SELECT count(*) FROM calls WHERE status = '\''failed'\''") &&
	wait_for "test \"\$(pg_query \"SELECT count(*) FROM call_events WHERE type = '\''call.started'\''\")\" = $placed" 20 &&
	wait_for "test \"\$(pg_query \"SELECT count(*) FROM call_events WHERE type = '\''call.ended'\''\")\" = $failed" 20 &&
	test "$(pg_query "SELECT count(*) FROM call_events WHERE status <> '\''accepted'\''")" = 0 &&
	test "$(pg_query "SELECT status || '\''|'\'' || provider_call_id || '\''|'\'' || customer_name FROM calls WHERE id = '\''$(cat c1)'\''")" = "canceled|$(cat c1.sid)|Ann Lee"
'

test_expect_success_here 'evb-api, the fake and evb-logger stop on SIGTERM with status 0' '
	stop_ok api && stop_ok fake && stop_ok logger
'

test_expect_success 'stop PostgreSQL' 'pg_stop'

test_done
