/* SPDX-License-Identifier: MIT */
/*
 * The literals each built-in rule cannot match without (builtin_needs[] in
 * plugins/logs/logs-rules.c), checked before PCRE2 runs it: on lines made of the literals, their
 * near misses and pieces of real lines, every line a built-in's pattern matches holds one of its
 * literals, and a built-in's identifier pattern matches exactly its literal. The file includes
 * logs-rules.c, whose tables are static.
 */
/* Before cmocka.h, whose fail() macro would stand for logs-rules.c's fail(). */
#include "logs-rules.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Pieces the lines are made of: every literal, in other cases and cut short, and what the
 * patterns need around them. */
static const char *const pieces[] = {
	"@",
	"user",
	"mail.example.com",
	"x.y",
	".org",
	"passw",
	"PassWord",
	"passwd",
	"pass",
	"secret",
	"SECRET",
	"client_secret",
	"token",
	"ToKeN",
	"tok",
	"api_key",
	"apikey",
	"ACCESS_KEY",
	"private_key",
	"key",
	"KEY",
	"ke",
	"bearer",
	"Bearer ",
	"bear",
	"=",
	":",
	" ",
	"  ",
	"\"",
	"'",
	",",
	";",
	"&",
	"-----BEGIN ",
	"-----BEGIN",
	"RSA ",
	"PRIVATE KEY-----",
	"-----END ",
	"-----",
	"oom-kill:",
	"oom-kill",
	"constraint=CONSTRAINT_NONE,",
	"task=",
	"nginx",
	",pid=",
	"1234",
	"Killed process ",
	"Kill process ",
	"Killed",
	" process ",
	"process",
	" (",
	")",
	"modem.service",
	": Scheduled restart job, restart counter is at ",
	": Scheduled restart job",
	": Failed with result '",
	"exit-code'.",
	": Main process exited, code=",
	"exited, status=0/SUCCESS",
	"killed, status=9/KILL",
	"Oops",
	"oops",
	"Internal error: ",
	": 96000004 [#",
	"]",
	"[#1]",
	"WARNING: CPU: ",
	"WARNING: CPU:",
	"0 PID: ",
	"42",
	" at ",
	"app",
	"[",
	"]: segfault at ",
	"]: segfault",
	"segfault at ",
	"0 ip 00007f",
	"\n",
	"\xC3\xA9",
	"\xFF",
};

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

/* Lines the built-ins match, as the kernel, systemd and programs write them. */
static const char *const examples[] = {
	"mail from bob.smith@mail.example.com rejected",
	"login password=hunter2, retry",
	"Authorization: Bearer abc.def",
	"cfg api_key: \"x y\" client_secret='z'",
	"key: -----BEGIN RSA PRIVATE KEY-----MIIE-----END RSA PRIVATE KEY-----",
	"oom-kill:constraint=CONSTRAINT_NONE,task=nginx,pid=1234,uid=0",
	"Out of memory: Killed process 1234 (nginx) total-vm:1kB",
	"Out of memory: Kill process 1234 (nginx) score 900",
	"modem.service: Scheduled restart job, restart counter is at 3.",
	"modem.service: Failed with result 'exit-code'.",
	"modem.service: Main process exited, code=killed, status=9/KILL",
	"Internal error: Oops: 96000004 [#1] PREEMPT SMP",
	"WARNING: CPU: 0 PID: 42 at kernel/foo.c:1 bar+0x1/0x2",
	"app[42]: segfault at 0 ip 00007f sp 00007f error 4",
};

/* A line of up to 12 pieces in buf, or an example with a few pieces cut, added or changed in
 * case; returns its length. */
static size_t make_line(char *buf, size_t size)
{
	size_t n = 0, count = next() % 13;

	if (next() % 2) {
		const char *e = examples[next() % ARRAY_SIZE(examples)];

		n = strlen(e);
		memcpy(buf, e, n);
		for (unsigned k = 0, edits = 1 + next() % 3; k < edits; k++) {
			size_t at = n ? next() % n : 0, cut = 1 + next() % 4;
			const char *p = pieces[next() % ARRAY_SIZE(pieces)];
			size_t len = strlen(p);

			cut = MIN(cut, n - at);
			switch (next() % 3) {
			case 0:
				memmove(buf + at, buf + at + cut, n - at - cut);
				n -= cut;
				break;
			case 1:
				if (n + len < size) {
					memmove(buf + at + len, buf + at, n - at);
					memcpy(buf + at, p, len);
					n += len;
				}
				break;
			default:
				if (n)
					buf[at] ^= 0x20;
				break;
			}
		}
		return n;
	}

	for (size_t i = 0; i < count; i++) {
		const char *p = pieces[next() % ARRAY_SIZE(pieces)];
		size_t len = strlen(p);

		if (n + len >= size)
			break;
		memcpy(buf + n, p, len);
		n += len;
	}
	return n;
}

