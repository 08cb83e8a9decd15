/* SPDX-License-Identifier: MIT */
/* The child processes of a unit test: a test that runs commands ends with none left behind. */
#pragma once

/* Fails the running cmocka test unless the test process has no children left, running or
 * zombie. */
void assert_no_children(void);
