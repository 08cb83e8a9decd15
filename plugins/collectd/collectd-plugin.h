/* SPDX-License-Identifier: MIT */
/*
 * The collectd plugin: an HTTP listener for collectd's write_http plugin with Format "JSON",
 * served by libmicrohttpd without a thread of its own, inside faultd's loop. Readings become
 * metrics of the heartbeat in progress (collectd-parse.h says which keys and kinds).
 *
 * POST /v1/collectd with a JSON array of value lists is answered
 *   200 {"accepted": N, "rejected": M}  N and M counted in value lists; a list is rejected
 *                                       whole when any of its fields is wrong, the others are
 *                                       kept, and the answer stays 200 because write_http
 *                                       takes anything else as a failed write;
 *   400 {"error": "..."}                the body is not a JSON array (or too deep, too many
 *                                       values, an integer out of range);
 *   413 {"error": "..."}                Content-Length above max_body_bytes (a chunked body
 *                                       growing beyond it has its connection closed instead);
 * another method on that path gets 405 with "Allow: POST", another path 404.
 */
#pragma once

#include "plugin.h"

extern const struct lc_plugin_ops collectd_plugin_ops;
