/* SPDX-License-Identifier: MIT */
/* Tests for identity.c: validation, device-info parsing, and resolution against a fake sysroot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "clock.h"
#include "harness-fs.h"
#include "harness-proc.h"
#include "identity.h"
#include "log.h"
#include "macro.h"
#include "tmpdir.h"

#define SERIAL_WHY "expected 1-128 characters of A-Z a-z 0-9 _ -"
#define TYPE_WHY   "expected 1-128 characters of A-Z a-z 0-9 _ . : + -"
#define VERSION_WHY \
	"expected 1-128 characters of A-Z a-z 0-9 _ . : + - ( ) [ ] \\ and space (not /)"
#define MACHINE_ID "0123456789abcdef0123456789abcdef"
/* What a device with no device-info command tried, field by field. */
#define NO_COMMAND "device.info_command (not set), memfault-device-info (not found)"
#define NO_SERIAL_WITH(command)                                                            \
	"no device_serial: tried device.serial (not set), " command ", /etc/machine-id "   \
	"(missing, empty or \"uninitialized\"); set device.serial, or have a device-info " \
	"command print DEVICE_ID"
#define NO_SW_TYPE_WITH(command)                                                      \
	"no software_type: tried device.software_type (not set), " command ", ID in " \
	"/etc/os-release or /usr/lib/os-release (missing or empty); set "             \
	"device.software_type, or have a device-info command print SOFTWARE_TYPE"
#define NO_SW_VERSION_WITH(command)                                                       \
	"no software_version: tried device.software_version (not set), " command          \
	", VERSION_ID in /etc/os-release or /usr/lib/os-release (missing or empty); set " \
	"device.software_version, or have a device-info command print SOFTWARE_VERSION"
#define NO_SERIAL     NO_SERIAL_WITH(NO_COMMAND)
#define NO_SW_TYPE    NO_SW_TYPE_WITH(NO_COMMAND)
#define NO_SW_VERSION NO_SW_VERSION_WITH(NO_COMMAND)

/* ---- helpers ---- */

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = 0;
	return s;
}

static int setup_root(void **state)
{
	*state = test_tmpdir_new("identity");
	return *state ? 0 : -1;
}

static int teardown_root(void **state)
{
	return test_tmpdir_free(*state);
}

