/* The dashboard's static files (web/): read once at start into memory, so
 * a request can only ever name a file of that list (no path reaches the
 * file system, hence no traversal), served without a token, with their
 * content type, an ETag, and a Content-Security-Policy that allows nothing
 * from elsewhere. The data behind the pages is the JSON API, which needs
 * the token as always. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "evb_log.h"
#include "evb_sign.h"

#define WEB_MAX_FILES 64
#define WEB_MAX_FILE (2u << 20)  /* bytes per file */
#define WEB_MAX_TOTAL (8u << 20) /* bytes in all */
#define WEB_NAME_MAX 64

#define WEB_CSP                                                                       \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"    \
	" connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';" \
	" frame-ancestors 'none'"

struct web_file {
	char name[WEB_NAME_MAX + 1];
	const char *ctype;
	char etag[24]; /* "\"" 16 hex digits of the SHA-256 "\"" */
	char *data;
	size_t len;
};

struct web {
	char dir[PATH_MAX];
	struct web_file files[WEB_MAX_FILES];
	size_t n;
};

static const struct {
	const char *ext, *ctype;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
};

/* The content type of a file we serve, or NULL: the name must be
 * [A-Za-z0-9][A-Za-z0-9._-]* with a known extension. */
static const char *file_type(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > WEB_NAME_MAX || name[0] == '.' || name[0] == '-' || name[0] == '_')
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '.' || name[i] == '_' ||
		      name[i] == '-'))
			return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].ctype;
	}
	return NULL;
}

static int has_index(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;

	return snprintf(p, sizeof(p), "%s/index.html", dir) < (int)sizeof(p) &&
	       stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds the directory: dir if given, else beside the program (installed:
 * ../share/evibridge/web; a checkout's build/ or build/asan/: ../web,
 * ../../web). Returns 0, or -1 with nothing found. */
static int find_dir(const char *dir, char *out, size_t cap)
{
	static const char *const rel[] = { "../share/evibridge/web", "../web", "../../web" };
	char exe[PATH_MAX];
	ssize_t n;

	if (dir) {
		snprintf(out, cap, "%s", dir);
		return has_index(out) ? 0 : -1;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (snprintf(out, cap, "%s/%s", exe, rel[i]) >= (int)cap)
			continue;
		if (has_index(out))
			return 0;
	}
	return -1;
}

/* Reads path (a regular file of at most WEB_MAX_FILE bytes) into f. */
static int load_file(const char *path, struct web_file *f)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	char hex[65];

	if (!fp)
		return -errno;
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > WEB_MAX_FILE) {
		fclose(fp);
		return -EFBIG;
	}
	f->len = (size_t)st.st_size;
	f->data = malloc(f->len + 1);
	if (!f->data || fread(f->data, 1, f->len, fp) != f->len) {
		free(f->data);
		f->data = NULL;
		fclose(fp);
		return -EIO;
	}
	fclose(fp);
	evb_sha256_hex(f->data, f->len, hex);
	snprintf(f->etag, sizeof(f->etag), "\"%.16s\"", hex);
	return 0;
}

