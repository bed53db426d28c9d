/* evb-sock: connects (or listens) on a unix socket and relays frames: a file
 * or stdin to the socket, the socket to a file or stdout. Lets any daemon
 * stage be driven and captured from a shell. */
#define USAGE                                                                       \
	"evb-sock [--listen] [--send FILE] [--recv FILE] [--count N] [--timeout-s S] " \
	"[--linger-ms MS] PATH"
#define HELP                                                                        \
	"  --listen         listen on PATH and serve the first client (default: connect)\n"\
	"  --send FILE      frames to send ('-' = stdin; default: send nothing)\n"      \
	"  --recv FILE      where received frames go ('-' = stdout, the default)\n"    \
	"  --count N        stop after receiving N frames\n"                          \
	"  --timeout-s S    give up after S seconds (default 30): exit 1\n"            \
	"  --linger-ms MS   after sending, keep receiving until MS pass with nothing\n"\
	"                   received (default: until --count or the peer closes)\n"    \
	"Every frame received is checked. Exit status: 0 ok, 1 timeout or bad frame,\n"\
	"100 usage, 111 system error.\n"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_frame.h"

static int usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	return 100;
}

static int sock_open(const char *path, int listen_mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, c;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "evb-sock: path too long: '%s'\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (!listen_mode) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		fprintf(stderr, "evb-sock: unable to connect to '%s': %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		fprintf(stderr, "evb-sock: unable to listen on '%s': %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	close(fd);
	unlink(path);
	return c;
}

static int open_file(const char *path, int out)
{
	if (strcmp(path, "-") == 0)
		return out ? STDOUT_FILENO : STDIN_FILENO;
	return out ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
		   : open(path, O_RDONLY | O_CLOEXEC);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", no_argument, NULL, 'l' },
		{ "send", required_argument, NULL, 's' },
		{ "recv", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout-s", required_argument, NULL, 't' },
		{ "linger-ms", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *send_path = NULL, *recv_path = "-";
	long count = -1, timeout_s = 30, linger_ms = -1;
	int c, listen_mode = 0, sfd, in = -1, out, rc = 0;
	long received = 0;
	struct evb_frame_reader *r;
	uint64_t deadline, last_rx;
	uint8_t buf[65536];

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_mode = 1; break;
		case 's': send_path = optarg; break;
		case 'r': recv_path = optarg; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 't': timeout_s = strtol(optarg, NULL, 10); break;
		case 'g': linger_ms = strtol(optarg, NULL, 10); break;
		case 'h': printf("usage: %s\n\n%s", USAGE, HELP); return 0;
		case 'V': printf("evb-sock %s\n", EVB_VERSION); return 0;
		default: return usage();
		}
	}
	if (optind + 1 != argc || timeout_s < 1)
		return usage();
	if ((sfd = sock_open(argv[optind], listen_mode)) < 0)
		return 111;
	if (send_path && (in = open_file(send_path, 0)) < 0) {
		fprintf(stderr, "evb-sock: unable to open '%s': %s\n", send_path, strerror(errno));
		return 111;
	}
	if ((out = open_file(recv_path, 1)) < 0) {
		fprintf(stderr, "evb-sock: unable to open '%s': %s\n", recv_path, strerror(errno));
		return 111;
	}
	r = evb_frame_reader_new(EVB_FRAME_MAX_PAYLOAD);
	deadline = evb_now_ns() + (uint64_t)timeout_s * 1000000000u;
	last_rx = evb_now_ns();
	while (count < 0 || received < count) {
		struct pollfd p[2] = { { sfd, POLLIN, 0 }, { in, POLLIN, 0 } };
		uint64_t now = evb_now_ns();
		int n;

		if (now >= deadline) {
			fprintf(stderr, "evb-sock: timed out after %ld s with %ld frames received\n",
				timeout_s, received);
			rc = 1;
			break;
		}
		if (in < 0 && linger_ms >= 0 && now - last_rx >= (uint64_t)linger_ms * 1000000u)
			break;
		n = poll(p, in >= 0 ? 2 : 1, 10);
		if (n < 0 && errno != EINTR)
			break;
		if (in >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
			ssize_t k = read(in, buf, sizeof(buf));
			if (k > 0) {
				if (evb_write_all(sfd, buf, (size_t)k) < 0) {
					fprintf(stderr, "evb-sock: peer closed while sending\n");
					rc = 1;
					break;
				}
			} else {
				if (in != STDIN_FILENO)
					close(in);
				in = -1;
				last_rx = evb_now_ns();
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			long k = evb_frame_reader_read_fd(r, sfd);
			struct evb_frame f;
			int e;
			if (k <= 0)
				break; /* peer closed */
			last_rx = evb_now_ns();
			while ((e = evb_frame_reader_next(r, &f)) == 1) {
				uint8_t h[EVB_FRAME_HDR_LEN];
				evb_frame_hdr_encode(&f.h, h);
				if (evb_write_all(out, h, sizeof(h)) < 0 ||
				    evb_write_all(out, f.payload, f.h.len) < 0) {
					rc = 111;
					break;
				}
				if (++received == count)
					break;
			}
			if (e < 0) {
				fprintf(stderr, "evb-sock: %s\n", evb_frame_reader_error(r));
				rc = 1;
				break;
			}
		}
	}
	if (rc == 0 && evb_frame_reader_finish(r) < 0 && count < 0) {
		fprintf(stderr, "evb-sock: %s\n", evb_frame_reader_error(r));
		rc = 1;
	}
	if (count >= 0 && received < count && rc == 0) {
		fprintf(stderr, "evb-sock: peer closed after %ld of %ld frames\n", received, count);
		rc = 1;
	}
	evb_frame_reader_free(r);
	close(sfd);
	return rc;
}
