#include <string.h>

#include "evb_err.h"

const char *evb_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case EVB_EBADMAGIC: return "bad frame magic";
	case EVB_EVERSION: return "unsupported frame version";
	case EVB_EBADHDR: return "bad frame header";
	case EVB_ETOOBIG: return "payload too large";
	case EVB_ETRUNC: return "truncated frame";
	case EVB_EWAVBAD: return "not a RIFF/WAVE file";
	case EVB_EWAVFMT: return "unsupported WAV encoding";
	case EVB_EWAVTRUNC: return "truncated WAV";
	case EVB_ECONFIG: return "bad configuration";
	case EVB_EJSON: return "bad JSON";
	case EVB_EFULL: return "queue full";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}
