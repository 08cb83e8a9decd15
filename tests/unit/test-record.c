/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fileio.h"
#include "harness-fs.h"
#include "macro.h"
#include "record.h"
#include "tmpdir.h"

static json_object *attr(const char *assignment)
{
	json_object *o = NULL;
	const char *why = NULL;

	assert_int_equal(lc_attribute_parse(assignment, &o, &why), 0);
	return o;
}

static void assert_attr(const char *assignment, const char *key, const char *json_value)
{
	json_object *o = attr(assignment), *k, *v;

	assert_true(json_object_object_get_ex(o, "string_key", &k));
	assert_string_equal(json_object_get_string(k), key);
	assert_true(json_object_object_get_ex(o, "value", &v));
	assert_string_equal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), json_value);
	json_object_put(o);
}

static void test_attribute_typing(void **state)
{
	assert_attr("wifi=true", "wifi", "true");
	assert_attr("wifi=false", "wifi", "false");
	assert_attr("n=42", "n", "42");
	assert_attr("n=-7", "n", "-7");
	assert_attr("t=21.5", "t", "21.5");
	assert_attr("e=1e3", "e", "1000.0");
	assert_attr("iccid=89014103211118510720", "iccid", "\"89014103211118510720\"");
	assert_attr("max=9223372036854775807", "max", "9223372036854775807");
	assert_attr("min=-9223372036854775808", "min", "-9223372036854775808");
	assert_attr("big=1.5e29", "big", "1.5e+29");
	assert_attr("zip=007", "zip", "\"007\"");
	assert_attr("s=hello world", "s", "\"hello world\"");
	assert_attr("q=\"42\"", "q", "\"42\"");
	assert_attr("q=\"true\"", "q", "\"true\"");
	assert_attr("empty=", "empty", "\"\"");
	assert_attr("True=True", "True", "\"True\"");
	assert_attr("hex=0x10", "hex", "\"0x10\"");
	assert_attr("inf=inf", "inf", "\"inf\"");
	assert_attr("nan=NaN", "nan", "\"NaN\"");
	assert_attr("huge=1e999", "huge", "\"1e999\"");
	assert_attr("eq=a=b", "eq", "\"a=b\"");
	assert_attr("utf=gr\xc3\xbc\xc3\x9f", "utf", "\"gr\xc3\xbc\xc3\x9f\"");
	assert_attr("net.ip/v4:addr-1_x=1", "net.ip/v4:addr-1_x", "1");
}

static void test_attribute_errors(void **state)
{
	static const char *const bad[] = {
		"novalue",	    "=v",
		"sp ace=1",	    "k\xc3=1",
		"ctl=a\tb",	    "ctl=a\nb",
		"bad=\xc3",	    "bad=\xc0\x80",
		"bad=\xed\xa0\x80", "bad=\xf5\x80\x80\x80",
		"del=\x7f",	    "c1=\xc2\x85",
	};
	char longkey[200], longval[1100];
	json_object *o = NULL;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(lc_attribute_parse(bad[i], &o, &why), -EINVAL);
		assert_non_null(why);
		assert_null(o);
	}
	memset(longkey, 'k', 129);
	strcpy(longkey + 129, "=1");
	assert_int_equal(lc_attribute_parse(longkey, &o, &why), -EINVAL);
	longkey[128] = '=';
	longkey[129] = '1';
	longkey[130] = 0;
	assert_int_equal(lc_attribute_parse(longkey, &o, &why), 0);
	json_object_put(o);
	o = NULL;
	strcpy(longval, "k=");
	memset(longval + 2, 'v', 1025);
	longval[1027] = 0;
	assert_int_equal(lc_attribute_parse(longval, &o, &why), -EINVAL);
	longval[1026] = 0;
	assert_int_equal(lc_attribute_parse(longval, &o, &why), 0);
	json_object_put(o);
}

static const char *get_path(json_object *o, const char *a, const char *b)
{
	json_object *x, *y;

	assert_true(json_object_object_get_ex(o, a, &x));
	if (!b)
		return json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN);
	assert_true(json_object_object_get_ex(x, b, &y));
	return json_object_is_type(y, json_type_string)
		       ? json_object_get_string(y)
		       : json_object_to_json_string_ext(y, JSON_C_TO_STRING_PLAIN);
}