static size_t count(char **l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static void assert_field(const struct lc_identity *id, enum lc_id_field f, const char *value,
			 const char *source)
{
	assert_string_equal(id->value[f], value);
	assert_string_equal(id->source[f], source);
}

/* ---- validation ---- */

static void test_field_names(void **state)
{
	assert_string_equal(lc_id_field_name(LC_ID_DEVICE_SERIAL), "device_serial");
	assert_string_equal(lc_id_field_name(LC_ID_HARDWARE_VERSION), "hardware_version");
	assert_string_equal(lc_id_field_name(LC_ID_SOFTWARE_TYPE), "software_type");
	assert_string_equal(lc_id_field_name(LC_ID_SOFTWARE_VERSION), "software_version");
	assert_null(lc_id_field_name(_LC_ID_MAX));
}

static void test_check_tables(void **state)
{
	_cleanup_free_ char *len128 = repeat('a', 128), *len129 = repeat('a', 129);
	static const struct {
		const char *value;
		bool ok[_LC_ID_MAX]; /* serial, hardware, type, version */
	} table[] = {
		{ "abc", { true, true, true, true } },
		{ "A-Z_a-z-0-9", { true, true, true, true } },
		{ "1.2.3", { false, true, true, true } },
		{ "evt:2", { false, true, true, true } },
		/* The hosted service's sets: '+' wherever '.' is allowed; brackets and backslash in
		 * versions; '/' nowhere (faultd accepted it in versions once). */
		{ "1.0+git.abc", { false, true, true, true } },
		{ "a+b", { false, true, true, true } },
		{ "1.0 (rc1) [beta] c:\\x", { false, false, false, true } },
		{ "[", { false, false, false, true } },
		{ "\\", { false, false, false, true } },
		{ "1.0 (rc1)/beta", { false, false, false, false } },
		{ "1/2", { false, false, false, false } },
		{ "a b", { false, false, false, true } },
		{ " ", { false, false, false, true } },
		{ "", { false, false, false, false } },
		{ "caf\xc3\xa9", { false, false, false, false } },  /* UTF-8 é */
		{ "\xe2\x80\x8b", { false, false, false, false } }, /* zero-width space */
		{ "a\tb", { false, false, false, false } },
		{ "a\nb", { false, false, false, false } },
		{ "a\"b", { false, false, false, false } },
		{ "a~b", { false, false, false, false } },
		{ "a{b}", { false, false, false, false } },
		{ "a,b", { false, false, false, false } },
		{ "a@b", { false, false, false, false } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		for (int f = 0; f < _LC_ID_MAX; f++) {
			const char *why = NULL;
			int r = lc_id_check((enum lc_id_field)f, table[i].value, &why);

			if (r != (table[i].ok[f] ? 0 : -EINVAL))
				fail_msg("lc_id_check(%s, \"%s\") = %d", lc_id_field_name(f),
					 table[i].value, r);
			if (r < 0)
				assert_non_null(why);
		}

	for (int f = 0; f < _LC_ID_MAX; f++) {
		const char *why = NULL;

		assert_int_equal(lc_id_check((enum lc_id_field)f, len128, &why), 0);
		assert_int_equal(lc_id_check((enum lc_id_field)f, len129, &why), -EINVAL);
		assert_int_equal(lc_id_check((enum lc_id_field)f, NULL, &why), -EINVAL);
	}

	const char *why = NULL;
	assert_int_equal(lc_id_check(LC_ID_DEVICE_SERIAL, "my device", &why), -EINVAL);
	assert_string_equal(why, SERIAL_WHY);
	assert_int_equal(lc_id_check(LC_ID_SOFTWARE_TYPE, "a b", &why), -EINVAL);
	assert_string_equal(why, TYPE_WHY);
	assert_int_equal(lc_id_check(LC_ID_SOFTWARE_VERSION, "release/1.0", &why), -EINVAL);
	assert_string_equal(why, VERSION_WHY);
	assert_int_equal(lc_id_check(_LC_ID_MAX, "abc", &why), -EINVAL);
}

static void test_schema_checks_accept_unset(void **state)
{
	_cleanup_free_ char *len129 = repeat('x', 129);
	const char *why = NULL;

	assert_int_equal(lc_id_check_serial("", &why), 0);
	assert_int_equal(lc_id_check_serial(NULL, &why), 0);
	assert_int_equal(lc_id_check_type("", &why), 0);
	assert_int_equal(lc_id_check_version("", &why), 0);

	assert_int_equal(lc_id_check_serial("gw-0001", &why), 0);
	assert_int_equal(lc_id_check_serial("gw.0001", &why), -EINVAL);
	assert_string_equal(why, SERIAL_WHY);
	assert_int_equal(lc_id_check_type("evt:2.1", &why), 0);
	assert_int_equal(lc_id_check_type("evt 2", &why), -EINVAL);
	assert_int_equal(lc_id_check_version("1.0 (build 7)", &why), 0);
	assert_int_equal(lc_id_check_version("1.0+build.7 [x]", &why), 0);
	assert_int_equal(lc_id_check_version("1.0/7", &why), -EINVAL);
	assert_int_equal(lc_id_check_type("1.0+7", &why), 0);
	assert_int_equal(lc_id_check_version(len129, &why), -EINVAL);
}

/* ---- device-info output ---- */

static void free_values(char *v[_LC_ID_MAX])
{
	for (int f = 0; f < _LC_ID_MAX; f++)
		free(v[f]);
}

static void test_parse_info_basic(void **state)
{
	const char text[] = "# device info\n"
			    "\n"
			    "DEVICE_ID=\"gw-0001\"\r\n"
			    "  HARDWARE_VERSION='evt:2'   \r\n"
			    "SOFTWARE_TYPE=main\n"
			    "SOFTWARE_VERSION=1.2.3 (build 7)  \n"
			    "   # indented comment";
	char *v[_LC_ID_MAX] = { NULL };
	_cleanup_strv_free_ char **warnings = NULL;

	assert_int_equal(lc_identity_parse_info(text, sizeof(text) - 1, v, &warnings), 0);
	assert_string_equal(v[LC_ID_DEVICE_SERIAL], "gw-0001");
	assert_string_equal(v[LC_ID_HARDWARE_VERSION], "evt:2");
	assert_string_equal(v[LC_ID_SOFTWARE_TYPE], "main");
	assert_string_equal(v[LC_ID_SOFTWARE_VERSION], "1.2.3 (build 7)");
	assert_null(warnings);
	free_values(v);
}

static void test_parse_info_quoting(void **state)
{
	const char text[] = "SOFTWARE_VERSION=\"1.0 \\(x\\)\"-'(rc 1)'\n" /* concatenated */
			    "DEVICE_ID=gw\\-7\n";			  /* escaped unquoted */
	char *v[_LC_ID_MAX] = { NULL };
	_cleanup_strv_free_ char **warnings = NULL;

	assert_int_equal(lc_identity_parse_info(text, sizeof(text) - 1, v, &warnings), 0);
	/* Inside "...", a backslash before '(' is kept (and allowed in a version). */
	assert_string_equal(v[LC_ID_SOFTWARE_VERSION], "1.0 \\(x\\)-(rc 1)");
	assert_string_equal(v[LC_ID_DEVICE_SERIAL], "gw-7");
	assert_null(warnings);
	free_values(v);

	const char text2[] = "SOFTWARE_VERSION=\"1.0 (x)\"-'(rc 1)'\n";
	char *w[_LC_ID_MAX] = { NULL };
	assert_int_equal(lc_identity_parse_info(text2, sizeof(text2) - 1, w, NULL), 0);
	assert_string_equal(w[LC_ID_SOFTWARE_VERSION], "1.0 (x)-(rc 1)");
	free_values(w);
}

static void test_parse_info_warnings(void **state)
{
	const char text[] = "DEVICE_ID=my device\n"
			    "garbage without equals\n"
			    "FOO=bar\n"
			    "HARDWARE_VERSION=\"unterminated\n"
			    "=value\n"
			    "SOFTWARE_TYPE=ok\n";
	char *v[_LC_ID_MAX] = { NULL };
	_cleanup_strv_free_ char **warnings = NULL;

	assert_int_equal(lc_identity_parse_info(text, sizeof(text) - 1, v, &warnings), 0);
	assert_null(v[LC_ID_DEVICE_SERIAL]);
	assert_null(v[LC_ID_HARDWARE_VERSION]);
	assert_string_equal(v[LC_ID_SOFTWARE_TYPE], "ok");
	assert_null(v[LC_ID_SOFTWARE_VERSION]);

	assert_int_equal(count(warnings), 5);
	assert_string_equal(warnings[0],
			    "line 1: invalid DEVICE_ID value \"my device\": " SERIAL_WHY);
	assert_string_equal(warnings[1],
			    "line 2: expected KEY=VALUE, got \"garbage without equals\", ignoring");
	assert_string_equal(warnings[2], "line 3: unknown key \"FOO\", ignoring");
	assert_string_equal(warnings[3],
			    "line 4: invalid HARDWARE_VERSION value "
			    "\"HARDWARE_VERSION=\\\"unterminated\": unterminated double "
			    "quote");
	assert_string_equal(warnings[4], "line 5: expected KEY=VALUE, got \"=value\", ignoring");
	free_values(v);
}

static void test_parse_info_duplicates_last_wins(void **state)
{
	const char text[] = "DEVICE_ID=first\n"
			    "DEVICE_ID=second\n"
			    "SOFTWARE_TYPE=good\n"
			    "SOFTWARE_TYPE=bad value\n";
	char *v[_LC_ID_MAX] = { NULL };
	_cleanup_strv_free_ char **warnings = NULL;

	assert_int_equal(lc_identity_parse_info(text, sizeof(text) - 1, v, &warnings), 0);
	assert_string_equal(v[LC_ID_DEVICE_SERIAL], "second");
	/* The last line decides, even when it is invalid: the earlier value is not kept. */
	assert_null(v[LC_ID_SOFTWARE_TYPE]);
	assert_int_equal(count(warnings), 3);
	assert_string_equal(warnings[0],
			    "line 2: DEVICE_ID given again, replacing the value from line 1");
	assert_string_equal(warnings[1],
			    "line 4: SOFTWARE_TYPE given again, replacing the value from line 3");
	assert_string_equal(warnings[2],
			    "line 4: invalid SOFTWARE_TYPE value \"bad value\": " TYPE_WHY);
	free_values(v);
}

static void test_parse_info_untouched_and_appended(void **state)
{
	const char text[] = "DEVICE_ID=new\nBAR=1\nSOFTWARE_TYPE=\n";
	char *v[_LC_ID_MAX] = { NULL };
	char **warnings = calloc(2, sizeof(char *));

	assert_non_null(warnings);
	warnings[0] = strdup("earlier");
	v[LC_ID_DEVICE_SERIAL] = strdup("old");
	v[LC_ID_SOFTWARE_TYPE] = strdup("keep");

	assert_int_equal(lc_identity_parse_info(text, sizeof(text) - 1, v, &warnings), 0);
	assert_string_equal(v[LC_ID_DEVICE_SERIAL], "new");
	assert_string_equal(v[LC_ID_SOFTWARE_TYPE], "keep");
	assert_null(v[LC_ID_HARDWARE_VERSION]);
	assert_int_equal(count(warnings), 3);
	assert_string_equal(warnings[0], "earlier");
	assert_string_equal(warnings[1], "line 2: unknown key \"BAR\", ignoring");
	/* An empty value is no value: whatever was there stays. */
	assert_string_equal(warnings[2], "line 3: SOFTWARE_TYPE is empty, ignoring");
	strv_free(warnings);
	free_values(v);
}

static void test_parse_info_hostile(void **state)
{
	const char text[] = "DEVICE_ID=a\0b\n"
			    "\xff\xfe=1\n"
			    "SOFTWARE_TYPE=\x1b[31mred\n";
	char *v[_LC_ID_MAX] = { NULL };
	_cleanup_strv_free_ char **warnings = NULL;
	_cleanup_free_ char *big = repeat('k', 300);

	assert_int_equal(lc_identity_parse_info(text, sizeof(text) - 1, v, &warnings), 0);
	for (int f = 0; f < _LC_ID_MAX; f++)
		assert_null(v[f]);
	assert_int_equal(count(warnings), 3);
	assert_string_equal(warnings[0],
			    "line 1: contains a NUL byte, got \"DEVICE_ID=a\\x00b\", ignoring");
	assert_string_equal(warnings[1],
			    "line 2: expected KEY=VALUE, got \"\\xff\\xfe=1\", ignoring");
	assert_string_equal(warnings[2],
			    "line 3: invalid SOFTWARE_TYPE value \"\\x1b[31mred\": " TYPE_WHY);

	/* Untrusted text quoted in a warning is cut short. */
	strv_free(TAKE_PTR(warnings));
	assert_int_equal(lc_identity_parse_info(big, strlen(big), v, &warnings), 0);
	assert_int_equal(count(warnings), 1);
	assert_true(strlen(warnings[0]) < 200);
	assert_non_null(strstr(warnings[0], "...\", ignoring"));

	/* Empty input is no values and no warnings. */
	strv_free(TAKE_PTR(warnings));
	assert_int_equal(lc_identity_parse_info("", 0, v, &warnings), 0);
	assert_null(warnings);
}

static void test_parse_info_memfault_keys(void **state)
{
	/* What memfaultd's memfault-device-info prints. */
	const char text[] = "MEMFAULT_DEVICE_ID=gw-0001\n"
			    "MEMFAULT_HARDWARE_VERSION=evt+2\n"
			    "MEMFAULT_SOFTWARE_TYPE=main\n"
			    "MEMFAULT_SOFTWARE_VERSION=1.2.3+g1a2b [rc1]\n";
	char *v[_LC_ID_MAX] = { NULL };
	_cleanup_strv_free_ char **warnings = NULL;

	assert_int_equal(lc_identity_parse_info(text, sizeof(text) - 1, v, &warnings), 0);
	assert_string_equal(v[LC_ID_DEVICE_SERIAL], "gw-0001");
	assert_string_equal(v[LC_ID_HARDWARE_VERSION], "evt+2");
	assert_string_equal(v[LC_ID_SOFTWARE_TYPE], "main");
	assert_string_equal(v[LC_ID_SOFTWARE_VERSION], "1.2.3+g1a2b [rc1]");
	assert_null(warnings);
	free_values(v);
}

static void test_parse_info_memfault_keys_mixed(void **state)
{
	/* Both spellings of one field: the last line decides, whichever the spelling. */
	const char text[] = "DEVICE_ID=faultd-name\n"
			    "MEMFAULT_DEVICE_ID=memfault-name\n"
			    "MEMFAULT_SOFTWARE_TYPE=memfault-type\n"
			    "SOFTWARE_TYPE=faultd-type\n"
			    "MEMFAULT_SOFTWARE_VERSION=release/1.0\n"
			    "MEMFAULT_HARDWARE=x\n"
			    "memfault_device_id=lower\n";
	char *v[_LC_ID_MAX] = { NULL };
	_cleanup_strv_free_ char **warnings = NULL;

	assert_int_equal(lc_identity_parse_info(text, sizeof(text) - 1, v, &warnings), 0);
	assert_string_equal(v[LC_ID_DEVICE_SERIAL], "memfault-name");
	assert_string_equal(v[LC_ID_SOFTWARE_TYPE], "faultd-type");
	assert_null(v[LC_ID_SOFTWARE_VERSION]);
	assert_null(v[LC_ID_HARDWARE_VERSION]);
	assert_int_equal(count(warnings), 5);
	assert_string_equal(warnings[0], "line 2: MEMFAULT_DEVICE_ID given after DEVICE_ID, "
					 "replacing the value from line 1");
	assert_string_equal(warnings[1], "line 4: SOFTWARE_TYPE given after "
					 "MEMFAULT_SOFTWARE_TYPE, replacing the value from line 3");
	/* The message names the key as the script spelt it; '/' is refused in a version. */
	assert_string_equal(warnings[2], "line 5: invalid MEMFAULT_SOFTWARE_VERSION value "
					 "\"release/1.0\": " VERSION_WHY);
	assert_string_equal(warnings[3], "line 6: unknown key \"MEMFAULT_HARDWARE\", ignoring");
	/* Keys are case-sensitive, as in memfaultd. */
	assert_string_equal(warnings[4], "line 7: unknown key \"memfault_device_id\", ignoring");
	free_values(v);
}

/* ---- resolution ---- */

static void put_full_root(const char *root)
{
	tree_put(root, "/etc/machine-id", MACHINE_ID "\n");
	tree_write(root, "/proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0", 31, 0644);
	tree_put(root, "/etc/os-release",
		 "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
		 "NAME=\"Debian GNU/Linux\"\n"
		 "VERSION_ID=\"12\"\n"
		 "ID=debian\n");
}

static void test_resolve_fallbacks(void **state)
{
	const char *root = *state;
	struct lc_identity_input in = { .sysroot = root };
	struct lc_identity id = { 0 };
	char **errors = NULL;

	put_full_root(root);
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_null(errors);
	assert_field(&id, LC_ID_DEVICE_SERIAL, MACHINE_ID, "/etc/machine-id");
	assert_field(&id, LC_ID_HARDWARE_VERSION, "Raspberry_Pi_4_Model_B_Rev_1.4",
		     "/proc/device-tree/model");
	assert_field(&id, LC_ID_SOFTWARE_TYPE, "debian", "/etc/os-release");
	assert_field(&id, LC_ID_SOFTWARE_VERSION, "12", "/etc/os-release");
	lc_identity_done(&id);
	for (int f = 0; f < _LC_ID_MAX; f++)
		assert_null(id.value[f]);
	lc_identity_done(&id); /* a zeroed identity is fine */
}

static void test_resolve_sanitizes_guesses(void **state)
{
	const char *root = *state;
	struct lc_identity_input in = { .sysroot = root };
	struct lc_identity id = { 0 };
	_cleanup_free_ char *long_name = repeat('p', 200);
	_cleanup_strv_free_ char **errors = NULL;

	tree_put(root, "/etc/machine-id", "  my machine id \n");
	tree_write(root, "/proc/device-tree/model", "Raspberry Pi 4 Model B\0garbage", 30, 0644);
	tree_put(root, "/usr/lib/os-release", "ID=\"my os\"\nVERSION_ID='1.0+git~r1/b (x)'\n");

	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "my_machine_id", "/etc/machine-id");
	assert_field(&id, LC_ID_HARDWARE_VERSION, "Raspberry_Pi_4_Model_B",
		     "/proc/device-tree/model");
	assert_field(&id, LC_ID_SOFTWARE_TYPE, "my_os", "/usr/lib/os-release");
	assert_field(&id, LC_ID_SOFTWARE_VERSION, "1.0+git_r1_b (x)", "/usr/lib/os-release");
	lc_identity_done(&id);

	/* Too long: cut to 128. Only blanks: not a source. */
	tree_unlink(root, "/proc/device-tree/model");
	tree_put(root, "/sys/class/dmi/id/product_name", long_name);
	tree_put(root, "/usr/lib/os-release", "ID=\"  \"\nVERSION_ID=1\n");
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_int_equal(count(errors), 1);
	assert_string_equal(errors[0], NO_SW_TYPE);
}

static void test_resolve_hardware_fallback_order(void **state)
{
	const char *root = *state;
	struct lc_identity_input in = { .sysroot = root };
	struct lc_identity id = { 0 };
	_cleanup_free_ char *long_name = repeat('p', 200);
	struct utsname u;
	char machine[sizeof(u.machine)];

	tree_put(root, "/etc/machine-id", MACHINE_ID);
	tree_put(root, "/etc/os-release", "ID=x\nVERSION_ID=1\n");

	/* Neither device tree nor DMI: the machine type. */
	assert_int_equal(uname(&u), 0);
	snprintf(machine, sizeof(machine), "%s", u.machine);
	for (char *p = machine; *p; p++)
		if (lc_id_check(LC_ID_HARDWARE_VERSION, (char[]){ *p, 0 }, NULL) < 0)
			*p = '_';
	assert_int_equal(lc_identity_resolve(&in, &id, NULL), 0);
	assert_field(&id, LC_ID_HARDWARE_VERSION, machine, "uname");
	lc_identity_done(&id);

	/* DMI product name, trimmed and cut to 128. */
	tree_put(root, "/sys/class/dmi/id/product_name", "ProLiant DL360 Gen10\n");
	assert_int_equal(lc_identity_resolve(&in, &id, NULL), 0);
	assert_field(&id, LC_ID_HARDWARE_VERSION, "ProLiant_DL360_Gen10",
		     "/sys/class/dmi/id/product_name");
	lc_identity_done(&id);
	tree_put(root, "/sys/class/dmi/id/product_name", long_name);
	assert_int_equal(lc_identity_resolve(&in, &id, NULL), 0);
	assert_int_equal(strlen(id.value[LC_ID_HARDWARE_VERSION]), 128);
	lc_identity_done(&id);

	/* The device tree wins over DMI; an empty model is not a source. */
	tree_write(root, "/proc/device-tree/model", "\0", 1, 0644);
	assert_int_equal(lc_identity_resolve(&in, &id, NULL), 0);
	assert_string_equal(id.source[LC_ID_HARDWARE_VERSION], "/sys/class/dmi/id/product_name");
	lc_identity_done(&id);
	tree_write(root, "/proc/device-tree/model", "BeagleBone Black\0", 17, 0644);
	assert_int_equal(lc_identity_resolve(&in, &id, NULL), 0);
	assert_field(&id, LC_ID_HARDWARE_VERSION, "BeagleBone_Black", "/proc/device-tree/model");
	lc_identity_done(&id);
}

static void test_resolve_os_release_quoting(void **state)
{
	const char *root = *state;
	struct lc_identity_input in = { .sysroot = root };
	struct lc_identity id = { 0 };

	tree_put(root, "/etc/machine-id", MACHINE_ID);
	/* /etc wins over /usr/lib; comments, escapes, odd lines and a later ID all handled. */
	tree_put(root, "/usr/lib/os-release", "ID=wrong\nVERSION_ID=wrong\n");
	tree_put(root, "/etc/os-release",
		 "# comment\n"
		 "NAME='My \"OS\"'\n"
		 "ID=first\n"
		 "this line is not an assignment\n"
		 "BROKEN=\"unterminated\n"
		 "ID='yocto'\n"
		 "VERSION_ID=\"4.0 \\\"kirkstone\\\"\"\n"
		 "VARIANT_ID=\"x\"\n");
	assert_int_equal(lc_identity_resolve(&in, &id, NULL), 0);
	assert_field(&id, LC_ID_SOFTWARE_TYPE, "yocto", "/etc/os-release");
	assert_field(&id, LC_ID_SOFTWARE_VERSION, "4.0 _kirkstone_", "/etc/os-release");
	lc_identity_done(&id);
}

static void test_resolve_precedence(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *cmd = NULL;
	struct lc_identity_input in = {
		.sysroot = root,
		.value = { [LC_ID_DEVICE_SERIAL] = "cfg-serial", [LC_ID_HARDWARE_VERSION] = "" },
		.origin = { [LC_ID_DEVICE_SERIAL] = "/etc/faultd.conf:7" },
	};
	struct lc_identity id = { 0 };
	char **errors = NULL;

	put_full_root(root);
	/* The command offers every field; configuration wins for the serial, the command for
	 * hardware and software type, the fallback for what the command does not give. */
	assert_true(asprintf(&cmd, "printf 'DEVICE_ID=cmd-serial\\nHARDWARE_VERSION=cmd-hw\\n"
				   "SOFTWARE_TYPE=cmd-type\\n'") > 0);
	in.info_command = cmd;
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_null(errors);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "cfg-serial", "configuration (/etc/faultd.conf:7)");
	assert_field(&id, LC_ID_HARDWARE_VERSION, "cmd-hw", "device-info command");
	assert_field(&id, LC_ID_SOFTWARE_TYPE, "cmd-type", "device-info command");
	assert_field(&id, LC_ID_SOFTWARE_VERSION, "12", "/etc/os-release");
	lc_identity_done(&id);

	/* Without an origin the source is just "configuration". */
	in.origin[LC_ID_DEVICE_SERIAL] = NULL;
	in.info_command = NULL;
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "cfg-serial", "configuration");
	lc_identity_done(&id);
}

