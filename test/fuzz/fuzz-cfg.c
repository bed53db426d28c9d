/* Fuzzes the KEY=value parser and the format checks with arbitrary bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evb_cfg.h"
#include "evb_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct evb_cfg *c;
	char err[256];
	const char *k;
	int r;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	c = evb_cfg_new();
	if (!c)
		return 0;
	err[0] = '\0';
	r = evb_cfg_load_buf(c, (const char *)data, size, "fuzz", err, sizeof(err));
	if (r != 0 && r != EVB_ECONFIG)
		abort();
	if (r == 0) {
		err[0] = '\0';
		r = evb_cfg_validate(c, err, sizeof(err));
		if (r != 0 && r != EVB_ECONFIG)
			abort();
	}
	if (r != 0 && (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL))
		abort(); /* an error always comes with a message */
	for (size_t i = 0; (k = evb_cfg_key_at(i)); i++) {
		(void)evb_cfg_get(c, k);
		(void)evb_cfg_get_int(c, k, 0);
		(void)evb_cfg_get_double(c, k, 0);
	}
	if (devnull)
		evb_cfg_dump(c, devnull);
	evb_cfg_free(c);
	return 0;
}
