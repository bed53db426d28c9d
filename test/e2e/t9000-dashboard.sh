#!/bin/sh
# The dashboard served by evb-api: static files without a token (content
# types, CSP, ETag, no path traversal), GET /v1/calls/{id}/events, and the
# pages in a real browser (headless Debian chromium driven by npm
# playwright-core: test/e2e/dashboard.spec.mjs) against two calls loaded
# with evb-logger --stdin: the list, filters, live updates, a failed test
# call, the transcript with emotion bars, the SVG timeline with an
# interruption marker, the events; test calls through evb-fakeprovider
# (placed, refused by "Twilio", provider not configured); screenshots in
# $EVB_BUILD (build/).
# Needs node, node_modules (npm ci) and /usr/bin/chromium: fails without.
. "$(dirname "$0")/../lib.sh"
. "$TOP/test/lib-pg.sh"

API_PORT=$(free_port)
FAKE_PORT=$(free_port)
URL=http://127.0.0.1:$API_PORT
EVB_API_LISTEN=127.0.0.1:$API_PORT
EVB_API_TOKEN=t9000-token-0123456789
EVB_RUN_DIR=$TMP/run
# Twilio is evb-fakeprovider; Vonage is not configured.
TWILIO_ACCOUNT_SID=AC9000000000000000000000000000000a
TWILIO_AUTH_TOKEN=t9000-twilio-token
TWILIO_PHONE_NUMBER=+14155550199
TWILIO_API_BASE=https://localhost:$FAKE_PORT
EVB_CA_FILE=$TMP/keys/ca.pem
PUBLIC_BASE_URL=https://bridge.example.com
export EVB_API_LISTEN EVB_API_TOKEN EVB_RUN_DIR TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN \
	TWILIO_PHONE_NUMBER TWILIO_API_BASE EVB_CA_FILE PUBLIC_BASE_URL
CHROMIUM=${EVB_CHROMIUM:-/usr/bin/chromium}

C1=9a000000-0000-4000-8000-000000000001 # twilio, completed, an interruption
C2=9a000000-0000-4000-8000-000000000002 # vonage, in progress
T0=$(($(date -u +%s) - 600))
n=0
at() { date -u -d "@$((T0 + $1))" +%Y-%m-%dT%H:%M:%S; }
ev() { # ev TYPE CALL PROVIDER SECONDS EXTRA
	n=$((n + 1))
	printf '{"type":"%s","call_id":"%s","provider":"%s","ts":"%s.000Z","event_id":"9e000000-0000-4000-8000-%012d"%s}\n' \
		"$1" "$2" "$3" "$(at "$4")" "$n" "$5"
}
utt() { # utt CALL PROVIDER SECONDS ROLE TEXT INTERRUPTED SCORES...
	c=$1 p=$2 t=$3 r=$4 x=$5 i=$6
	shift 6
	ev utterance "$c" "$p" "$t" ",\"role\":\"$r\",\"text\":\"$x\",\"interrupted\":$i,\"begin_ms\":$((t * 1000)),\"end_ms\":$((t * 1000 + 1500)),\"emotion_scores\":$(ev_scores "$@")"
}
{
	ev call.started $C1 twilio 0 ',"direction":"inbound","from":"+14155550111","to":"+14155550199","agent":"sarah_sales","provider_call_id":"CA9000"'
	ev call.status $C1 twilio 1 ',"status":"in-progress"'
	utt $C1 twilio 2 user 'Hi, I was charged twice this month' false Anger=0.7 Distress=0.5 Disappointment=0.4
	utt $C1 twilio 6 assistant 'I am sorry to hear that. Let me look at your account' true Sympathy=0.6 Calmness=0.5 Interest=0.3
	ev interruption $C1 twilio 8 ''
	utt $C1 twilio 9 user 'No, just refund it now' false Anger=0.9 Contempt=0.5 Distress=0.45
	utt $C1 twilio 14 assistant 'Done: the refund is on its way' false Calmness=0.6 Determination=0.4 Joy=0.2
	utt $C1 twilio 18 user 'Thank you, that is better' false Relief=0.7 Calmness=0.5 Anger=0.2
	ev call.ended $C1 twilio 21 ',"duration_ms":20000,"reason":"hangup"'

	ev call.started $C2 vonage 300 ',"direction":"inbound","from":"+442071838750","to":"+14155550198","agent":"sarah_sales","provider_call_id":"VG-9000"'
	ev call.status $C2 vonage 301 ',"status":"answered"'
	utt $C2 vonage 303 user 'Hello, is anyone there?' false Interest=0.6 Doubt=0.4 Calmness=0.3
} >calls.jsonl

