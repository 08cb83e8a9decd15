/* SPDX-License-Identifier: MIT */
/*
 * Listening addresses as the configuration writes them: "a.b.c.d:port" or "[ipv6]:port", numeric
 * (no host names, no zone), port 0-65535 where 0 means any free port. Used by every plugin that
 * listens (statsd, collectd), so that they accept and show addresses the same way.
 */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

/* Parses s into *ret and *ret_len unless ret is NULL (only checking s); on failure both are left
 * untouched. Returns 0, or -EINVAL with *ret_why (static). */
int lc_listen_address_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len,
			    const char **ret_why);

/* lc_cfg_check_t for a key holding a listening address. */
int lc_check_listen_address(const char *value, const char **ret_why);

/* Formats an AF_INET or AF_INET6 address with its port as above into buf. Returns 0,
 * -EAFNOSUPPORT for another family or -ENAMETOOLONG when buf is too small. */
int lc_listen_address_format(const struct sockaddr_storage *sa, char *buf, size_t size);
