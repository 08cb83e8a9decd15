/* SPDX-License-Identifier: MIT */
/*
 * The logs plugin's filters, redaction and log-to-metrics rules (plugins/logs/logs-rules.c):
 * parsing and bad patterns, limits, matching, key substitution and sanitizing, and the built-in
 * rules on lines as the kernel and systemd write them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs-rules.h"
#include "macro.h"

static struct logs_text text(const char *s)
{
	return (struct logs_text){ s, s ? strlen(s) : 0 };
}

static struct logs_record line(const char *identifier, const char *unit, const char *message)
{
	return (struct logs_record){
		.priority = 6,
		.facility = 3,
		.message = text(message),
		.identifier = text(identifier),
		.unit = text(unit),
		.transport = "syslog",
	};
}

/* The keys a run of the metric rules counted, "k1 k2 ...". */
struct counted {
	char keys[2048];
};

static void count(const char *key, size_t len, void *userdata)
{
	struct counted *c = userdata;
	size_t at = strlen(c->keys);

	assert_true(len > 0 && len <= LOGS_KEY_MAX);
	snprintf(c->keys + at, sizeof(c->keys) - at, "%s%.*s", at ? " " : "", (int)len, key);
}

static const char *metrics(struct logs_rules *rs, const struct logs_record *r, struct counted *c)
{
	c->keys[0] = 0;
	logs_rules_metrics(rs, r, count, c);
	return c->keys;
}

static struct logs_rules *rules_with(enum logs_rule_kind kind, const char *const *texts,
				     bool builtin)
{
	struct logs_rules *rs = logs_rules_new(4);
	char why[256];

	assert_non_null(rs);
	for (size_t i = 0; texts[i]; i++)
		assert_int_equal(logs_rules_add(rs, kind, texts[i], builtin, why, sizeof(why)), 0);
	return rs;
}