# api PATH [curl args...]: prints the HTTP status, the body goes to $TMP/out.
api() {
	p=$1
	shift
	rm -f "$TMP/out"
	curl -sS -o "$TMP/out" -D "$TMP/hdr" -w '%{http_code}' \
		-H "Authorization: Bearer $EVB_API_TOKEN" "$@" "$URL$p"
}
# get PATH [curl args...]: as api, without the token.
get() {
	p=$1
	shift
	rm -f "$TMP/out"
	curl -sS -o "$TMP/out" -D "$TMP/hdr" -w '%{http_code}' "$@" "$URL$p"
}
j() {
	jq -e "$1" "$TMP/out" >/dev/null || { echo "jq '$1' is false on:" >&2; cat "$TMP/out" >&2; return 1; }
}
hdr() { # hdr NAME: the header's value in the last answer
	tr -d '\r' <"$TMP/hdr" | sed -n "s/^$1: //Ip" | head -n 1
}

test_expect_success 'node, playwright-core and chromium are installed' '
	command -v node && test -x "$CHROMIUM" &&
	test -f "$TOP/node_modules/playwright-core/package.json" ||
	{ echo "missing: run npm ci at the top, apt-get install chromium nodejs npm" >&2; false; }
'

test_expect_success_here 'PostgreSQL, the schema, two calls loaded with evb-logger --stdin' '
	pg_start &&
	evb-logger --migrate 2>migrate.log &&
	evb-logger --stdin <calls.jsonl 2>load.log &&
	test "$(db_count calls)" = 2 && test "$(db_count utterances)" = 6 &&
	test "$(pg_query "SELECT count(*) FROM call_events WHERE status <> '\''accepted'\''")" = 0
'

test_expect_success_here 'evb-fakeprovider, and evb-api finds web/ beside the program' '
	evb-fakeprovider --make-keys keys &&
	evb_start_ready fake env VONAGE_APPLICATION_ID=aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab \
		evb-fakeprovider --listen 127.0.0.1:$FAKE_PORT \
		--cert keys/cert.pem --key keys/key.pem --vonage-public-key keys/vonage.pub \
		--record rec.jsonl &&
	evb_start_ready api evb-api --twilio-cps=100 &&
	grep -q "dashboard: [0-9]* files from" $TMP/api.log
'

test_expect_success '--web-dir without index.html: exit 100 naming the option' '
	test_exit_code 100 evb-api --web-dir "$TMP" 2>err &&
	grep -q "web-dir" err
'

test_expect_success 'GET / and /ui/: the page, no token needed, CSP and cache headers' '
	test "$(get /)" = 200 && grep -q "<title>evibridge dashboard</title>" out &&
	test "$(hdr content-type)" = "text/html; charset=utf-8" &&
	hdr content-security-policy | grep -q "^default-src '\''self'\''" &&
	hdr content-security-policy | grep -q "frame-ancestors '\''none'\''" &&
	test "$(hdr x-content-type-options)" = nosniff &&
	test "$(hdr cache-control)" = no-cache && etag=$(hdr etag) && test -n "$etag" &&
	test "$(get / -H "If-None-Match: $etag")" = 304 && test ! -s out &&
	test "$(get /ui/)" = 200 && grep -q "/ui/app.js" out &&
	test "$(get /ui)" = 200 &&
	test "$(get /ui/app.js)" = 200 && test "$(hdr content-type)" = "text/javascript; charset=utf-8" &&
	cmp out "$TOP/web/app.js" &&
	test "$(get /ui/style.css)" = 200 && test "$(hdr content-type)" = "text/css; charset=utf-8" &&
	test "$(get /ui/favicon.svg)" = 200 && test "$(hdr content-type)" = image/svg+xml &&
	test "$(get /ui/app.js -I)" = 200 && test "$(hdr content-length)" = "$(wc -c <"$TOP/web/app.js")"
'

test_expect_success 'static files: traversal, unknown names and other methods are refused' '
	test "$(get /ui/../../etc/passwd --path-as-is)" = 404 &&
	test "$(get /ui/..%2f..%2fetc%2fpasswd --path-as-is)" = 404 &&
	test "$(get /ui/%2e%2e/bin/api/web.c --path-as-is)" = 404 &&
	test "$(get /ui/.hidden)" = 404 && test "$(get /ui/nope.js)" = 404 &&
	test "$(get /ui/sub/app.js)" = 404 && j ".error.code == \"not_found\"" &&
	test "$(get / -X POST)" = 405 && test "$(hdr allow)" = "GET, HEAD" &&
	test "$(get /v1/calls)" = 401 && test "$(get /index.html)" = 401 &&
	test "$(get /uix)" = 401
