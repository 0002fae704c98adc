/* SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "store.h"

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_runtime_dir_is_preferred_and_made_private(void **state)
{
	char *tmp = th_tmpdir(), *dir = NULL, *want = NULL;
	(void)state;
	assert_int_equal(store_dir(tmp, "/nonexistent-home", &dir), 0);
	assert_true(asprintf(&want, "%s/jit-ssh", tmp) > 0);
	assert_string_equal(dir, want);
	assert_int_equal(mode_of(dir), 0700);
	free(dir);
	/* a second call finds it */
	assert_int_equal(store_dir(tmp, NULL, &dir), 0);
	free(dir);
	free(want);
	th_rmtree(tmp);
	free(tmp);
}

static void test_home_cache_is_used_without_a_runtime_dir(void **state)
{
	char *home = th_tmpdir(), *dir = NULL, *want = NULL;
	(void)state;
	assert_int_equal(store_dir(NULL, home, &dir), 0);
	assert_true(asprintf(&want, "%s/.cache/jit-ssh", home) > 0);
	assert_string_equal(dir, want);
	assert_int_equal(mode_of(dir), 0700);
	free(dir);
	/* a relative XDG_RUNTIME_DIR does not count */
	assert_int_equal(store_dir("relative", home, &dir), 0);
	assert_string_equal(dir, want);
	free(dir);
	free(want);
	th_rmtree(home);
	free(home);
}

static void test_open_directory_is_tightened_to_0700(void **state)
{
	char *tmp = th_tmpdir(), *dir = NULL, *path = NULL;
	(void)state;
	assert_true(asprintf(&path, "%s/jit-ssh", tmp) > 0);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0777), 0);
	assert_int_equal(store_dir(tmp, NULL, &dir), 0);
	assert_int_equal(mode_of(path), 0700);
	free(dir);
	free(path);
	th_rmtree(tmp);
	free(tmp);
}

static void test_symlink_or_file_in_place_of_the_directory_is_refused(void **state)
{
	char *tmp = th_tmpdir(), *dir = NULL, *path = NULL, *f;
	(void)state;
	assert_true(asprintf(&path, "%s/jit-ssh", tmp) > 0);
	assert_int_equal(symlink("/tmp", path), 0);
	assert_int_equal(store_dir(tmp, NULL, &dir), -ENOTDIR);
	assert_null(dir);
	assert_int_equal(unlink(path), 0);
	f = th_write(tmp, "jit-ssh", "x", 0600);
	assert_int_equal(store_dir(tmp, NULL, &dir), -ENOTDIR);
	free(f);
	free(path);
	th_rmtree(tmp);
	free(tmp);
}

static void test_no_usable_location_is_enoent(void **state)
{
	char *dir = NULL;
	(void)state;
	assert_int_equal(store_dir(NULL, NULL, &dir), -ENOENT);
	assert_int_equal(store_dir("", "relative", &dir), -ENOENT);
	assert_null(dir);
}

static void test_write_replaces_the_file_whole_and_leaves_no_temporary(void **state)
{
	char *tmp = th_tmpdir(), *path = NULL, *text;
	struct dirent *e;
	DIR *d;
	size_t n = 0;
	(void)state;
	assert_int_equal(store_write(tmp, "root@db1.pub", "first line"), 0);
	assert_int_equal(store_write(tmp, "root@db1.pub", "second"), 0);
	assert_true(asprintf(&path, "%s/root@db1.pub", tmp) > 0);
	text = th_read(path);
	assert_string_equal(text, "second\n");
	assert_int_equal(mode_of(path), 0644);
	assert_non_null(d = opendir(tmp));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	free(text);
	free(path);
	th_rmtree(tmp);
	free(tmp);
}

static void test_write_into_a_missing_directory_fails_cleanly(void **state)
{
	(void)state;
	assert_int_equal(store_write("/nonexistent-dir", "a.pub", "x"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runtime_dir_is_preferred_and_made_private),
		cmocka_unit_test(test_home_cache_is_used_without_a_runtime_dir),
		cmocka_unit_test(test_open_directory_is_tightened_to_0700),
		cmocka_unit_test(test_symlink_or_file_in_place_of_the_directory_is_refused),
		cmocka_unit_test(test_no_usable_location_is_enoent),
		cmocka_unit_test(test_write_replaces_the_file_whole_and_leaves_no_temporary),
		cmocka_unit_test(test_write_into_a_missing_directory_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
