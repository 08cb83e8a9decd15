/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

int lc_listen_address_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len,
			    const char **ret_why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *host_start, *host_end, *port;
	unsigned long port_n = 0;
	bool ipv6 = s[0] == '[';
	size_t host_len;

	if (ipv6) {
		host_start = s + 1;
		host_end = strchr(host_start, ']');
		if (!host_end || host_end[1] != ':') {
			*ret_why = "expected \":port\" after the address: \"[IPv6 address]:port\"";
			return -EINVAL;
		}
	} else {
		host_start = s;
		host_end = strchr(s, ':');
		if (!host_end) {
			*ret_why = "expected \"IPv4 address:port\" or \"[IPv6 address]:port\"";
			return -EINVAL;
		}
		if (strchr(host_end + 1, ':')) {
			*ret_why = "an IPv6 address must be written in brackets: \"[::1]:8125\"";
			return -EINVAL;
		}
	}
	port = (ipv6 ? host_end + 1 : host_end) + 1;
	if (!port[0] || strlen(port) > 5) {
		*ret_why = "expected a port number from 0 to 65535";
		return -EINVAL;
	}
	for (const char *c = port; *c; c++) {
		if (!(*c >= '0' && *c <= '9')) {
			*ret_why = "expected a port number from 0 to 65535";
			return -EINVAL;
		}
		port_n = port_n * 10 + (unsigned long)(*c - '0');
	}
	if (port_n > 65535) {
		*ret_why = "expected a port number from 0 to 65535";
		return -EINVAL;
	}
	host_len = (size_t)(host_end - host_start);
	if (host_len == 0 || host_len >= sizeof(host)) {
		*ret_why =
			ipv6 ? "invalid IPv6 address"
			     : "invalid IPv4 address: expected a numeric IPv4 address, as a.b.c.d";
		return -EINVAL;
	}
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';

	if (ipv6) {
		struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port_n) };

		if (inet_pton(AF_INET6, host, &sa6.sin6_addr) != 1) {
			*ret_why = "invalid IPv6 address (numeric, without a zone)";
			return -EINVAL;
		}
		if (ret) {
			memset(ret, 0, sizeof(*ret));
			memcpy(ret, &sa6, sizeof(sa6));
			*ret_len = sizeof(sa6);
		}
	} else {
		struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port_n) };

		if (inet_pton(AF_INET, host, &sa4.sin_addr) != 1) {
			*ret_why =
				"invalid IPv4 address: expected a numeric IPv4 address, as a.b.c.d";
			return -EINVAL;
		}
		if (ret) {
			memset(ret, 0, sizeof(*ret));
			memcpy(ret, &sa4, sizeof(sa4));
			*ret_len = sizeof(sa4);
		}
	}
	return 0;
}

int lc_check_listen_address(const char *value, const char **ret_why)
{
	return lc_listen_address_parse(value, NULL, NULL, ret_why);
}

int lc_listen_address_format(const struct sockaddr_storage *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (!inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host)))
			return -errno;
		n = snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		if (!inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host)))
			return -errno;
		n = snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		return -EAFNOSUPPORT;
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