'

test_expect_success 'GET /v1/calls: each call with dominant emotions and sentiment' '
	test "$(api /v1/calls)" = 200 &&
	j "[.calls[].call_id] == [\"$C2\",\"$C1\"] and .counts.total == 2" &&
	j ".calls[1].dominant_emotions == [\"Anger\",\"Distress\",\"Relief\"]" &&
	j ".calls[1].sentiment | type == \"string\"" &&
	j ".calls[0].status == \"in-progress\" and (.calls[0].dominant_emotions | length) == 3"
'

test_expect_success 'GET /v1/calls/{id}/events: every event in order, pages, 404, 400' '
	test "$(api /v1/calls/$C1/events)" = 200 &&
	j ".success and .call_id == \"$C1\" and .next_cursor == null" &&
	j "[.events[].type] == [\"call.started\",\"call.status\",\"utterance\",\"utterance\",\"interruption\",\"utterance\",\"utterance\",\"utterance\",\"call.ended\"]" &&
	j "all(.events[]; .status == \"accepted\" and (.ts | test(\"Z$\")))" &&
	j ".events[2].payload.emotion_scores.Anger == 0.7 and .events[2].payload.text == \"Hi, I was charged twice this month\"" &&
	jq -r ".events[].event_id" out >all &&
	test "$(api "/v1/calls/$C1/events?limit=4")" = 200 && jq -r ".events[].event_id" out >paged &&
	cursor=$(jq -r .next_cursor out) && test "$cursor" != null &&
	while [ "$cursor" != null ]; do
		test "$(api "/v1/calls/$C1/events?limit=4&cursor=$cursor")" = 200 &&
		jq -r ".events[].event_id" out >>paged && cursor=$(jq -r .next_cursor out) || return 1
	done &&
	diff -u all paged &&
	test "$(api /v1/calls/CA9000/events)" = 200 && j ".call_id == \"$C1\" and (.events | length) == 9" &&
	test "$(api /v1/calls/9a000000-0000-4000-8000-00000000dead/events)" = 404 &&
	j ".error.code == \"not_found\"" &&
	test "$(api "/v1/calls/$C1/events?limit=501")" = 400 && j ".error.field == \"limit\"" &&
	test "$(api "/v1/calls/$C1/events?cursor=1_zz")" = 400 && j ".error.field == \"cursor\"" &&
	test "$(api /v1/calls/$C1/events -X POST)" = 405 &&
	test "$(get /v1/calls/$C1/events)" = 401
'

test_expect_success 'the dashboard in chromium: list, filters, live update, test calls, call page' '
	test "$(api /v1/calls/$C1)" = 200 &&
	DOMINANT=$(jq -r ".emotion_summary.dominant_emotions[0]" out) &&
	SENTIMENT=$(jq -r ".emotion_summary.sentiment" out) &&
	rm -f "$EVB_BUILD"/dashboard-*.png &&
	EVB_URL=$URL EVB_TOKEN=$EVB_API_TOKEN EVB_CALL=$C1 EVB_ACTIVE_CALL=$C2 \
	EVB_DOMINANT=$DOMINANT EVB_SENTIMENT=$SENTIMENT EVB_SHOTS=$EVB_BUILD \
	EVB_CHROMIUM=$CHROMIUM DATABASE_URL=$DATABASE_URL \
		node "$TOP/test/e2e/dashboard.spec.mjs" &&
	for f in list call list-mobile call-mobile; do
		test -s "$EVB_BUILD/dashboard-$f.png" &&
		head -c 8 "$EVB_BUILD/dashboard-$f.png" | od -An -c | grep -q "P   N   G" || return 1
	done &&
	test "$(jq -s "map(select(.provider == \"twilio\")) | length" rec.jsonl)" = 2 &&
	test "$(pg_query "SELECT status FROM calls WHERE to_number = '\''+15005550001'\''")" = failed &&
	test "$(pg_query "SELECT status || '\'' '\'' || agent FROM calls WHERE to_number = '\''+14155550100'\''")" = "initiated sarah_sales"
'

test_expect_success_here 'evb-api and evb-fakeprovider stop cleanly on SIGTERM' '
	pid=$(evb_pid api) && kill -TERM $pid && wait $pid &&
	pid=$(evb_pid fake) && kill -TERM $pid && wait $pid
'

test_expect_success 'stop PostgreSQL' 'pg_stop'

test_done
