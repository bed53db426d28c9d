/* Event JSON -> database record: the checks and derived values of
 * evb-logger, with no I/O. One event payload becomes one JSON object of the
 * batch that sql/0002-ingest.sql evb_ingest() takes (docs/logger.md). */
#ifndef EVB_LOGGER_EVMAP_H
#define EVB_LOGGER_EVMAP_H

#include <stddef.h>
#include <stdint.h>

#define EVM_NEMOTIONS 48
#define EVM_TOP 3
#define EVM_REASON_MAX 200

enum evm_status {
	EVM_ACCEPTED = 0,  /* known type, mapped to rows */
	EVM_UNHANDLED = 1, /* well formed, a type evb-logger has no mapping for */
	EVM_REJECTED = 2,  /* malformed: stored in call_events with the reason */
};

enum evm_valence { EVM_NEGATIVE = -1, EVM_NEUTRAL = 0, EVM_POSITIVE = 1 };

/* A growable byte buffer with a hard cap. */
struct evm_buf {
	char *p;
	size_t len, cap, max;
};

/* What evm_map() found, for counters and log lines. */
struct evm_info {
	enum evm_status status;
	char reason[EVM_REASON_MAX]; /* "" unless rejected */
	char event_id[37];           /* as stored (derived when the event had none) */
	char type[65];               /* "" when unknown */
};

/* The sentiment of one set of scores (docs/emotions.md). */
struct evm_sentiment {
	int top[EVM_TOP];  /* indexes into evm_emotion_name(), highest first */
	int valence;       /* enum evm_valence */
	double confidence; /* 0..1, rounded to 4 decimals */
};

/* The i-th of the 48 prosody emotions, spelled as EVI does (i < 48). */
const char *evm_emotion_name(int i);

/* The valence of the i-th emotion (enum evm_valence). */
int evm_emotion_valence(int i);

/* "positive", "neutral" or "negative". */
const char *evm_valence_name(int valence);

/* Derives the top three emotions, sentiment and confidence from the 48
 * scores, in evm_emotion_name() order (docs/emotions.md). */
void evm_sentiment(const double scores[EVM_NEMOTIONS], struct evm_sentiment *out);

/* Maps a provider's raw call status (Twilio or Vonage spelling) to the
 * canonical status of the calls table; NULL for a status that does not
 * change a call's status (e.g. Vonage "human"). */
const char *evm_status_canonical(const char *raw);

/* Parses an RFC 3339 time with optional fraction and a Z or +hh:mm offset
 * into milliseconds since 1970 (UTC). Returns 0, or -1 when malformed. */
int evm_parse_time(const char *s, int64_t *ms);

/* Initialises b empty with a cap of max bytes. */
void evm_buf_init(struct evm_buf *b, size_t max);
void evm_buf_release(struct evm_buf *b);

/* Appends len bytes; returns 0, or -ENOBUFS past the cap, -ENOMEM. */
int evm_buf_add(struct evm_buf *b, const void *p, size_t len);

/* Checks one event payload (len bytes, need not be NUL-terminated) and
 * appends its batch record to out. Every payload, however bad, yields a
 * record (status rejected, with the reason); info (may be NULL) says which.
 * Returns 0, or -ENOBUFS / -ENOMEM from out (out is then unchanged). */
int evm_map(const void *payload, size_t len, struct evm_buf *out, struct evm_info *info);

/* Appends the record of a payload the database refused: status rejected
 * with reason, no call or derived fields. Same returns as evm_map(). */
int evm_map_refused(const void *payload, size_t len, const char *reason,
		    struct evm_buf *out, struct evm_info *info);

/* A call named only by events without call fields (utterances, marks...):
 * all evb_ingest_calls() needs of them is the earliest time and provider. */
struct evm_plain_call {
	char id[37]; /* "" for a free slot */
	char p[8];
	int64_t ts;
};

/* A batch for the COPY write path (sql/0004-copy-ingest.sql): calls holds
 * call records for evb_ingest_calls(), each followed by a comma, after
 * evm_copy_finish(); utt and evs hold rows of utterances and call_events in
 * COPY's text format. */
struct evm_copy {
	struct evm_buf calls, utt, evs;
	struct evm_plain_call *plain; /* open addressing, cap a power of two */
	size_t nplain, cap;
};

/* Initialises c empty, each buffer capped at max bytes. */
void evm_copy_init(struct evm_copy *c, size_t max);
void evm_copy_release(struct evm_copy *c);

/* Empties c for a new batch. */
void evm_copy_reset(struct evm_copy *c);

/* Appends the records of the calls only plain events named to calls. Returns
 * 0, -ENOBUFS or -ENOMEM. */
int evm_copy_finish(struct evm_copy *c);

/* Checks one event payload as evm_map() does and appends its rows to one
 * of the nout batches of out: always the same one for a call (*lane, when
 * not NULL, says which). A final utterance's emotion_scores go to its
 * utterances row only, not to the call_events payload. Returns 0; 1 when
 * the event needs the JSON path (rejected, or scores or metadata under an
 * escaped key), -ENOBUFS or -ENOMEM; out is unchanged unless 0. */
int evm_map_copy(const void *payload, size_t len, struct evm_copy *out, size_t nout,
		 struct evm_info *info, size_t *lane);

#endif
