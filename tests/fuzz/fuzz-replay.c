/* SPDX-License-Identifier: MIT */
/*
 * Runs a libFuzzer target without libFuzzer: feeds each file of the directories (or the files)
 * named on the command line to LLVMFuzzerTestOneInput(), each in a heap block of exactly its
 * size so that AddressSanitizer sees a read past its end. Fails when nothing was run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (16u << 20)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (!f || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "%s: cannot open\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > INPUT_MAX) {
		fprintf(stderr, "%s: larger than %u bytes\n", path, INPUT_MAX);
		fclose(f);
		return -1;
	}
	n = (size_t)st.st_size;
	buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned ran = 0, failed = 0;
	char path[4096];

	for (int a = 1; a < argc; a++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[a], &st) < 0) {
			fprintf(stderr, "%s: not found\n", argv[a]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += run_file(argv[a]) < 0;
			ran++;
			continue;
		}
		d = opendir(argv[a]);
		if (!d) {
			failed++;
			continue;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[a], de->d_name);
			if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			failed += run_file(path) < 0;
			ran++;
		}
		closedir(d);
	}
	printf("%u inputs run, %u unreadable\n", ran, failed);
	return ran == 0 || failed ? 1 : 0;
}
