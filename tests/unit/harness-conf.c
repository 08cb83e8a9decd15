/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "harness-conf.h"
#include "tmpdir.h"

int conf_fixture_setup(void **state, const char *name)
{
	struct conf_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(test_tmpdir_make(f->dir, sizeof(f->dir), name));
	snprintf(f->main, sizeof(f->main), "%s/faultd.conf", f->dir);
	snprintf(f->dropins, sizeof(f->dropins), "%s/faultd.conf.d", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->runtime, sizeof(f->runtime), "%s/runtime.conf", f->state);
	assert_int_equal(mkdir(f->state, 0755), 0);
	*state = f;
	return 0;
}

int conf_fixture_teardown(void **state)
{
	struct conf_fixture *f = *state;
	int r = test_tmpdir_remove(f->dir);

	free(f);
	return r;
}