static void test_check_syntax(void **state)
{
	char why[256];

	assert_int_equal(logs_rule_check(LOGS_RULE_FILTER, "unit:foo\\.service", why, sizeof(why)),
			 0);
	assert_int_equal(logs_rule_check(LOGS_RULE_FILTER,
					 "identifier:dhcp.* message:lease renewed \\d+", why,
					 sizeof(why)),
			 0);
	assert_int_equal(logs_rule_check(LOGS_RULE_FILTER, "", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "at least one of"));
	assert_int_equal(logs_rule_check(LOGS_RULE_FILTER, "program:x", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "at byte 0: expected unit:PATTERN, identifier:PATTERN or "
				 "message:PATTERN");
	assert_int_equal(logs_rule_check(LOGS_RULE_FILTER, "unit:a unit:b", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "at byte 7: unit given twice");
	assert_int_equal(logs_rule_check(LOGS_RULE_FILTER, "unit: message:x", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "at byte 5: empty pattern");

	assert_int_equal(logs_rule_check(LOGS_RULE_METRIC, "wifi/drop message:disconnected", why,
					 sizeof(why)),
			 0);
	assert_int_equal(logs_rule_check(LOGS_RULE_METRIC, "message:x", why, sizeof(why)), -EINVAL);
	assert_int_equal(logs_rule_check(LOGS_RULE_METRIC, "k unit:x", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "expected message:PATTERN");
	assert_int_equal(logs_rule_check(LOGS_RULE_METRIC, "a/$2 message:(x)", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "at byte 2: $2, but the pattern has 1 groups");
	assert_int_equal(logs_rule_check(LOGS_RULE_METRIC, "a/$x message:(x)", why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(logs_rule_check(LOGS_RULE_METRIC, "a+b message:x", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "at byte 1: expected a key of [A-Za-z0-9_./-] and $0 to $9");
	assert_int_equal(logs_rule_check(LOGS_RULE_METRIC, "faultd/x message:x", why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(
		logs_rule_check(LOGS_RULE_METRIC, "logs/lines message:x", why, sizeof(why)),
		-EINVAL);
	assert_int_equal(logs_rule_check(LOGS_RULE_REDACT, "x message", why, sizeof(why)), 0);
}

static void test_bad_pattern_names_pcre2_and_offset(void **state)
{
	char why[256];

	assert_int_equal(logs_rule_check(LOGS_RULE_FILTER, "unit:a message:ab(c", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "bad pattern at byte 19: missing closing parenthesis");
	assert_int_equal(logs_rule_check(LOGS_RULE_REDACT, "[z-a]", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "bad pattern at byte 3: range out of order"));
	assert_int_equal(
		logs_rule_check(LOGS_RULE_FILTER, "identifier:(a message:x", why, sizeof(why)),
		-EINVAL);
	assert_string_equal(why, "bad pattern at byte 13: missing closing parenthesis");
}

static void test_limits(void **state)
{
	char why[256], big[LOGS_RULE_TEXT_MAX + 2], nest[200];
	struct logs_rules *rs;

	/* A pattern of 513 bytes, a rule of 1025. */
	memset(big, 'a', sizeof(big));
	big[LOGS_PATTERN_MAX + 1] = 0;
	assert_int_equal(logs_rule_check(LOGS_RULE_REDACT, big, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "at byte 0: expected a pattern of at most 512 bytes");
	big[LOGS_PATTERN_MAX] = 0;
	assert_int_equal(logs_rule_check(LOGS_RULE_REDACT, big, why, sizeof(why)), 0);
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = 0;
	assert_int_equal(logs_rule_check(LOGS_RULE_REDACT, big, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "expected a rule of at most 1024 bytes");
	/* Parentheses nested deeper than 64. */
	memset(nest, '(', 100);
	memset(nest + 100, ')', 100);
	nest[sizeof(nest) - 1] = 0;
	nest[199] = 0;
	assert_int_equal(logs_rule_check(LOGS_RULE_REDACT, nest, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "parentheses are too deeply nested"));

	/* The configured rules and the built-ins, then no more. */
	rs = logs_rules_new(4);
	assert_non_null(rs);
	for (int i = 0; i < LOGS_RULES_MAX + 8; i++)
		assert_int_equal(
			logs_rules_add(rs, LOGS_RULE_FILTER, "message:x", false, why, sizeof(why)),
			0);
	assert_int_equal(logs_rules_add(rs, LOGS_RULE_FILTER, "message:x", false, why, sizeof(why)),
			 -E2BIG);
	assert_int_equal(logs_rules_add(rs, LOGS_RULE_REDACT, "nope", true, why, sizeof(why)),
			 -ENOENT);
	assert_int_equal(
		logs_rules_add(rs, LOGS_RULE_METRIC, "k message:(", false, why, sizeof(why)),
		-EINVAL);
	assert_int_equal(logs_rules_count(rs, LOGS_RULE_METRIC), 0);
	logs_rules_free(rs);
}

static void test_pathological_pattern_is_stopped(void **state)
{
	static const char *const bad[] = { "(a+)+$", NULL };
	struct logs_rules *rs = rules_with(LOGS_RULE_FILTER,
					   (const char *const[]){ "message:(a+)+$", NULL }, false);
	struct logs_rules *rd = rules_with(LOGS_RULE_REDACT, bad, false);
	char msg[4096], out[64];
	struct logs_record r;
	unsigned n;
	size_t len;

	/* Catastrophic backtracking: stopped by the match limit, the line kept and counted. */
	memset(msg, 'a', 40);
	strcpy(msg + 40, "b");
	r = line("x", NULL, msg);
	assert_false(logs_rules_filter(rs, &r));
	assert_int_equal(logs_rules_errors(rs), 1);
	/* A redaction that fails replaces the rest of the message: nothing leaks. */
	len = logs_rules_redact(rd, msg, strlen(msg), out, sizeof(out), &n);
	assert_int_equal(n, 1);
	assert_int_equal(len, strlen(LOGS_REDACTED));
	assert_memory_equal(out, LOGS_REDACTED, len);
	assert_int_equal(logs_rules_errors(rd), 1);
	logs_rules_free(rs);
	logs_rules_free(rd);
}

static void test_filters(void **state)
{
	static const char *const f[] = { "unit:noisy\\.service",
					 "identifier:dhcpd message:^DHCPACK",
					 "message:heartbeat ok$", NULL };
	struct logs_rules *rs = rules_with(LOGS_RULE_FILTER, f, false);
	struct logs_record r;

	r = line("noisy", "noisy.service", "anything");
	assert_true(logs_rules_filter(rs, &r));
	/* The unit must match whole. */
	r = line("noisy", "noisy.service2", "anything");
	assert_false(logs_rules_filter(rs, &r));
	r = line("x", NULL, "anything");
	assert_false(logs_rules_filter(rs, &r));
	r = line("dhcpd", NULL, "DHCPACK on 10.0.0.2");
	assert_true(logs_rules_filter(rs, &r));
	r = line("dhcpd", NULL, "DHCPNAK on 10.0.0.2");
	assert_false(logs_rules_filter(rs, &r));
	r = line("dhcpd2", NULL, "DHCPACK on 10.0.0.2");
	assert_false(logs_rules_filter(rs, &r));
	r = line("app", NULL, "all heartbeat ok");
	assert_true(logs_rules_filter(rs, &r));
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_FILTER, 0)->hits, 1);
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_FILTER, 1)->hits, 1);
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_FILTER, 2)->hits, 1);
	assert_string_equal(logs_rules_stats(rs, LOGS_RULE_FILTER, 2)->text,
			    "message:heartbeat ok$");
	assert_null(logs_rules_stats(rs, LOGS_RULE_FILTER, 3));
	logs_rules_free(rs);
}

static const char *redact(struct logs_rules *rs, const char *msg, unsigned *n)
{
	static char out[1024];
	size_t len = logs_rules_redact(rs, msg, strlen(msg), out, sizeof(out) - 1, n);

	if (*n == 0) {
		assert_int_equal(len, 0);
		return msg;
	}
	out[len] = 0;
	return out;
}

static void test_redact_builtins(void **state)
{
	struct logs_rules *rs = rules_with(LOGS_RULE_REDACT, logs_redact_builtins, true);
	unsigned n;

	assert_string_equal(redact(rs, "mail from alice.b+x@example.co.uk rejected", &n),
			    "mail from [REDACTED] rejected");
	assert_int_equal(n, 1);
	assert_string_equal(redact(rs, "login user=bob password=hunter2 ok", &n),
			    "login user=bob password=[REDACTED] ok");
	assert_string_equal(redact(rs, "Token: abc.def, API_KEY = \"s e c\"; passwd='x y'", &n),
			    "Token: [REDACTED], API_KEY = [REDACTED]; passwd=[REDACTED]");
	assert_int_equal(n, 3);
	assert_string_equal(redact(rs, "Authorization: Bearer eyJhbGciOi.x-y_z", &n),
			    "Authorization: Bearer [REDACTED]");
	assert_string_equal(redact(rs,
				   "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA "
				   "PRIVATE KEY----- tail",
				   &n),
			    "[REDACTED] tail");
	assert_string_equal(redact(rs, "key: -----BEGIN PRIVATE KEY-----MIIEvQIBADANBg", &n),
			    "key: [REDACTED]");
	/* Conservative: not a secret, not an address. */
	assert_string_equal(redact(rs, "user@host: 3 tokens left, password changed", &n),
			    "user@host: 3 tokens left, password changed");
	assert_int_equal(n, 0);
	assert_string_equal(redact(rs, "-----BEGIN CERTIFICATE-----", &n),
			    "-----BEGIN CERTIFICATE-----");
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_REDACT, 0)->hits, 1);
	assert_true(logs_rules_stats(rs, LOGS_RULE_REDACT, 0)->builtin);
	assert_string_equal(logs_rules_stats(rs, LOGS_RULE_REDACT, 1)->text, "secret");
	logs_rules_free(rs);
}

static void test_redact_overlaps_and_bounds(void **state)
{
	static const char *const p[] = { "abc", "bcd", "x*", NULL };
	struct logs_rules *rs = rules_with(LOGS_RULE_REDACT, p, false);
	char msg[400], out[32], want[1024] = "";
	unsigned n;
	size_t len;

	for (int i = 0; i < LOGS_REDACT_SPANS; i++)
		strcat(want, "[REDACTED] ");
	strcat(want, "[REDACTED]");

	/* Overlapping matches are one replacement; empty matches replace nothing. */
	assert_string_equal(redact(rs, "1abcd2", &n), "1[REDACTED]2");
	assert_int_equal(n, 2);
	/* Adjacent matches are one replacement too. */
	assert_string_equal(redact(rs, "abcabcabc!", &n), "[REDACTED]!");
	assert_int_equal(n, 3);
	/* More than LOGS_REDACT_SPANS matches: the rest of the message goes. */
	for (int i = 0; i < 100; i++)
		memcpy(msg + 4 * i, "abc ", 4);
	msg[399] = 0;
	assert_string_equal(redact(rs, msg, &n), want);
	/* A small buffer gets the start, never an overrun. */
	len = logs_rules_redact(rs, "zz abc yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 37, out, sizeof(out),
				&n);
	assert_int_equal(len, sizeof(out));
	assert_memory_equal(out, "zz [REDACTED] yyyyyyyyyyyyyyyyyy", sizeof(out));
	logs_rules_free(rs);
}

static void test_metric_substitution_and_sanitizing(void **state)
{
	static const char *const m[] = {
		"door/$1/$2 identifier:lockd message:lock (\\S+) failed: (.*)",
		"wifi.disconnects unit:wpa_supplicant\\.service message:CTRL-EVENT-DISCONNECTED",
		NULL,
	};
	struct logs_rules *rs = rules_with(LOGS_RULE_METRIC, m, false);
	struct counted c;
	struct logs_record r;
	char key[300];

	r = line("lockd", NULL, "lock front-door failed: motor stalled (E7)");
	assert_string_equal(metrics(rs, &r, &c), "door/front-door/motor_stalled__E7_");
	r = line("lockd", NULL, "lock \xc3\xa9t\xc3\xa9 failed: ");
	assert_string_equal(metrics(rs, &r, &c), "door/__t__/_");
	r = line("other", NULL, "lock x failed: y");
	assert_string_equal(metrics(rs, &r, &c), "");
	r = line("wpa_supplicant", "wpa_supplicant.service", "wlan0: CTRL-EVENT-DISCONNECTED x");
	assert_string_equal(metrics(rs, &r, &c), "wifi.disconnects");
	r = line("wpa_supplicant", NULL, "wlan0: CTRL-EVENT-DISCONNECTED x");
	assert_string_equal(metrics(rs, &r, &c), "");
	/* Cut to 128 bytes. */
	memset(key, 'k', sizeof(key));
	memcpy(key, "lock ", 5);
	strcpy(key + 250, " failed: z");
	r = line("lockd", NULL, key);
	metrics(rs, &r, &c);
	assert_int_equal(strlen(c.keys), LOGS_KEY_MAX);
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_METRIC, 0)->hits, 3);

	strcpy(key, "a b/c\x01:d");
	assert_int_equal(logs_key_sanitize(key, strlen(key)), 8);
	assert_string_equal(key, "a_b/c__d");
	logs_rules_free(rs);
}

static void test_metric_key_cap(void **state)
{
	static const char *const m[] = { "proc/$1 message:died: (\\w+)", NULL };
	struct logs_rules *rs = rules_with(LOGS_RULE_METRIC, m, false); /* 4 keys a rule */
	const char *names[] = { "a", "b", "c", "d", "e", "a", "f" };
	const char *want[] = { "proc/a",      "proc/b", "proc/c",     "proc/d",
			       "proc/_other", "proc/a", "proc/_other" };
	struct counted c;
	struct logs_record r;
	char msg[64];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(msg, sizeof(msg), "died: %s", names[i]);
		r = line("x", NULL, msg);
		assert_string_equal(metrics(rs, &r, &c), want[i]);
	}
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_METRIC, 0)->over_key_cap, 2);
	/* A new heartbeat: new keys again. */
	logs_rules_interval(rs);
	r = line("x", NULL, "died: f");
	assert_string_equal(metrics(rs, &r, &c), "proc/f");
	logs_rules_free(rs);
}