static void check_builtin(const struct builtin *b, enum logs_rule_kind kind,
			  pcre2_compile_context *cctx, pcre2_match_data *md)
{
	const struct builtin_need *nd = builtin_need_find(b->name);
	struct parsed p;
	pcre2_code *message = NULL, *identifier = NULL;
	char why[256], buf[600];
	unsigned matched = 0;

	print_message("%s\n", b->name);
	assert_non_null(nd);
	assert_int_equal(rule_parse(kind, b->text, &p, why, sizeof(why)), 0);
	assert_null(p.unit); /* the check leaves the unit to PCRE2: none has one */
	assert_int_equal(compile(cctx, p.message, p.message_len, 0, false, false, &message, why,
				 sizeof(why)),
			 0);
	/* The identifier: the literal, whole, or none. */
	assert_true(!p.identifier == !nd->identifier);
	if (p.identifier) {
		static const char *const names[] = { "kernel",	       "systemd", "Kernel",
						     "kernel ",	       "kernelx", "xkernel",
						     "systemd-logind", "",	  "k" };

		assert_int_equal(compile(cctx, p.identifier, p.identifier_len, 0, true, false,
					 &identifier, why, sizeof(why)),
				 0);
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			int r = pcre2_match(identifier, (PCRE2_SPTR)names[i], strlen(names[i]), 0,
					    0, md, NULL);

			assert_int_equal(r >= 0, streq(names[i], nd->identifier));
		}
	}
	for (unsigned i = 0; i < 300000; i++) {
		size_t len = make_line(buf, sizeof(buf));
		int r = pcre2_match(message, (PCRE2_SPTR)buf, len, 0, 0, md, NULL);

		assert_true(r >= 0 || r == PCRE2_ERROR_NOMATCH);
		if (r < 0)
			continue;
		matched++;
		if (!need_met(nd, buf, len))
			fail_msg("%s matches \"%.*s\" without its literals", b->name, (int)len,
				 buf);
	}
	/* Not vacuous: the pieces make lines that match. */
	assert_true(matched > 0);
	pcre2_code_free(message);
	pcre2_code_free(identifier);
}

static void test_needs_hold(void **state)
{
	pcre2_compile_context *cctx = compile_context();
	pcre2_match_data *md = pcre2_match_data_create(GROUPS, NULL);

	assert_non_null(cctx);
	assert_non_null(md);
	for (size_t i = 0; i < ARRAY_SIZE(redact_table); i++)
		check_builtin(&redact_table[i], LOGS_RULE_REDACT, cctx, md);
	for (size_t i = 0; i < ARRAY_SIZE(metric_table); i++)
		check_builtin(&metric_table[i], LOGS_RULE_METRIC, cctx, md);
	pcre2_match_data_free(md);
	pcre2_compile_context_free(cctx);
}

/* The folded search, on its edges. */
static void test_need_met(void **state)
{
	const struct builtin_need *secret = builtin_need_find("secret");
	const struct builtin_need *email = builtin_need_find("email");

	assert_true(need_met(secret, "x PASSWORD=", 11));
	assert_true(need_met(secret, "BeArEr", 6));
	assert_true(need_met(secret, "key", 3));
	assert_false(need_met(secret, "ke", 2));
	assert_false(need_met(secret, "pass word tok en", 16));
	assert_false(need_met(secret, "", 0));
	assert_false(need_met(secret, "k\xC5\xBFy", 4)); /* U+017F folds to s only with UTF */
	assert_true(need_met(email, "a@b", 3));
	assert_false(need_met(email, "ab", 2));
	assert_false(need_met(email, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs_hold),
		cmocka_unit_test(test_need_met),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