static void test_resolve_command_not_run_when_configured(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *cmd = NULL;
	struct lc_identity_input in = {
		.sysroot = root,
		.value = { "s", "h", "t", "1.0 (x)" },
		.origin = { "a:1", "a:2", "a:3", "a:4" },
	};
	struct lc_identity id = { 0 };
	char **errors = NULL;
	json_object *o;

	assert_true(asprintf(&cmd, "touch '%s/ran'", root) > 0);
	in.info_command = cmd;
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_null(errors);
	assert_false(tree_exists(root, "/ran"));
	assert_field(&id, LC_ID_SOFTWARE_VERSION, "1.0 (x)", "configuration (a:4)");

	o = lc_identity_to_json(&id);
	assert_non_null(o);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"device_serial\":\"s\",\"hardware_version\":\"h\","
			    "\"software_type\":\"t\",\"software_version\":\"1.0 (x)\"}");
	json_object_put(o);
	lc_identity_done(&id);
}

static void test_resolve_command_failures_use_fallbacks(void **state)
{
	const char *root = *state;
	static const struct {
		const char *command;
		unsigned timeout_ms;
		const char *error;
	} cases[] = {
		{ "echo DEVICE_ID=partial; exit 3", 0,
		  "device-info command 'echo DEVICE_ID=partial; exit 3' exited with status 3" },
		{ "sleep 5", 200, "device-info command 'sleep 5' did not finish within 200 ms" },
		{ "yes DEVICE_ID=y", 0,
		  "device-info command 'yes DEVICE_ID=y' printed more than 65536 bytes" },
		{ "kill -KILL $$", 0,
		  "device-info command 'kill -KILL $$' was killed by signal 9" },
	};

	put_full_root(root);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lc_identity_input in = {
			.sysroot = root,
			.info_command = cases[i].command,
			.info_timeout_ms = cases[i].timeout_ms,
		};
		struct lc_identity id = { 0 };
		_cleanup_strv_free_ char **errors = NULL;
		uint64_t t0 = lc_clock_monotonic_ms();

		assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
		assert_true(lc_clock_monotonic_ms() - t0 < 2000);
		assert_int_equal(count(errors), 1);
		assert_string_equal(errors[0], cases[i].error);
		assert_field(&id, LC_ID_DEVICE_SERIAL, MACHINE_ID, "/etc/machine-id");
		assert_field(&id, LC_ID_SOFTWARE_TYPE, "debian", "/etc/os-release");
		lc_identity_done(&id);
		assert_no_children();
	}
}

