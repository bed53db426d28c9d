/* evb-supervise: runs the evibridge daemons. */
#define USAGE "evb-supervise [--config FILE] [--services LIST] [--bin-dir DIR] [--KEY=value ...] [status]"
#define HELP                                                                       \
	"Starts evb-logger (after evb-logger --migrate), evb-hume, evb-transcode,\n"  \
	"evb-ingress and evb-api in that order, each ready (it reports readiness\n"  \
	"on a notify fd) before the next; prints one line on stdout when all are\n"  \
	"up. A child that exits is restarted, at least 1 s after its last start,\n"  \
	"the interval doubling (to 30 s) while it keeps crashing soon after start;\n"\
	"a child exiting 100 (configuration error) is not restarted. Children's\n"   \
	"stdout and stderr come out on stderr, each line prefixed with the name.\n"  \
	"SIGTERM: stops evb-api, then evb-ingress (which drains running calls for\n" \
	"up to EVB_DRAIN_S), then the rest in reverse order. SIGHUP: re-reads the\n" \
	"configuration and restarts the children whose settings changed.\n\n"       \
	"  --services LIST  comma-separated subset, in any order (default: all)\n"   \
	"  --bin-dir DIR    where the evb-* programs are (default: beside this one)\n"\
	"  --config FILE    the KEY=value file, passed on to every child\n"        \
	"  --KEY=value      override one setting, for every child (not secrets)\n"  \
	"  status           print each child's state, pid, uptime and restarts\n"   \
	"  -h, --help       this text;  -V, --version  the version\n\n"             \
	"Exit status: 0 stopped cleanly, 100 usage or configuration error (also\n" \
	"when a child fails its configuration at start), 111 temporary failure.\n"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evb_err.h"
#include "evb_log.h"
#include "evb_util.h"
#include "supervise.h"

#define READY_TIMEOUT_MS 30000
#define RESTART_MIN_MS 1000
#define RESTART_MAX_MS 30000
#define QUICK_CRASH_NS (10ull * 1000000000u) /* a crash this soon is "quick" */

/* The dependency order; stop order is the reverse, except that evb-api and
 * evb-ingress stop first so no new call starts while others go away. */
static const char *const all_services[] = { "logger", "hume", "transcode", "ingress", "api" };
#define NSERVICES 5

/* Which configuration keys each program reads, for SIGHUP. A prefix ends in '*'. */
static const char *const service_keys[NSERVICES][12] = {
	{ "DATABASE_URL", "EVB_RUN_DIR", "EVB_LOG_LEVEL", NULL },
	{ "HUME_*", "DATABASE_URL", "EVB_RUN_DIR", "EVB_CA_FILE", "EVB_HUME_RATE", "EVB_LOG_LEVEL", NULL },
	{ "EVB_RUN_DIR", "EVB_RESAMPLE_QUALITY", "EVB_HUME_RATE", "EVB_GAIN", "EVB_LOG_LEVEL", NULL },
	{ "TWILIO_*", "VONAGE_*", "PUBLIC_BASE_URL", "EVB_LISTEN", "EVB_RUN_DIR", "EVB_MEDIA_SECRET",
	  "EVB_TLS_*", "EVB_DRAIN_S", "EVB_LOG_LEVEL", NULL },
	{ "TWILIO_*", "VONAGE_*", "VOICE_PROVIDER", "PUBLIC_BASE_URL", "DATABASE_URL", "EVB_API_*",
	  "EVB_RUN_DIR", "EVB_CA_FILE", "EVB_LOG_LEVEL", NULL },
};

static int parent_notify_fd = -1;

static int key_matches(const char *pat, const char *key)
{
	size_t n = strlen(pat);
	if (n && pat[n - 1] == '*')
		return strncmp(pat, key, n - 1) == 0;
	return strcmp(pat, key) == 0;
}

