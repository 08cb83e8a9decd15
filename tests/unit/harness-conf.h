/* SPDX-License-Identifier: MIT */
/*
 * faultd's configuration files for unit tests: a temporary directory (tmpdir.h) laid out as faultd
 * lays them out, with the main file, the drop-in directory and the state directory that holds
 * runtime.conf. A cmocka set-up makes it, the teardown removes it with everything in it.
 */
#pragma once

struct conf_fixture {
	char dir[256];	   /* $TMPDIR (else /tmp)/test-NAME-XXXXXX */
	char main[300];	   /* <dir>/faultd.conf (not written) */
	char dropins[300]; /* <dir>/faultd.conf.d (not made) */
	char state[300];   /* <dir>/state (made) */
	char runtime[320]; /* <state>/runtime.conf (not written) */
};

/* For a cmocka set-up: *state becomes a new fixture in a new temporary directory for the test
 * name. Returns 0; fails the test when the filesystem refuses. */
int conf_fixture_setup(void **state, const char *name);

/* For a cmocka teardown: removes the fixture's directory with everything in it and frees it.
 * Returns 0, or -1 when the removal failed. */
int conf_fixture_teardown(void **state);