static void test_resolve_command_ignored_lines(void **state)
{
	const char *root = *state;
	struct lc_identity_input in = {
		.sysroot = root,
		/* Unknown keys and junk are logged, not errors. An invalid value for a field the
		 * configuration sets is not used, so it is not an error either. */
		.info_command = "printf 'WHATEVER=1\\njunk\\nDEVICE_ID=bad id\\nSOFTWARE_TYPE=t\\n"
				"SOFTWARE_VERSION=\\n'",
		.value = { [LC_ID_DEVICE_SERIAL] = "cfg" },
	};
	struct lc_identity id = { 0 };
	char **errors = NULL;

	put_full_root(root);
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_null(errors);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "cfg", "configuration");
	assert_field(&id, LC_ID_SOFTWARE_TYPE, "t", "device-info command");
	assert_field(&id, LC_ID_SOFTWARE_VERSION, "12", "/etc/os-release");
	lc_identity_done(&id);
}

static void test_resolve_invalid_values(void **state)
{
	const char *root = *state;
	struct lc_identity_input in = {
		.sysroot = root,
		.value = { [LC_ID_DEVICE_SERIAL] = "my device",
			   [LC_ID_SOFTWARE_VERSION] = "1.0\n" },
		.origin = { [LC_ID_DEVICE_SERIAL] = "/etc/faultd.conf:7",
			    [LC_ID_SOFTWARE_VERSION] = "/etc/faultd.conf.d/10-sw.conf:2" },
		.info_command = "echo 'SOFTWARE_TYPE=\"has space\"'",
	};
	struct lc_identity id, before;
	char **errors = calloc(2, sizeof(char *));

	assert_non_null(errors);
	errors[0] = strdup("an earlier error");
	memset(&id, 0x5a, sizeof(id));
	before = id;

	put_full_root(root);
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_memory_equal(&id, &before, sizeof(id));
	assert_int_equal(count(errors), 4);
	assert_string_equal(errors[0], "an earlier error");
	assert_string_equal(errors[1], "device.serial (/etc/faultd.conf:7): invalid value "
				       "\"my device\": " SERIAL_WHY);
	assert_string_equal(errors[2],
			    "device.software_version (/etc/faultd.conf.d/10-sw.conf:2): invalid "
			    "value \"1.0\\x0a\": " VERSION_WHY);
	assert_string_equal(errors[3], "device-info command 'echo 'SOFTWARE_TYPE=\"has "
				       "space\"'': line 1: invalid SOFTWARE_TYPE value \"has "
				       "space\": " TYPE_WHY);
	strv_free(errors);
}

