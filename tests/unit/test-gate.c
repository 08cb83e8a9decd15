/* SPDX-License-Identifier: MIT */
/* The record gate (libcollector/store/gate.c): consent first, then the fleet's sampling by class,
 * which developer mode lifts; and the reason for every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "gate.h"

static const char consent_why[] = "data collection is disabled";
static const char sampling_why[] = "the fleet's sampling excludes this type of entry";

static struct lc_sampling sampling_of(enum lc_resolution debugging, enum lc_resolution monitoring)
{
	struct lc_sampling s;

	lc_sampling_default(&s);
	s.debugging = debugging;
	s.monitoring = monitoring;
	return s;
}

static void test_no_consent_refuses_everything(void **state)
{
	struct lc_sampling s = sampling_of(LC_RES_HIGH, LC_RES_HIGH);

	for (int cls = 0; cls < _LC_CLASS_MAX; cls++)
		for (int dev = 0; dev <= 1; dev++) {
			const char *why = NULL;

			assert_int_equal(lc_gate_check(false, dev, &s, cls, &why), -EPERM);
			assert_string_equal(why, consent_why);
		}
}

static void test_no_consent_reads_no_sampling(void **state)
{
	const char *why = NULL;

	/* Without consent the sampling may be unknown (faultd-core-handler has not read it). */
	assert_int_equal(lc_gate_check(false, false, NULL, LC_CLASS_COREDUMP, &why), -EPERM);
	assert_string_equal(why, consent_why);
}

static void test_default_sampling_allows_every_class(void **state)
{
	struct lc_sampling s;

	lc_sampling_default(&s);
	for (int cls = 0; cls < _LC_CLASS_MAX; cls++) {
		const char *why = NULL;

		assert_int_equal(lc_gate_check(true, false, &s, cls, &why), 0);
		assert_null(why);
	}
}

static void test_sampling_decides_by_class(void **state)
{
	struct lc_sampling s = sampling_of(LC_RES_LOW, LC_RES_OFF);
	const char *why = NULL;

	assert_int_equal(lc_gate_check(true, false, &s, LC_CLASS_COREDUMP, &why), -ECANCELED);
	assert_string_equal(why, sampling_why);
	why = NULL;
	assert_int_equal(lc_gate_check(true, false, &s, LC_CLASS_METRICS, &why), -ECANCELED);
	assert_string_equal(why, sampling_why);
	assert_int_equal(lc_gate_check(true, false, &s, LC_CLASS_ATTRIBUTES, &why), -ECANCELED);
	/* Reboots and device-config entries are never sampled away. */
	assert_int_equal(lc_gate_check(true, false, &s, LC_CLASS_REBOOT, &why), 0);

	s = sampling_of(LC_RES_NORMAL, LC_RES_LOW);
	assert_int_equal(lc_gate_check(true, false, &s, LC_CLASS_COREDUMP, &why), 0);
	assert_int_equal(lc_gate_check(true, false, &s, LC_CLASS_METRICS, &why), -ECANCELED);
}

static void test_dev_mode_lifts_sampling_not_consent(void **state)
{
	struct lc_sampling s = sampling_of(LC_RES_OFF, LC_RES_OFF);
	const char *why = NULL;

	for (int cls = 0; cls < _LC_CLASS_MAX; cls++)
		assert_int_equal(lc_gate_check(true, true, &s, cls, &why), 0);
	assert_null(why);
	assert_int_equal(lc_gate_check(false, true, &s, LC_CLASS_REBOOT, &why), -EPERM);
	assert_string_equal(why, consent_why);
}

static void test_unknown_type_is_never_recorded(void **state)
{
	struct lc_sampling s;
	const char *why = NULL;

	lc_sampling_default(&s);
	/* lc_entry_class_from_type()'s -EINVAL for an unknown type, even in developer mode. */
	assert_int_equal(lc_entry_class_from_type("no-such-type"), -EINVAL);
	assert_int_equal(lc_gate_check(true, true, &s, -EINVAL, &why), -ECANCELED);
	assert_string_equal(why, sampling_why);
	assert_int_equal(lc_gate_check(true, true, &s, _LC_CLASS_MAX, &why), -ECANCELED);
	/* Consent still comes first. */
	assert_int_equal(lc_gate_check(false, false, &s, -EINVAL, &why), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_consent_refuses_everything),
		cmocka_unit_test(test_no_consent_reads_no_sampling),
		cmocka_unit_test(test_default_sampling_allows_every_class),
		cmocka_unit_test(test_sampling_decides_by_class),
		cmocka_unit_test(test_dev_mode_lifts_sampling_not_consent),
		cmocka_unit_test(test_unknown_type_is_never_recorded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
