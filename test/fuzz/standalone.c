/* Replays fuzz inputs without libFuzzer: each argument is a file or a
 * directory of files; every input runs once through the target, and the
 * result is reported as TAP. A crash or sanitizer report fails the run. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
		printf("not ok %d - %s: %s\n", ++n, path, strerror(errno));
		if (f)
			fclose(f);
		return 1;
	}
	rewind(f);
	/* An exact-size heap copy, so reading one byte past is caught by ASan. */
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		printf("not ok %d - %s: short read\n", ++n, path);
		free(buf);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	printf("ok %d - %s\n", ++n, path);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t count = 0, cap = 0;
	int fails = 0;

	if (stat(path, &st) != 0) {
		printf("not ok %d - %s: %s\n", ++n, path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if (!(d = opendir(path)))
		return 1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		names[count] = malloc(len);
		snprintf(names[count], len, "%s/%s", path, e->d_name);
		count++;
	}
	closedir(d);
	qsort(names, count, sizeof(*names), cmp);
	for (size_t i = 0; i < count; i++) {
		fails += run_path(names[i]);
		free(names[i]);
	}
	free(names);
	return fails;
}

int main(int argc, char **argv)
{
	int fails = 0;
	/* The empty input always runs: every target must accept it. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("ok %d - empty input\n", ++n);
	for (int i = 1; i < argc; i++)
		fails += run_path(argv[i]);
	printf("1..%d\n", n);
	return fails ? 1 : 0;
}