static void test_metric_key_never_holds_redacted_text(void **state)
{
	struct logs_rules *rs = logs_rules_new(8);
	struct counted c;
	struct logs_record r;
	char why[256], out[256];
	unsigned n;
	size_t len;

	assert_non_null(rs);
	assert_int_equal(logs_rules_add(rs, LOGS_RULE_REDACT, "email", true, why, sizeof(why)), 0);
	assert_int_equal(logs_rules_add(rs, LOGS_RULE_METRIC, "login/$1 message:login by (\\S+)",
					false, why, sizeof(why)),
			 0);
	/* The rule sees the match; its key does not get the address. */
	r = line("app", NULL, "login by bob@example.com");
	assert_string_equal(metrics(rs, &r, &c), "login/REDACTED");
	r = line("app", NULL, "login by bob");
	assert_string_equal(metrics(rs, &r, &c), "login/bob");
	len = logs_rules_redact(rs, "login by bob@example.com", 24, out, sizeof(out), &n);
	assert_int_equal(len, strlen("login by [REDACTED]"));
	/* Computing the key did not count as redactions. */
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_REDACT, 0)->hits, 1);
	logs_rules_free(rs);
}

static void test_metric_builtins(void **state)
{
	struct logs_rules *rs = rules_with(LOGS_RULE_METRIC, logs_metric_builtins, true);
	struct counted c;
	struct logs_record r;

	/* An OOM kill in the two lines of kernels since 4.19: counted once. */
	r = line("kernel", NULL,
		 "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
		 "global_oom,task_memcg=/system.slice/stress.service,task=stress,pid=4242,uid=0");
	assert_string_equal(metrics(rs, &r, &c), "oom_kill/stress");
	r = line("kernel", NULL,
		 "Out of memory: Killed process 4242 (stress) total-vm:518632kB, "
		 "anon-rss:255728kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:568kB "
		 "oom_score_adj:0");
	assert_string_equal(metrics(rs, &r, &c), "");
	/* One line alone (older kernels, a memory cgroup) */
	r = line("kernel", NULL,
		 "Memory cgroup out of memory: Killed process 77 (gw daemon) total-vm:1kB");
	assert_string_equal(metrics(rs, &r, &c), "oom_kill/gw_daemon");
	r = line("kernel", NULL,
		 "Out of memory: Kill process 78 (java) score 900 or sacrifice "
		 "child");
	assert_string_equal(metrics(rs, &r, &c), "oom_kill/java");
	r = line("kernel", NULL, "Killed process 78 (java) total-vm:2048kB, anon-rss:1024kB");
	assert_string_equal(metrics(rs, &r, &c), "");
	/* Not from the kernel: not counted. */
	r = line("myapp", NULL, "Out of memory: Killed process 1 (init)");
	assert_string_equal(metrics(rs, &r, &c), "");

	r = line("systemd", "init.scope",
		 "gatewayd.service: Scheduled restart job, restart counter is at 3.");
	assert_string_equal(metrics(rs, &r, &c), "unit_restart/gatewayd.service");
	r = line("systemd", "init.scope", "gatewayd.service: Failed with result 'exit-code'.");
	assert_string_equal(metrics(rs, &r, &c), "unit_failed/gatewayd.service");
	r = line("systemd", "init.scope",
		 "modem@ttyUSB0.service: Main process exited, code=killed, status=9/KILL");
	assert_string_equal(metrics(rs, &r, &c), "unit_main_exit/modem_ttyUSB0.service");
	r = line("systemd", "init.scope",
		 "gatewayd.service: Main process exited, code=exited, status=0/SUCCESS");
	assert_string_equal(metrics(rs, &r, &c), "");

	r = line("kernel", NULL, "Oops: 0002 [#1] PREEMPT SMP NOPTI");
	assert_string_equal(metrics(rs, &r, &c), "kernel_oops");
	r = line("kernel", NULL, "Internal error: Oops: 96000004 [#1] PREEMPT SMP");
	assert_string_equal(metrics(rs, &r, &c), "kernel_oops");
	r = line("kernel", NULL,
		 "WARNING: CPU: 1 PID: 345 at drivers/net/wireless/foo.c:1234 foo_tx+0x1c/0x40");
	assert_string_equal(metrics(rs, &r, &c), "kernel_warning");
	r = line("kernel", NULL,
		 "sensord[1234]: segfault at 0 ip 00005581d0e2a131 sp 00007ffd1c1b8f50 error 6 "
		 "in sensord[5581d0e29000+1000]");
	assert_string_equal(metrics(rs, &r, &c), "segfault/sensord");
	r = line("kernel", NULL, "link up");
	assert_string_equal(metrics(rs, &r, &c), "");
	assert_string_equal(logs_rules_stats(rs, LOGS_RULE_METRIC, 0)->text, "oom_kill");
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_METRIC, 0)->hits, 3);
	assert_int_equal(logs_rules_errors(rs), 0);
	logs_rules_free(rs);
}