static void test_resolve_nothing(void **state)
{
	const char *root = *state;
	struct lc_identity_input in = { .sysroot = root };
	struct lc_identity id = { 0 };
	_cleanup_strv_free_ char **errors = NULL;

	/* "uninitialized" is what systemd leaves before first boot completes: not a serial. */
	tree_put(root, "/etc/machine-id", "uninitialized\n");
	tree_put(root, "/etc/os-release", "NAME=nothing-useful\n");
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_null(id.value[LC_ID_DEVICE_SERIAL]);
	/* The hardware version always has a last resort: the machine type. */
	assert_int_equal(count(errors), 3);
	assert_string_equal(errors[0], NO_SERIAL);
	assert_string_equal(errors[1], NO_SW_TYPE);
	assert_string_equal(errors[2], NO_SW_VERSION);

	/* A directory where a file is expected, and an oversized file, are not sources. */
	strv_free(TAKE_PTR(errors));
	tree_unlink(root, "/etc/machine-id");
	tree_mkdir(root, "/etc/machine-id");
	_cleanup_free_ char *huge = repeat('a', 70 * 1024);
	tree_put(root, "/etc/os-release", huge);
	tree_put(root, "/usr/lib/os-release", "ID=lib\n");
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_int_equal(count(errors), 2);
	assert_string_equal(errors[0], NO_SERIAL);
	assert_string_equal(errors[1], NO_SW_VERSION);
}