static void test_manifest_shape(void **state)
{
	struct lc_identity id = {
		.value = { [LC_ID_DEVICE_SERIAL] = "SER1",
			   [LC_ID_HARDWARE_VERSION] = "hw-2",
			   [LC_ID_SOFTWARE_TYPE] = "main",
			   [LC_ID_SOFTWARE_VERSION] = "1.0 (rc)" },
	};
	struct lc_boot_info boot = { .boot_id = "48af0b97-79c3-4e95-ba80-8c436b4b9e8f",
				     .boot_count = 3 };
	struct lc_record_context ctx = {
		.identity = &id,
		.project_key = "KEY",
		.boot = &boot,
		.os_version = "6.1.0",
	};
	struct lc_clock_sample t = { .realtime_ms = 1795255200123ULL,
				     .monotonic_ms = 17445527,
				     .boottime_ms = 17445600 };
	json_object *meta = json_object_new_object(), *m;

	json_object_object_add(meta, "revision", json_object_new_int(3));
	m = lc_manifest_new(&ctx, &t, "device-config", meta);
	assert_non_null(m);
	assert_string_equal(get_path(m, "schema_version", NULL), "1");
	assert_string_equal(get_path(m, "collection_time", "timestamp"),
			    "2026-11-21T10:00:00.123Z");
	assert_string_equal(get_path(m, "collection_time", "uptime_ms"), "17445527");
	assert_string_equal(get_path(m, "collection_time", "elapsed_realtime_ms"), "17445600");
	assert_string_equal(get_path(m, "collection_time", "linux_boot_id"), boot.boot_id);
	assert_string_equal(get_path(m, "collection_time", "boot_count"), "3");
	assert_string_equal(get_path(m, "device", "project_key"), "KEY");
	assert_string_equal(get_path(m, "device", "device_serial"), "SER1");
	assert_string_equal(get_path(m, "device", "software_version"), "1.0 (rc)");
	assert_string_equal(get_path(m, "producer", "id"), "faultd");
	assert_string_equal(get_path(m, "producer", "os_name"), "Linux");
	assert_string_equal(get_path(m, "producer", "os_version"), "6.1.0");
	assert_string_equal(get_path(m, "type", NULL), "\"device-config\"");
	assert_string_equal(get_path(m, "metadata", NULL), "{\"revision\":3}");
	assert_int_equal(json_object_object_length(m), 6);
	json_object_put(m);
}

static void write_boot_id(const char *root, const char *id)
{
	tree_put(root, "proc/sys/kernel/random/boot_id", id);
}

static void test_boot_count(void **state)
{
	struct tree *t = tree_new("record");
	const char *root, *st;
	char path[160];
	struct lc_boot_info b;

	assert_non_null(t);
	root = t->root;
	st = t->state;
	assert_int_equal(lc_mkdir_p(st, 0700), 0);

	write_boot_id(root, "11111111-2222-4333-8444-555555555555\n");
	assert_int_equal(lc_boot_info_load(root, st, &b), 0);
	assert_string_equal(b.boot_id, "11111111-2222-4333-8444-555555555555");
	assert_int_equal(b.boot_count, 0);
	assert_true(b.first_boot && b.new_boot);

	/* The same boot: faultd restarted. */
	assert_int_equal(lc_boot_info_load(root, st, &b), 0);
	assert_int_equal(b.boot_count, 0);
	assert_false(b.first_boot || b.new_boot);

	write_boot_id(root, "aaaaaaaa-2222-4333-8444-555555555555\n");
	assert_int_equal(lc_boot_info_load(root, st, &b), 0);
	assert_int_equal(b.boot_count, 1);
	assert_true(b.new_boot);
	assert_false(b.first_boot);

	/* A damaged record restarts the count rather than failing. */
	snprintf(path, sizeof(path), "%s/boot.json", st);
	assert_int_equal(lc_write_file_atomic(path, "{garbage", 8, 0644), 0);
	assert_int_equal(lc_boot_info_load(root, st, &b), 0);
	assert_int_equal(b.boot_count, 0);
	assert_true(b.new_boot);

	/* An unreadable boot id is replaced by a random UUID. */
	write_boot_id(root, "not-a-uuid");
	assert_int_equal(lc_boot_info_load(root, st, &b), 0);
	assert_int_equal(strlen(b.boot_id), 36);
	assert_int_equal(b.boot_id[14], '4');
	assert_int_equal(tree_free(t), 0);
}

