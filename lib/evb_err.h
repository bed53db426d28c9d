/* Error codes shared by every module: 0 is success, a negative value is
 * either -errno or one of the EVB_E* codes below. */
#ifndef EVB_ERR_H
#define EVB_ERR_H

enum {
	EVB_EBADMAGIC = -1001, /* frame does not start with the magic */
	EVB_EVERSION = -1002,  /* frame version this reader does not speak */
	EVB_EBADHDR = -1003,   /* frame header field out of range */
	EVB_ETOOBIG = -1004,   /* payload over the configured cap */
	EVB_ETRUNC = -1005,    /* stream or file ends inside a frame */
	EVB_EWAVBAD = -1006,   /* not a RIFF/WAVE file */
	EVB_EWAVFMT = -1007,   /* WAV encoding we do not decode */
	EVB_EWAVTRUNC = -1008, /* WAV shorter than its chunks say */
	EVB_ECONFIG = -1009,   /* bad configuration value */
	EVB_EJSON = -1010,     /* payload is not the JSON expected */
	EVB_EFULL = -1011,     /* bounded queue is full */
};

/* Returns a static description of err (EVB_E* code or -errno). */
const char *evb_strerror(int err);

#endif