/* FNV-1a over the values of the keys a service reads. */
static uint64_t cfg_hash(const struct evb_cfg *cfg, const char *name)
{
	uint64_t h = 1469598103934665603ull;
	int s = 0;

	while (s < NSERVICES && strcmp(all_services[s], name) != 0)
		s++;
	if (s == NSERVICES)
		return 0;
	for (size_t i = 0; evb_cfg_key_at(i); i++) {
		const char *key = evb_cfg_key_at(i), *v;
		int want = 0;
		for (int k = 0; service_keys[s][k]; k++)
			want |= key_matches(service_keys[s][k], key);
		if (!want)
			continue;
		v = evb_cfg_get(cfg, key);
		for (const char *p = key; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
		h = (h ^ '=') * 1099511628211ull;
		for (const char *p = v ? v : ""; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
		h = (h ^ '\n') * 1099511628211ull;
	}
	return h;
}

static void start_next(struct sv *sv);
static void begin_stop(struct sv *sv, int status);

static void tell_parent_ready(struct sv *sv)
{
	const char *listen = evb_cfg_get(sv->cfg, "EVB_LISTEN");
	const char *api = evb_cfg_get(sv->cfg, "EVB_API_LISTEN");
	char names[128] = "";
	size_t n = 0;

	for (int i = 0; i < sv->n && n < sizeof(names); i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, " evb-%s", sv->child[i].name);
	printf("evibridge up:%s; provider webhooks on http://%s, API on http://%s, "
	       "status: evb-supervise status\n", names, listen ? listen : "-", api ? api : "-");
	fflush(stdout);
	if (parent_notify_fd >= 0) {
		(void)!write(parent_notify_fd, "\n", 1);
		close(parent_notify_fd);
		parent_notify_fd = -1;
	}
}

void sv_on_ready(struct sv_child *c)
{
	struct sv *sv = c->sv;

	c->state = SV_UP;
	c->ready_ns = evb_now_ns();
	EVB_LOG(LOG_INFO, "supervise", "evb-%s is ready (%.0f ms)", c->name,
		(double)(c->ready_ns - c->started_ns) / 1e6);
	if (sv->starting < sv->n && &sv->child[sv->starting] == c) {
		sv->starting++;
		if (sv->starting == sv->n) {
			uv_timer_stop(&sv->deadline);
			tell_parent_ready(sv);
		} else {
			start_next(sv);
		}
	}
}

static void on_restart_timer(uv_timer_t *t)
{
	struct sv_child *c = t->data;
	int e;

	if (c->sv->stopping)
		return;
	if ((e = sv_child_spawn(c)) < 0) {
		/* Pipes of the last run still closing: try again shortly. */
		if (e == -EBUSY) {
			uv_timer_start(&c->restart, on_restart_timer, 20, 0);
			return;
		}
		EVB_LOG(LOG_ERR, "supervise", "unable to start evb-%s: %s", c->name, uv_strerror(e));
		uv_timer_start(&c->restart, on_restart_timer, RESTART_MAX_MS, 0);
		return;
	}
	c->restarts++;
}

static void schedule_restart(struct sv_child *c)
{
	uint64_t now = evb_now_ns(), since = (now - c->started_ns) / 1000000u;
	uint64_t interval = RESTART_MIN_MS, delay;

	if (now - c->started_ns < QUICK_CRASH_NS)
		c->quick_crashes++;
	else
		c->quick_crashes = 0;
	for (unsigned i = 1; i < c->quick_crashes && interval < RESTART_MAX_MS; i++)
		interval *= 2;
	if (interval > RESTART_MAX_MS)
		interval = RESTART_MAX_MS;
	delay = since >= interval ? 0 : interval - since;
	EVB_LOG(LOG_INFO, "supervise", "restarting evb-%s in %llu ms", c->name,
		(unsigned long long)delay);
	uv_timer_start(&c->restart, on_restart_timer, delay, 0);
}

static int all_down(const struct sv *sv)
{
	for (int i = 0; i < sv->n; i++)
		if (sv->child[i].state == SV_STARTING || sv->child[i].state == SV_UP ||
		    sv->child[i].state == SV_STOPPING)
			return 0;
	return 1;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Stops the next child still running, in stop order; ends the loop when
 * none is left. */
static void stop_next(struct sv *sv)
{
	/* evb-api, then evb-ingress (it drains calls), then the rest reversed. */
	int order[SV_MAX], k = 0;

	for (int i = 0; i < sv->n; i++)
		if (strcmp(sv->child[i].name, "api") == 0)
			order[k++] = i;
	for (int i = 0; i < sv->n; i++)
		if (strcmp(sv->child[i].name, "ingress") == 0)
			order[k++] = i;
	for (int i = sv->n - 1; i >= 0; i--)
		if (strcmp(sv->child[i].name, "api") != 0 && strcmp(sv->child[i].name, "ingress") != 0)
			order[k++] = i;
	for (int j = 0; j < k; j++) {
		struct sv_child *c = &sv->child[order[j]];
		if (c->state == SV_STOPPING)
			return; /* wait for it */
		if (c->state == SV_STARTING || c->state == SV_UP) {
			c->state = SV_STOPPING;
			EVB_LOG(LOG_INFO, "supervise", "stopping evb-%s", c->name);
			sv_child_signal(c, SIGTERM);
			return;
		}
	}
	if (all_down(sv))
		uv_walk(sv->loop, close_walk, NULL);
}

void sv_on_exit(struct sv_child *c, int64_t status, int term_signal)
{
	struct sv *sv = c->sv;
	int was = c->state;

	c->last_status = term_signal ? 128 + term_signal : (int)status;
	if (term_signal)
		EVB_LOG(was == SV_STOPPING ? LOG_INFO : LOG_WARNING, "supervise",
			"evb-%s (pid %d) killed by signal %d", c->name, c->proc.pid, term_signal);
	else
		EVB_LOG(was == SV_STOPPING ? LOG_INFO : LOG_WARNING, "supervise",
			"evb-%s (pid %d) exited %lld", c->name, c->proc.pid, (long long)status);
	if (sv->stopping) {
		c->state = SV_DOWN;
		stop_next(sv);
		return;
	}
	if (status == 100 && !term_signal) {
		c->state = SV_FAILED;
		EVB_LOG(LOG_ERR, "supervise",
			"evb-%s exited 100: a configuration error; not restarting it (fix the "
			"configuration, then send SIGHUP)", c->name);
		/* Before everything is up, nothing can work: give up cleanly. */
		if (sv->starting < sv->n)
			begin_stop(sv, 100);
		return;
	}
	c->state = SV_DOWN;
	if (sv->starting < sv->n && &sv->child[sv->starting] != c && was != SV_UP) {
		/* A child died before it became ready during the start-up. */
		EVB_LOG(LOG_ERR, "supervise", "evb-%s died during start-up", c->name);
	}
	schedule_restart(c);
}

static void start_next(struct sv *sv)
{
	struct sv_child *c = &sv->child[sv->starting];
	int e = sv_child_spawn(c);

	if (e < 0) {
		EVB_LOG(LOG_ERR, "supervise", "unable to start '%s': %s", c->prog, uv_strerror(e));
		begin_stop(sv, 111);
	}
}

static void on_deadline(uv_timer_t *t)
{
	struct sv *sv = t->data;
	EVB_LOG(LOG_ERR, "supervise", "evb-%s did not become ready within %d s",
		sv->child[sv->starting].name, READY_TIMEOUT_MS / 1000);
	begin_stop(sv, 111);
}

static void on_drain_deadline(uv_timer_t *t)
{
	struct sv *sv = t->data;
	for (int i = 0; i < sv->n; i++)
		if (sv->child[i].state == SV_STOPPING) {
			EVB_LOG(LOG_WARNING, "supervise", "evb-%s still running after the drain "
				"time: killing it", sv->child[i].name);
			sv_child_signal(&sv->child[i], SIGKILL);
		}
	uv_timer_start(&sv->deadline, on_drain_deadline, 5000, 0);
}

static void begin_stop(struct sv *sv, int status)
{
	if (sv->stopping)
		return;
	sv->stopping = 1;
	sv->exit_status = status;
	for (int i = 0; i < sv->n; i++)
		uv_timer_stop(&sv->child[i].restart);
	uv_timer_stop(&sv->deadline);
	/* Every child has its drain time, plus a margin, before SIGKILL. */
	uv_timer_start(&sv->deadline, on_drain_deadline, (sv->drain_s + 5) * 1000ull, 0);
	stop_next(sv);
}

static void reload(struct sv *sv)
{
	struct evb_cfg *n = evb_cfg_new();
	char err[512];
	int argc = 1;
	char *argv[4] = { "evb-supervise", NULL, NULL, NULL };

	if (sv->config_path) {
		argv[argc++] = "--config";
		argv[argc++] = (char *)sv->config_path;
	}
	if (!n || evb_cfg_from_argv(n, &argc, argv, err, sizeof(err)) < 0) {
		EVB_LOG(LOG_ERR, "supervise", "SIGHUP: configuration not reloaded: %s",
			n ? err : strerror(errno));
		evb_cfg_free(n);
		return;
	}
	evb_cfg_free(sv->cfg);
	sv->cfg = n;
	EVB_LOG(LOG_INFO, "supervise", "SIGHUP: configuration re-read");
	for (int i = 0; i < sv->n; i++) {
		struct sv_child *c = &sv->child[i];
		uint64_t h = cfg_hash(n, c->name);
		if (h == c->cfg_hash && c->state != SV_FAILED)
			continue;
		c->cfg_hash = h;
		EVB_LOG(LOG_INFO, "supervise", "SIGHUP: settings of evb-%s changed: restarting it",
			c->name);
		if (c->state == SV_FAILED || c->state == SV_DOWN) {
			c->state = SV_DOWN;
			c->quick_crashes = 0;
			uv_timer_start(&c->restart, on_restart_timer, 0, 0);
		} else {
			/* It restarts through the normal exit path. */
			c->quick_crashes = 0;
			sv_child_signal(c, SIGTERM);
		}
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct sv *sv = s->data;
	if (signum == SIGHUP) {
		reload(sv);
		return;
	}
	EVB_LOG(LOG_INFO, "supervise", "signal %d: stopping", signum);
	begin_stop(sv, 0);
}

static const char *state_name(enum sv_state s)
{
	static const char *const names[] = { "down", "starting", "up", "stopping", "failed" };
	return names[s];
}

/* The status socket: a client connects, gets the table, and is closed. */
static void status_written(uv_write_t *w, int status)
{
	(void)status;
	uv_close((uv_handle_t *)w->handle, (uv_close_cb)free);
	free(w);
}

static void on_status_client(uv_stream_t *srv, int status)
{
	struct sv *sv = srv->data;
	uv_pipe_t *cl;
	uv_write_t *w;
	static char text[2048];
	size_t n = 0;
	uint64_t now = evb_now_ns();

	if (status < 0 || !(cl = malloc(sizeof(*cl))))
		return;
	uv_pipe_init(sv->loop, cl, 0);
	if (uv_accept(srv, (uv_stream_t *)cl) < 0 || !(w = malloc(sizeof(*w)))) {
		uv_close((uv_handle_t *)cl, (uv_close_cb)free);
		return;
	}
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%-16s %-9s %8s %10s %8s %s\n",
			      "program", "state", "pid", "uptime_s", "restarts", "last_exit");
	for (int i = 0; i < sv->n && n < sizeof(text); i++) {
		struct sv_child *c = &sv->child[i];
		int running = c->state == SV_UP || c->state == SV_STARTING || c->state == SV_STOPPING;
		char prog[40];
		snprintf(prog, sizeof(prog), "evb-%s", c->name);
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%-16s %-9s %8d %10.1f %8u %d\n",
				      prog, state_name(c->state), running ? c->proc.pid : 0,
				      running ? (double)(now - c->started_ns) / 1e9 : 0.0,
				      c->restarts, c->last_status);
	}
	if (n > sizeof(text))
		n = sizeof(text);
	uv_buf_t b = uv_buf_init(text, (unsigned)n);
	uv_write(w, (uv_stream_t *)cl, &b, 1, status_written);
}

static int status_client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "evb-supervise: path too long: '%s'\n", path);
		return 100;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "evb-supervise: unable to reach the supervisor at '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

static int setup_children(struct sv *sv, const char *services, const char *bin_dir)
{
	char self[PATH_MAX], dir[PATH_MAX];
	ssize_t n;

	if (bin_dir) {
		snprintf(dir, sizeof(dir), "%s", bin_dir);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return -errno;
		self[n] = '\0';
		snprintf(dir, sizeof(dir), "%s", self);
		*strrchr(dir, '/') = '\0';
	}
	for (int s = 0; s < NSERVICES; s++) {
		struct sv_child *c;
		if (services) {
			/* Keep the dependency order whatever the list's order. */
			const char *p = strstr(services, all_services[s]);
			size_t l = strlen(all_services[s]);
			if (!p || (p != services && p[-1] != ',') || (p[l] != '\0' && p[l] != ','))
				continue;
		}
		c = &sv->child[sv->n++];
		c->sv = sv;
		snprintf(c->name, sizeof(c->name), "%s", all_services[s]);
		if (snprintf(c->prog, sizeof(c->prog), "%s/evb-%s", dir, all_services[s]) >=
		    (int)sizeof(c->prog))
			return -ENAMETOOLONG;
		if (access(c->prog, X_OK) != 0) {
			fprintf(stderr, "evb-supervise: '%s' not found or not executable\n", c->prog);
			return EVB_ECONFIG;
		}
		c->cfg_hash = cfg_hash(sv->cfg, c->name);
		uv_timer_init(sv->loop, &c->restart);
		c->restart.data = c;
	}
	if (services) {
		/* Every name in the list must be a service. */
		for (const char *t = services; *t;) {
			size_t l = strcspn(t, ",");
			int found = 0;
			for (int s = 0; s < NSERVICES; s++)
				found |= strlen(all_services[s]) == l && strncmp(t, all_services[s], l) == 0;
			if (!found) {
				fprintf(stderr, "evb-supervise: --services: unknown service '%.*s' "
						"(logger, hume, transcode, ingress, api)\n", (int)l, t);
				return EVB_ECONFIG;
			}
			t += l + (t[l] == ',');
		}
	}
	return sv->n ? 0 : EVB_ECONFIG;
}

/* evb-logger --migrate, before anything starts: a schema that cannot be
 * brought up to date stops the start-up. Returns the exit status. */
static int migrate(struct sv *sv)
{
	struct sv_child *c = NULL;
	char *args[5];
	int n = 0, status;
	pid_t pid;

	for (int i = 0; i < sv->n; i++)
		if (strcmp(sv->child[i].name, "logger") == 0)
			c = &sv->child[i];
	if (!c)
		return 0;
	args[n++] = c->prog;
	args[n++] = "--migrate";
	if (sv->config_path) {
		args[n++] = "--config";
		args[n++] = (char *)sv->config_path;
	}
	args[n] = NULL;
	pid = fork();
	if (pid == 0) {
		execv(c->prog, args);
		_exit(111);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 111;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 111;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "services", required_argument, NULL, 's' },
		{ "bin-dir", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sv sv;
	const char *services = NULL, *bin_dir = NULL, *env_notify;
	char err[512], fd[16];
	int c, rc = 0, status_mode = 0;

	evb_log_init("evb-supervise");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n\n%s", USAGE, HELP);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("evb-supervise %s\n", EVB_VERSION);
			return 0;
		}
		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
			sv.config_path = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			sv.config_path = argv[i] + 9;
	}
	/* --KEY=value overrides reach the children (and our own reloads)
	 * through the environment, which the configuration file does not
	 * override. Secrets are refused on argv by evb_cfg_from_argv. */
	for (int i = 1; i < argc; i++) {
		char key[64], *eq;
		size_t n;
		if (strncmp(argv[i], "--", 2) != 0 || !(eq = strchr(argv[i], '=')))
			continue;
		n = (size_t)(eq - argv[i] - 2);
		if (n == 0 || n >= sizeof(key))
			continue;
		memcpy(key, argv[i] + 2, n);
		key[n] = '\0';
		for (char *p = key; *p; p++)
			*p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		if (evb_cfg_is_key(key) && !evb_cfg_is_secret(key))
			setenv(key, eq + 1, 1);
	}
	if (!(sv.cfg = evb_cfg_new()))
		return 111;
	if (evb_cfg_from_argv(sv.cfg, &argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "evb-supervise: %s\n", err);
		evb_cfg_free(sv.cfg);
		return 100;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			services = optarg;
		else if (c == 'b')
			bin_dir = optarg;
		else
			rc = 100;
	}
	if (rc == 0 && optind < argc) {
		if (strcmp(argv[optind], "status") == 0 && optind + 1 == argc)
			status_mode = 1;
		else
			rc = 100;
	}
	if (rc) {
		fprintf(stderr, "usage: %s\n", USAGE);
		evb_cfg_free(sv.cfg);
		return 100;
	}
	snprintf(sv.status_path, sizeof(sv.status_path), "%s/supervise.sock",
		 evb_cfg_get(sv.cfg, "EVB_RUN_DIR"));
	if (status_mode) {
		evb_cfg_free(sv.cfg);
		return status_client(sv.status_path);
	}
	if (evb_cfg_get(sv.cfg, "EVB_LOG_LEVEL"))
		evb_log_level = evb_log_parse_level(evb_cfg_get(sv.cfg, "EVB_LOG_LEVEL"));
	sv.drain_s = (unsigned)evb_cfg_get_int(sv.cfg, "EVB_DRAIN_S", 30);
	sv.loop = uv_default_loop();
	if (setup_children(&sv, services, bin_dir) < 0) {
		rc = 100;
		goto out;
	}
	/* Our own readiness goes to whoever started us; the children's to us. */
	if ((env_notify = getenv("EVB_NOTIFY_FD"))) {
		parent_notify_fd = atoi(env_notify);
		if (parent_notify_fd < 3 || fcntl(parent_notify_fd, F_SETFD, FD_CLOEXEC) < 0)
			parent_notify_fd = -1;
	}
	snprintf(fd, sizeof(fd), "3");
	setenv("EVB_NOTIFY_FD", fd, 1);
	if ((rc = evb_mkdir_p(evb_cfg_get(sv.cfg, "EVB_RUN_DIR"))) < 0) {
		fprintf(stderr, "evb-supervise: unable to create '%s': %s\n",
			evb_cfg_get(sv.cfg, "EVB_RUN_DIR"), strerror(-rc));
		rc = 111;
		goto out;
	}
	if ((rc = migrate(&sv)) != 0) {
		fprintf(stderr, "evb-supervise: evb-logger --migrate failed (exit %d)\n", rc);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 3; i++) {
		static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
		uv_signal_init(sv.loop, &sv.sig[i]);
		sv.sig[i].data = &sv;
		uv_signal_start(&sv.sig[i], on_signal, sigs[i]);
	}
	uv_timer_init(sv.loop, &sv.deadline);
	sv.deadline.data = &sv;
	uv_pipe_init(sv.loop, &sv.status_srv, 0);
	sv.status_srv.data = &sv;
	unlink(sv.status_path);
	if (uv_pipe_bind(&sv.status_srv, sv.status_path) == 0)
		uv_listen((uv_stream_t *)&sv.status_srv, 8, on_status_client);
	else
		EVB_LOG(LOG_WARNING, "supervise", "no status socket at '%s'", sv.status_path);
	uv_timer_start(&sv.deadline, on_deadline, READY_TIMEOUT_MS, 0);
	start_next(&sv);
	uv_run(sv.loop, UV_RUN_DEFAULT);
	unlink(sv.status_path);
	rc = sv.exit_status;
out:
	uv_walk(sv.loop, close_walk, NULL);
	uv_run(sv.loop, UV_RUN_DEFAULT);
	uv_loop_close(sv.loop);
	evb_cfg_free(sv.cfg);
	return rc;
}
