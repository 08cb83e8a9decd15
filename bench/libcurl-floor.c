/* SPDX-License-Identifier: MIT */
/*
 * Anchor for bench/metrics.py: the resident memory of a process that does nothing but link the
 * system's libcurl and call curl_global_init(), as faultd does before anything else. It is the
 * floor under faultd's RSS on that machine, set by how the distribution built libcurl (its TLS
 * library and every protocol library it pulls in), not by faultd. Prints one JSON line of KiB.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	long rss = -1, anon = -1, file = -1;
	char line[256];
	FILE *f;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	f = fopen("/proc/self/status", "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			anon = strtol(line + 8, NULL, 10);
		else if (strncmp(line, "RssFile:", 8) == 0)
			file = strtol(line + 8, NULL, 10);
	}
	fclose(f);
	printf("{\"rss\": %ld, \"anon\": %ld, \"file\": %ld}\n", rss, anon, file);
	curl_global_cleanup();
	return 0;
}
