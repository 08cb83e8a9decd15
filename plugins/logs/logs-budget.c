/* SPDX-License-Identifier: MIT */
#include "logs-budget.h"
#include "macro.h"

#define MINUTE_MS 60000ULL

void logs_budget_init(struct logs_budget *b, uint64_t per_minute, uint64_t now_ms)
{
	per_minute = MIN(per_minute, LOGS_BUDGET_MAX);
	*b = (struct logs_budget){
		.per_minute = per_minute,
		.units = per_minute * MINUTE_MS,
		.last_ms = now_ms,
	};
}

bool logs_budget_take(struct logs_budget *b, uint64_t now_ms)
{
	uint64_t full = b->per_minute * MINUTE_MS;

	if (b->per_minute == 0)
		return true;
	if (now_ms > b->last_ms) {
		/* A minute or more refills the whole bucket, and keeps the product small. */
		uint64_t elapsed = MIN(now_ms - b->last_ms, MINUTE_MS);

		b->units = MIN(full, b->units + elapsed * b->per_minute);
		b->last_ms = now_ms;
	}
	if (b->units < MINUTE_MS)
		return false;
	b->units -= MINUTE_MS;
	return true;
}
