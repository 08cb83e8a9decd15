/* SPDX-License-Identifier: MIT */
/*
 * What every faultd program derives the same way from the configuration: the device identity and
 * the spool's limits. faultd and faultd-core-handler both call these, so an entry looks the same
 * whichever process committed it.
 */
#pragma once

#include "config.h"
#include "identity.h"
#include "spool.h"

/* Resolves the device identity from cfg's device.* keys, the device-info command and the
 * fallbacks; every problem is logged. Returns 0 with *ret filled, or -errno. */
int lc_settings_identity(const struct lc_config *cfg, struct lc_identity *ret);

/* The spool.* limits of cfg. */
void lc_settings_spool_limits(const struct lc_config *cfg, struct lc_spool_limits *ret);