static void failure(const char *kind, void *userdata)
{
	struct counted *c = userdata;

	count(kind, strlen(kind), c);
}

static const char *failures(struct logs_rules *rs, const struct logs_record *r, struct counted *c)
{
	c->keys[0] = 0;
	logs_rules_failures(rs, r, failure, c);
	return c->keys;
}

/* logs.failures: a kind as failure-kind.h has it, the patterns as a metric rule's. */
static void test_failure_rules(void **state)
{
	static const char *const f[] = {
		"wifi_disconnect identifier:wpa_supplicant message:CTRL-EVENT-DISCONNECTED",
		"lock_open unit:lockd\\.service message:^open failed",
		"wifi_disconnect message:carrier lost",
		NULL,
	};
	static const char *const bad[] = {
		"WiFi message:x",      "_other message:x",
		"wifi-down message:x", "wifi/$1 message:(x)",
		"wifi unit:x",	       "abcdefghijklmnopqrstuvwxyz0123456 message:x",
		"message:x",
	};
	struct logs_rules *rs = rules_with(LOGS_RULE_FAILURE, f, false);
	struct counted c;
	struct logs_record r;
	char why[256];

	r = line("wpa_supplicant", NULL, "wlan0: CTRL-EVENT-DISCONNECTED bssid=aa");
	assert_string_equal(failures(rs, &r, &c), "wifi_disconnect");
	r = line("gatewayd", NULL, "wlan0: CTRL-EVENT-DISCONNECTED bssid=aa");
	assert_string_equal(failures(rs, &r, &c), "");
	r = line("lockd", "lockd.service", "open failed: motor stalled");
	assert_string_equal(failures(rs, &r, &c), "lock_open");
	r = line("lockd", "lockd.service", "wlan0: carrier lost");
	assert_string_equal(failures(rs, &r, &c), "wifi_disconnect");
	/* Failure rules count nothing as metrics, and metric rules report no failure. */
	assert_string_equal(metrics(rs, &r, &c), "");
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_FAILURE, 0)->hits, 1);
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_FAILURE, 1)->hits, 1);
	assert_int_equal(logs_rules_stats(rs, LOGS_RULE_FAILURE, 2)->hits, 1);
	assert_int_equal(logs_rules_add(rs, LOGS_RULE_FAILURE, "oom_kill", true, why, sizeof(why)),
			 -ENOENT);
	logs_rules_free(rs);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = 0;
		assert_int_equal(logs_rule_check(LOGS_RULE_FAILURE, bad[i], why, sizeof(why)),
				 -EINVAL);
		assert_true(strstr(why, "expected") != NULL);
	}
	assert_int_equal(logs_rule_check(LOGS_RULE_FAILURE, "WiFi message:x", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "at byte 0: expected a failure kind of 1 to 32 of [a-z0-9_], "
				 "beginning with a letter or a digit");
	assert_int_equal(logs_rule_check(LOGS_RULE_FAILURE, "x message:(", why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "bad pattern at byte 11"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_syntax),
		cmocka_unit_test(test_bad_pattern_names_pcre2_and_offset),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pathological_pattern_is_stopped),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_redact_builtins),
		cmocka_unit_test(test_redact_overlaps_and_bounds),
		cmocka_unit_test(test_metric_substitution_and_sanitizing),
		cmocka_unit_test(test_metric_key_cap),
		cmocka_unit_test(test_metric_key_never_holds_redacted_text),
		cmocka_unit_test(test_metric_builtins),
		cmocka_unit_test(test_failure_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