/* Writes an executable shell script printing text at rel below root. */
static void put_script(const char *root, const char *rel, const char *text)
{
	_cleanup_free_ char *script = NULL;

	assert_true(asprintf(&script, "#!/bin/sh\nprintf '%%s' '%s'\n", text) > 0);
	tree_write(root, rel, script, strlen(script), 0755);
}

static void test_resolve_memfault_device_info(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *local = tree_path(root, "/usr/local/bin/memfault-device-info");
	struct lc_identity_input in = { .sysroot = root };
	struct lc_identity id = { 0 };
	_cleanup_strv_free_ char **errors = NULL;

	put_full_root(root);
	put_script(root, "/usr/bin/memfault-device-info",
		   "MEMFAULT_DEVICE_ID=mf-0001\nMEMFAULT_HARDWARE_VERSION=pvt+1\n"
		   "MEMFAULT_SOFTWARE_VERSION=2.0.0 [beta]\n");
	/* Not configured: memfault-device-info is the device-info command; os-release fills the
	 * field it does not give. */
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_null(errors);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "mf-0001", "memfault-device-info");
	assert_field(&id, LC_ID_HARDWARE_VERSION, "pvt+1", "memfault-device-info");
	assert_field(&id, LC_ID_SOFTWARE_TYPE, "debian", "/etc/os-release");
	assert_field(&id, LC_ID_SOFTWARE_VERSION, "2.0.0 [beta]", "memfault-device-info");
	lc_identity_done(&id);

	/* The configuration still wins over it, field by field. */
	in.value[LC_ID_DEVICE_SERIAL] = "cfg-serial";
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "cfg-serial", "configuration");
	assert_field(&id, LC_ID_HARDWARE_VERSION, "pvt+1", "memfault-device-info");
	lc_identity_done(&id);
	in.value[LC_ID_DEVICE_SERIAL] = NULL;

	/* Earlier in the search path wins: /usr/local/bin before /usr/bin. */
	put_script(root, "/usr/local/bin/memfault-device-info", "MEMFAULT_DEVICE_ID=local\n");
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "local", "memfault-device-info");
	assert_field(&id, LC_ID_HARDWARE_VERSION, "Raspberry_Pi_4_Model_B_Rev_1.4",
		     "/proc/device-tree/model");
	lc_identity_done(&id);

	/* Not executable, or not a regular file: not a program, passed over. */
	assert_int_equal(chmod(local, 0644), 0);
	tree_mkdir(root, "/usr/local/sbin/memfault-device-info");
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_null(errors);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "mf-0001", "memfault-device-info");
	lc_identity_done(&id);
}

