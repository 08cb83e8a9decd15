/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the logs plugin's rules (plugins/logs/logs-rules.c): logs.filters,
 * logs.redact and logs.metrics as the configuration gives them. The input is
 *
 *     KIND RULE \n IDENTIFIER \n MESSAGE
 *
 * with KIND's low bits choosing a filter, a redaction or a metrics rule. The rule is checked as
 * the configuration checks it, then compiled beside the built-ins and run on the line. Checked
 * beyond crashes: the check and the compilation agree, a refusal says why, a redaction stays in
 * its buffer and replaces nothing when it says so, every metric key is 1 to 128 bytes of
 * [A-Za-z0-9_./-].
 */
#include <errno.h>
#include <string.h>

#include "fuzz-util.h"
#include "logs-rules.h"
#include "macro.h"

#define OUT_SIZE 600

static bool key_ok(const char *key, size_t len)
{
	if (len == 0 || len > LOGS_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-",
			    key[i]) ||
		    key[i] == 0)
			return false;
	return true;
}

static void count(const char *key, size_t len, void *userdata)
{
	unsigned *n = userdata;

	CHECK(key_ok(key, len));
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum logs_rule_kind kind;
	_cleanup_free_ char *text = NULL;
	const char *rest, *nl;
	struct logs_rules *rs;
	struct logs_record r = { .priority = 6, .facility = 1, .transport = "syslog" };
	char why[256] = "", why2[256] = "", out[OUT_SIZE];
	unsigned replaced, keys = 0;
	size_t len, builtins;
	int k, k2;

	if (size < 1)
		return 0;
	kind = (enum logs_rule_kind)(data[0] % LOGS_RULE_KINDS);
	text = fuzz_strndup(data + 1, size - 1);
	nl = strchr(text, '\n');
	rest = nl ? nl + 1 : "";
	if (nl)
		text[nl - text] = 0;

	k = logs_rule_check(kind, text, why, sizeof(why));
	CHECK(k == 0 || (k == -EINVAL && why[0]));

	rs = logs_rules_new(4);
	CHECK(rs);
	for (size_t i = 0; logs_redact_builtins[i]; i++)
		CHECK(logs_rules_add(rs, LOGS_RULE_REDACT, logs_redact_builtins[i], true, why2,
				     sizeof(why2)) == 0);
	for (size_t i = 0; logs_metric_builtins[i]; i++)
		CHECK(logs_rules_add(rs, LOGS_RULE_METRIC, logs_metric_builtins[i], true, why2,
				     sizeof(why2)) == 0);
	builtins = logs_rules_count(rs, kind);
	k2 = logs_rules_add(rs, kind, text, false, why2, sizeof(why2));
	CHECK(k2 == k && (k == 0 || strcmp(why, why2) == 0));
	CHECK(logs_rules_count(rs, kind) == builtins + (k == 0));

	/* The line: IDENTIFIER, then the message (the rest of the input, NULs and all). */
	nl = strchr(rest, '\n');
	r.identifier = (struct logs_text){ rest, nl ? (size_t)(nl - rest) : strlen(rest) };
	r.unit = r.identifier;
	if (nl) {
		r.message.s = (const char *)data + 1 + (size_t)(nl + 1 - text);
		r.message.len = size - 1 - (size_t)(nl + 1 - text);
	}
	(void)logs_rules_filter(rs, &r);
	logs_rules_metrics(rs, &r, count, &keys);
	len = logs_rules_redact(rs, r.message.s, r.message.len, out, sizeof(out), &replaced);
	CHECK(len <= sizeof(out));
	CHECK(replaced > 0 || len == 0);
	CHECK(replaced == 0 || len == sizeof(out) ||
	      memmem(out, len, LOGS_REDACTED, strlen(LOGS_REDACTED)));
	CHECK(keys <= logs_rules_count(rs, LOGS_RULE_METRIC));
	logs_rules_free(rs);
	return 0;
}
