/* SPDX-License-Identifier: MIT */
/*
 * The per-minute line budget: a token bucket that holds at most a minute's lines and refills
 * continuously at that rate, so that a burst of up to a minute's budget passes at once and a
 * flood is held to the rate. Pure: the time is an argument (CLOCK_MONOTONIC, ms).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The highest rate: keeps the arithmetic far from overflowing. */
#define LOGS_BUDGET_MAX 100000000ULL

struct logs_budget {
	uint64_t per_minute; /* 0: no limit; at most LOGS_BUDGET_MAX */
	uint64_t units;	     /* what is left, a line costing 60000 units: a millisecond refills
			      * per_minute units, exactly */
	uint64_t last_ms;    /* when units was last brought up to date */
};

/* A full bucket of per_minute lines (0: no limit) at now_ms. */
void logs_budget_init(struct logs_budget *b, uint64_t per_minute, uint64_t now_ms);

/* Whether a line may pass at now_ms; takes it from the budget if so. A clock that went back
 * refills nothing. */
bool logs_budget_take(struct logs_budget *b, uint64_t now_ms);