static void test_resolve_memfault_device_info_not_when_configured(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *marker = NULL, *script = NULL;
	struct lc_identity_input in = { .sysroot = root, .info_command = "echo DEVICE_ID=cmd" };
	struct lc_identity id = { 0 };
	_cleanup_strv_free_ char **errors = NULL;

	put_full_root(root);
	assert_true(asprintf(&script, "#!/bin/sh\ntouch '%s/ran'\necho MEMFAULT_DEVICE_ID=mf\n",
			     root) > 0);
	tree_write(root, "/usr/sbin/memfault-device-info", script, strlen(script), 0755);

	/* device.info_command is chosen over memfault-device-info, which does not run. */
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_null(errors);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "cmd", "device-info command");
	assert_false(tree_exists(root, "/ran"));
	lc_identity_done(&id);

	/* Every field configured: nothing runs at all. */
	in.info_command = NULL;
	for (int f = 0; f < _LC_ID_MAX; f++)
		in.value[f] = "x";
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_false(tree_exists(root, "/ran"));
	lc_identity_done(&id);

	/* Otherwise it does run. */
	in.value[LC_ID_DEVICE_SERIAL] = NULL;
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_true(tree_exists(root, "/ran"));
	assert_field(&id, LC_ID_DEVICE_SERIAL, "mf", "memfault-device-info");
	lc_identity_done(&id);
}

static void test_resolve_memfault_device_info_quoted_path(void **state)
{
	const char *base = *state;
	_cleanup_free_ char *root = tree_path(base, "/it's a $(root)");
	struct lc_identity_input in = { 0 };
	struct lc_identity id = { 0 };
	_cleanup_strv_free_ char **errors = NULL;

	/* A sysroot the shell would split or expand is passed to it quoted. */
	put_full_root(root);
	put_script(root, "/bin/memfault-device-info", "MEMFAULT_DEVICE_ID=quoted\n");
	in.sysroot = root;
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_null(errors);
	assert_field(&id, LC_ID_DEVICE_SERIAL, "quoted", "memfault-device-info");
	lc_identity_done(&id);
}

