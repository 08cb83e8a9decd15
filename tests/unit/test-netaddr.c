/* SPDX-License-Identifier: MIT */
/* Listening addresses: what the statsd and collectd settings accept, and how they are shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "netaddr.h"

static void test_addresses_and_families(void **state)
{
	const struct {
		const char *s;
		int family;
		const char *host;
		unsigned port;
	} good[] = {
		{ "127.0.0.1:8787", AF_INET, "127.0.0.1", 8787 },
		{ "0.0.0.0:0", AF_INET, "0.0.0.0", 0 },
		{ "10.1.2.3:65535", AF_INET, "10.1.2.3", 65535 },
		{ "[::1]:8787", AF_INET6, "::1", 8787 },
		{ "[::]:1", AF_INET6, "::", 1 },
		{ "[fe80::1:2]:00080", AF_INET6, "fe80::1:2", 80 },
	};
	const char *bad[] = {
		"",
		"127.0.0.1",
		"127.0.0.1:",
		":8787",
		"localhost:8787",
		"127.0.0.1:65536",
		"127.0.0.1:123456",
		"127.0.0.1:-1",
		"127.0.0.1:+80",
		"127.0.0.1:80x",
		"127.0.0.256:80",
		"::1:8787",
		"[::1]",
		"[::1]8787",
		"[::1]:",
		"[]:80",
		"[127.0.0.1]:80",
		"[::1:80",
		"[::1]:80:80",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		const char *reason = NULL;
		char host[INET6_ADDRSTRLEN];

		assert_int_equal(lc_listen_address_parse(good[i].s, &ss, &len, &reason), 0);
		assert_int_equal(ss.ss_family, good[i].family);
		if (good[i].family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

			assert_int_equal(len, sizeof(*sin));
			assert_int_equal(ntohs(sin->sin_port), good[i].port);
			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

			assert_int_equal(len, sizeof(*sin6));
			assert_int_equal(ntohs(sin6->sin6_port), good[i].port);
			inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		}
		assert_string_equal(host, good[i].host);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		const char *reason = NULL;

		if (lc_listen_address_parse(bad[i], &ss, &len, &reason) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_non_null(reason);
	}
}

static void test_ports_and_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:65536",
		"127.0.0.1:99999",
		"127.0.0.1:123456",
		"127.0.0.1:-1",
		"127.0.0.1:+80",
		"127.0.0.1:80x",
		"127.0.0.1: 80",
		"127.0.0.1:0x50",
		":8125",
		"localhost:8125",
		"1.2.3:8125",
		"256.1.1.1:8125",
		"1.2.3.4.5:8125",
		" 127.0.0.1:8125",
		"::1:8125",
		"::1",
		"[::1]8125",
		"[::1]:",
		"[::1]",
		"[::1",
		"[]:8125",
		"[127.0.0.1]:8125",
		"[fe80::1%eth0]:8125",
		"[::1]:8125x",
		"[::g]:8125",
		"[1111:2222:3333:4444:5555:6666:7777:8888:9999]:1",
	};
	struct sockaddr_storage sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&sa;
	socklen_t len = 0;
	const char *reason;
	char text[INET6_ADDRSTRLEN];

	assert_int_equal(lc_listen_address_parse("127.0.0.1:8125", &sa, &len, &reason), 0);
	assert_int_equal(sa.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(s4->sin_port), 8125);
	assert_int_equal(ntohl(s4->sin_addr.s_addr), INADDR_LOOPBACK);

	assert_int_equal(lc_listen_address_parse("0.0.0.0:0", &sa, &len, &reason), 0);
	assert_int_equal(ntohs(s4->sin_port), 0);
	assert_int_equal(s4->sin_addr.s_addr, INADDR_ANY);
	assert_int_equal(lc_listen_address_parse("10.1.2.3:65535", &sa, &len, &reason), 0);
	assert_int_equal(ntohs(s4->sin_port), 65535);
	assert_int_equal(lc_listen_address_parse("10.1.2.3:00080", &sa, &len, &reason), 0);
	assert_int_equal(ntohs(s4->sin_port), 80);

	assert_int_equal(lc_listen_address_parse("[::1]:8125", &sa, &len, &reason), 0);
	assert_int_equal(sa.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(s6->sin6_port), 8125);
	assert_true(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	assert_int_equal(lc_listen_address_parse("[2001:db8::7]:0", &sa, &len, &reason), 0);
	assert_string_equal(inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text)), "2001:db8::7");
	assert_int_equal(lc_listen_address_parse("[::ffff:127.0.0.1]:1", &sa, &len, &reason), 0);
	assert_int_equal(lc_listen_address_parse("[::]:8125", NULL, NULL, &reason), 0);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		reason = NULL;
		len = 77;
		if (lc_listen_address_parse(bad[i], &sa, &len, &reason) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(reason);
		assert_int_equal(len, 77);
	}
	assert_int_equal(lc_listen_address_parse("::1:8125", NULL, NULL, &reason), -EINVAL);
	assert_string_equal(reason, "an IPv6 address must be written in brackets: \"[::1]:8125\"");
}

static void test_format(void **state)
{
	const char *const round_trip[] = { "127.0.0.1:8125", "0.0.0.0:0", "[::1]:8787",
					   "[2001:db8::7]:65535" };
	struct sockaddr_storage sa = {};
	const char *why = NULL;
	socklen_t len;
	char buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(round_trip); i++) {
		assert_int_equal(lc_listen_address_parse(round_trip[i], &sa, &len, &why), 0);
		assert_int_equal(lc_listen_address_format(&sa, buf, sizeof(buf)), 0);
		assert_string_equal(buf, round_trip[i]);
	}
	assert_int_equal(lc_listen_address_format(&sa, buf, 8), -ENAMETOOLONG);
	sa.ss_family = AF_UNIX;
	assert_int_equal(lc_listen_address_format(&sa, buf, sizeof(buf)), -EAFNOSUPPORT);
	assert_int_equal(lc_check_listen_address("[::1]:1", &why), 0);
	assert_int_equal(lc_check_listen_address("::1:1", &why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses_and_families),
		cmocka_unit_test(test_ports_and_refusals),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
