/* Fuzz target: one event payload through evb-logger's checks and record
 * building (bin/logger/evmap.c, compiled in), which must accept anything,
 * never crash, and always yield one JSON object record. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bin/logger/evmap.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evm_buf b;
	struct evm_info info;
	json_t *rec;

	evm_buf_init(&b, 64u << 20);
	if (evm_map(data, size, &b, &info) == 0) {
		rec = json_loadb(b.p, b.len, 0, NULL);
		if (!json_is_object(rec) || strlen(info.event_id) != 36)
			abort(); /* every payload must give a well-formed record */
		json_decref(rec);
		b.len = 0;
		if (evm_map_refused(data, size, "fuzz", &b, &info) != 0)
			abort();
	}
	evm_buf_release(&b);
	return 0;
}