static void test_resolve_memfault_device_info_errors(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *path = tree_path(root, "/usr/bin/memfault-device-info");
	_cleanup_free_ char *bad_version = NULL, *bad_serial = NULL, *failed = NULL;
	struct lc_identity_input in = { .sysroot = root };
	struct lc_identity id = { 0 };
	char **errors = NULL;

	put_full_root(root);
	/* An invalid value is an error naming the key as printed and the program. */
	put_script(root, "/usr/bin/memfault-device-info",
		   "MEMFAULT_DEVICE_ID=my device\nMEMFAULT_SOFTWARE_VERSION=1.0/2\n");
	assert_true(asprintf(&bad_serial,
			     "memfault-device-info '%s': line 1: invalid MEMFAULT_DEVICE_ID value "
			     "\"my device\": " SERIAL_WHY,
			     path) > 0);
	assert_true(asprintf(&bad_version,
			     "memfault-device-info '%s': line 2: invalid MEMFAULT_SOFTWARE_VERSION "
			     "value \"1.0/2\": " VERSION_WHY,
			     path) > 0);
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_int_equal(count(errors), 2);
	assert_string_equal(errors[0], bad_serial);
	assert_string_equal(errors[1], bad_version);
	strv_free(TAKE_PTR(errors));

	/* A failing one is reported; the fallbacks still give the identity. */
	tree_write(root, "/usr/bin/memfault-device-info", "#!/bin/sh\nexit 4\n", 17, 0755);
	assert_true(asprintf(&failed, "memfault-device-info '%s' exited with status 4", path) > 0);
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), 0);
	assert_int_equal(count(errors), 1);
	assert_string_equal(errors[0], failed);
	assert_field(&id, LC_ID_DEVICE_SERIAL, MACHINE_ID, "/etc/machine-id");
	lc_identity_done(&id);
	strv_free(TAKE_PTR(errors));

	/* ... and when they do not, the error says it failed. */
	tree_unlink(root, "/etc/machine-id");
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_int_equal(count(errors), 2);
	assert_string_equal(errors[0], failed);
	assert_string_equal(errors[1],
			    NO_SERIAL_WITH("device.info_command (not set), memfault-device-info "
					   "(failed)"));
	strv_free(TAKE_PTR(errors));
	assert_no_children();
}

static void test_resolve_nothing_names_sources(void **state)
{
	const char *root = *state;
	struct lc_identity_input in = { .sysroot = root };
	struct lc_identity id = { 0 };
	_cleanup_strv_free_ char **errors = NULL;

	tree_put(root, "/etc/os-release", "ID=x\n");
	/* memfault-device-info ran and did not give the serial or the version. */
	put_script(root, "/usr/bin/memfault-device-info", "MEMFAULT_HARDWARE_VERSION=h\n");
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_int_equal(count(errors), 2);
	assert_string_equal(errors[0], NO_SERIAL_WITH("device.info_command (not set), "
						      "memfault-device-info (gave no DEVICE_ID or "
						      "MEMFAULT_DEVICE_ID)"));
	assert_string_equal(errors[1],
			    NO_SW_VERSION_WITH("device.info_command (not set), "
					       "memfault-device-info (gave no SOFTWARE_VERSION or "
					       "MEMFAULT_SOFTWARE_VERSION)"));
	strv_free(TAKE_PTR(errors));

	/* A configured command is the only one tried. */
	in.info_command = "echo SOFTWARE_VERSION=1";
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_int_equal(count(errors), 1);
	assert_string_equal(errors[0], NO_SERIAL_WITH("device.info_command (gave no DEVICE_ID or "
						      "MEMFAULT_DEVICE_ID)"));
	strv_free(TAKE_PTR(errors));
	in.info_command = "exit 1";
	assert_int_equal(lc_identity_resolve(&in, &id, &errors), -EINVAL);
	assert_int_equal(count(errors), 3);
	assert_string_equal(errors[0], "device-info command 'exit 1' exited with status 1");
	assert_string_equal(errors[1], NO_SERIAL_WITH("device.info_command (failed)"));
	assert_string_equal(errors[2], NO_SW_VERSION_WITH("device.info_command (failed)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_check_tables),
		cmocka_unit_test(test_schema_checks_accept_unset),
		cmocka_unit_test(test_parse_info_basic),
		cmocka_unit_test(test_parse_info_quoting),
		cmocka_unit_test(test_parse_info_warnings),
		cmocka_unit_test(test_parse_info_duplicates_last_wins),
		cmocka_unit_test(test_parse_info_untouched_and_appended),
		cmocka_unit_test(test_parse_info_hostile),
		cmocka_unit_test(test_parse_info_memfault_keys),
		cmocka_unit_test(test_parse_info_memfault_keys_mixed),
		cmocka_unit_test_setup_teardown(test_resolve_fallbacks, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_sanitizes_guesses, setup_root,
						teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_hardware_fallback_order, setup_root,
						teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_os_release_quoting, setup_root,
						teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_precedence, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_command_not_run_when_configured,
						setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_command_failures_use_fallbacks,
						setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_command_ignored_lines, setup_root,
						teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_invalid_values, setup_root,
						teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_nothing, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_memfault_device_info, setup_root,
						teardown_root),
		cmocka_unit_test_setup_teardown(
			test_resolve_memfault_device_info_not_when_configured, setup_root,
			teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_memfault_device_info_quoted_path,
						setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_memfault_device_info_errors,
						setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_resolve_nothing_names_sources, setup_root,
						teardown_root),
	};

	lc_log_set_ratelimit(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