static void test_commit_writes_manifest_to_spool(void **state)
{
	char *dir = test_tmpdir_new("record");
	struct lc_identity id = {
		.value = { [LC_ID_DEVICE_SERIAL] = "S",
			   [LC_ID_HARDWARE_VERSION] = "h",
			   [LC_ID_SOFTWARE_TYPE] = "t",
			   [LC_ID_SOFTWARE_VERSION] = "v" },
	};
	struct lc_boot_info boot = { .boot_id = "48af0b97-79c3-4e95-ba80-8c436b4b9e8f" };
	struct lc_record_context ctx = {
		.identity = &id,
		.project_key = "K",
		.boot = &boot,
		.os_version = "6",
	};
	struct lc_clock_sample t = { .realtime_ms = 1795255200000ULL };
	struct lc_spool_limits limits = { 0 };
	struct lc_spool *s = NULL;
	char uuid[37], path[512];
	_cleanup_free_ char *text = NULL;
	const struct lc_spool_entry *e;
	json_object *m;
	size_t len;

	assert_non_null(dir);
	assert_int_equal(lc_spool_open(dir, &limits, &s), 0);
	assert_int_equal(
		lc_record_commit(s, &ctx, &t, "device-attributes", json_object_new_object(), uuid),
		0);
	assert_int_equal(lc_spool_count(s), 1);
	e = lc_spool_entry_at(s, 0);
	assert_string_equal(e->uuid, uuid);
	assert_string_equal(e->type, "device-attributes");
	snprintf(path, sizeof(path), "%s/%s/manifest.json", dir, e->name);
	assert_int_equal(lc_read_file(path, 65536, &text, &len), 0);
	m = json_tokener_parse(text);
	assert_non_null(m);
	assert_string_equal(get_path(m, "type", NULL), "\"device-attributes\"");
	assert_string_equal(get_path(m, "device", "device_serial"), "S");
	json_object_put(m);
	lc_spool_free(s);
	assert_int_equal(test_tmpdir_free(dir), 0);
}

/* An entry with an attachment copied from a file, named by its producer: committed once, the file
 * and its offset untouched; a second commit of the same name commits nothing. */
static void test_commit_file(void **state)
{
	char *dir = test_tmpdir_new("record-file");
	struct lc_identity id = {
		.value = { [LC_ID_DEVICE_SERIAL] = "S",
			   [LC_ID_HARDWARE_VERSION] = "h",
			   [LC_ID_SOFTWARE_TYPE] = "t",
			   [LC_ID_SOFTWARE_VERSION] = "v" },
	};
	struct lc_boot_info boot = { .boot_id = "48af0b97-79c3-4e95-ba80-8c436b4b9e8f" };
	struct lc_record_context ctx = {
		.identity = &id,
		.project_key = "K",
		.boot = &boot,
		.os_version = "6",
	};
	struct lc_clock_sample t = { .realtime_ms = 1795255200000ULL };
	struct lc_spool_limits limits = { 0 };
	const char *uuid = "0f1e2d3c-4b5a-4697-8877-665544332211";
	struct lc_spool *s = NULL;
	char data[40000], path[512];
	_cleanup_free_ char *src = NULL, *text = NULL;
	_cleanup_close_ int fd = -1;
	size_t len;

	assert_non_null(dir);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	assert_true(asprintf(&src, "%s/source", dir) > 0);
	assert_int_equal(lc_write_file_atomic(src, data, sizeof(data), 0600), 0);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 123, SEEK_SET), 123);
	assert_int_equal(lc_spool_open(dir, &limits, &s), 0);
	/* Only the first len bytes are the attachment. */
	assert_int_equal(lc_record_commit_file(s, &ctx, &t, "linux-logs", json_object_new_object(),
					       uuid, "f.jsonl.gz", fd, sizeof(data) - 1),
			 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 123);
	assert_int_equal(lc_spool_count(s), 1);
	snprintf(path, sizeof(path), "%s/%s/f.jsonl.gz", dir, lc_spool_entry_at(s, 0)->name);
	assert_int_equal(lc_read_file(path, sizeof(data), &text, &len), 0);
	assert_int_equal(len, sizeof(data) - 1);
	assert_memory_equal(text, data, len);
	assert_int_equal(lc_record_commit_file(s, &ctx, &t, "linux-logs", json_object_new_object(),
					       uuid, "f.jsonl.gz", fd, sizeof(data)),
			 -EEXIST);
	/* A file shorter than said is not committed. */
	assert_int_equal(lc_record_commit_file(s, &ctx, &t, "linux-logs", json_object_new_object(),
					       "1f1e2d3c-4b5a-4697-8877-665544332211", "f.jsonl.gz",
					       fd, sizeof(data) + 1),
			 -EIO);
	assert_int_equal(lc_spool_count(s), 1);
	lc_spool_free(s);
	assert_int_equal(test_tmpdir_free(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attribute_typing),
		cmocka_unit_test(test_attribute_errors),
		cmocka_unit_test(test_manifest_shape),
		cmocka_unit_test(test_boot_count),
		cmocka_unit_test(test_commit_writes_manifest_to_spool),
		cmocka_unit_test(test_commit_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