int web_init(struct api *a)
{
	struct web *w = calloc(1, sizeof(*w));
	size_t total = 0;
	struct dirent *e;
	DIR *d;

	if (!w) {
		EVB_LOG(LOG_ERR, "api", "unable to load the dashboard: %s", strerror(errno));
		return 111;
	}
	a->web = w;
	if (find_dir(a->o.web_dir, w->dir, sizeof(w->dir)) < 0) {
		if (a->o.web_dir) {
			EVB_LOG(LOG_ERR, "api", "--web-dir: no index.html in '%s'", a->o.web_dir);
			return 100;
		}
		EVB_LOG(LOG_WARNING, "api", "no dashboard files found next to the program: "
			"use --web-dir DIR (the dashboard answers 404)");
		w->dir[0] = '\0';
		return 0;
	}
	if (!(d = opendir(w->dir))) {
		EVB_LOG(LOG_ERR, "api", "unable to read '%s': %s", w->dir, strerror(errno));
		return 100;
	}
	while ((e = readdir(d))) {
		const char *ct = file_type(e->d_name);
		struct web_file *f;
		char path[PATH_MAX];
		int r;

		if (!ct)
			continue;
		if (w->n == WEB_MAX_FILES) {
			EVB_LOG(LOG_WARNING, "api", "more than %d files in '%s': '%s' and later ones "
				"not served", WEB_MAX_FILES, w->dir, e->d_name);
			break;
		}
		f = &w->files[w->n];
		snprintf(f->name, sizeof(f->name), "%s", e->d_name);
		f->ctype = ct;
		if (snprintf(path, sizeof(path), "%s/%s", w->dir, e->d_name) >= (int)sizeof(path))
			continue;
		if ((r = load_file(path, f)) < 0) {
			EVB_LOG(LOG_WARNING, "api", "unable to load '%s': %s", path,
				r == -EFBIG ? "not a regular file of at most 2 MiB" : strerror(-r));
			continue;
		}
		if (total + f->len > WEB_MAX_TOTAL) {
			EVB_LOG(LOG_WARNING, "api", "'%s' not served: the dashboard's files pass "
				"8 MiB", path);
			free(f->data);
			f->data = NULL;
			continue;
		}
		total += f->len;
		w->n++;
	}
	closedir(d);
	EVB_LOG(LOG_INFO, "api", "dashboard: %zu files from '%s'", w->n, w->dir);
	return 0;
}

void web_release(struct api *a)
{
	if (!a->web)
		return;
	for (size_t i = 0; i < a->web->n; i++)
		free(a->web->files[i].data);
	free(a->web);
	a->web = NULL;
}

int web_is_path(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 ||
	       strncmp(path, "/ui/", 4) == 0;
}

static const struct web_file *lookup(const struct web *w, const char *path)
{
	const char *name = "index.html";

	/* The raw path, never decoded: only the names of the list match. */
	if (strncmp(path, "/ui/", 4) == 0 && path[4])
		name = path + 4;
	for (size_t i = 0; w && i < w->n; i++)
		if (strcmp(w->files[i].name, name) == 0)
			return &w->files[i];
	return NULL;
}

/* 1 if the If-None-Match header names etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	for (const char *p = inm; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p == '*' || strncmp(p, etag, n) == 0)
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

static void reply_error(struct api *a, struct evb_http_req *req, uint64_t start, int status,
			const char *code, const char *msg)
{
	evb_http_respond_error(req, status, code, msg);
	metrics_request(a, "ui", status, start);
}

void web_serve(struct api *a, struct evb_http_req *req, uint64_t start)
{
	const char *method = evb_http_req_method(req);
	const struct web_file *f;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		evb_http_req_add_header(req, "Allow", "GET, HEAD");
		reply_error(a, req, start, 405, "method_not_allowed",
			    "only GET and HEAD are allowed here");
		return;
	}
	if (!(f = lookup(a->web, evb_http_req_path(req)))) {
		reply_error(a, req, start, 404, "not_found",
			    a->web && a->web->dir[0] ? "no such file"
						     : "the dashboard is not installed");
		return;
	}
	evb_http_req_add_header(req, "Content-Security-Policy", WEB_CSP);
	evb_http_req_add_header(req, "X-Content-Type-Options", "nosniff");
	evb_http_req_add_header(req, "Referrer-Policy", "no-referrer");
	evb_http_req_add_header(req, "X-Frame-Options", "DENY");
	/* Names carry no version: the browser keeps a copy but asks each time,
	 * and an unchanged file costs a 304. */
	evb_http_req_add_header(req, "Cache-Control", "no-cache");
	evb_http_req_add_header(req, "ETag", f->etag);
	if (etag_matches(evb_http_req_header(req, "if-none-match"), f->etag)) {
		evb_http_respond(req, 304, NULL, NULL, 0);
		metrics_request(a, "ui", 304, start);
		return;
	}
	evb_http_respond(req, 200, f->ctype, f->data, f->len);
	metrics_request(a, "ui", 200, start);
}
