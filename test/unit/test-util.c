/* Clocks, wall-clock formatting and little-endian helpers. */
#include <string.h>

#include "evb_util.h"
#include "tap.h"

int main(void)
{
	char ts[32];
	uint8_t b[8];
	uint64_t t0 = evb_now_ns(), t1 = evb_now_ns();

	ok(t1 >= t0 && t0 > 0, "monotonic clock never goes back");
	evb_wallclock_rfc3339(ts, sizeof(ts));
	ok(strlen(ts) == 24 && ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' &&
		   ts[19] == '.' && ts[23] == 'Z',
	   "RFC 3339 with milliseconds: %s", ts);
	evb_put_le16(b, 0x1234);
	ok(b[0] == 0x34 && b[1] == 0x12 && evb_get_le16(b) == 0x1234, "le16");
	evb_put_le32(b, 0xdeadbeef);
	ok(b[0] == 0xef && b[3] == 0xde && evb_get_le32(b) == 0xdeadbeef, "le32");
	evb_put_le64(b, 0x0102030405060708ull);
	ok(b[0] == 8 && b[7] == 1 && evb_get_le64(b) == 0x0102030405060708ull, "le64");
	return done_testing();
}
