/* SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "hostcfg.h"
#include "key.h"
#include "names.h"
#include "util.h"

/* Most output kept from `sshd -t`, bytes. */
#define CHECK_OUTPUT_MAX (64u * 1024u)

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

__attribute__((format(printf, 2, 3)))
static void set_error(char **ret_error, const char *fmt, ...)
{
	va_list ap;

	if (!ret_error)
		return;
	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
}

bool hostcfg_path_safe(const char *path)
{
	size_t n;

	if (!path || path[0] != '/')
		return false;
	n = strlen(path);
	if (n > HOSTCFG_PATH_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = path[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("/._+-", c)))
			return false;
	}
	return true;
}

/* Read at most @max bytes of @path into a new NUL-terminated buffer; longer is an error. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(max + 2);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return JIT_E_TOO_LARGE;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* The first whitespace-separated word of @line names a certificate type. */
static bool looks_like_cert(const char *line)
{
	size_t n = strcspn(line, " \t");
	static const char suffix[] = "-cert-v01@openssh.com";

	return n >= sizeof suffix - 1 && memcmp(line + n - (sizeof suffix - 1), suffix,
						sizeof suffix - 1) == 0;
}

int hostcfg_ca_keys_parse(const char *data, size_t len, char **ret_text, size_t *ret_n,
			  char **ret_error)
{
	_cleanup_free_ char *copy = NULL, *out = NULL;
	_cleanup_(fclosep) FILE *f = NULL;
	size_t out_len = 0, n_keys = 0, lineno = 0;
	char *line, *next;
	int r;

	if (len > HOSTCFG_CA_FILE_MAX) {
		set_error(ret_error, "larger than %u bytes", HOSTCFG_CA_FILE_MAX);
		return JIT_E_TOO_LARGE;
	}
	if (memchr(data, 0, len)) {
		set_error(ret_error, "contains a NUL byte: not a public-key file");
		return JIT_E_FORMAT;
	}
	copy = strndup(data, len);
	if (!copy)
		return -ENOMEM;
	f = open_memstream(&out, &out_len);
	if (!f)
		return -ENOMEM;

	for (line = copy; line; line = next) {
		_cleanup_(key_freep) struct key *k = NULL;
		_cleanup_free_ char *comment = NULL, *text = NULL;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		line += strspn(line, " \t\r");
		if (*line == 0 || *line == '#')
			continue;
		if (strncmp(line, "-----BEGIN", 10) == 0) {
			set_error(ret_error, "line %zu: this is a private key; give the CA's public "
					     "key (ca_key.pub, or `jit-ssh-ca pubkey`)", lineno);
			return JIT_E_FORMAT;
		}
		r = key_from_line(line, &k, &comment);
		if (r < 0) {
			if (looks_like_cert(line))
				set_error(ret_error, "line %zu: this is a certificate, not a CA public "
						     "key", lineno);
			else
				set_error(ret_error, "line %zu: not a usable OpenSSH public-key line: "
						     "%s", lineno, jit_strerror(r));
			return r;
		}
		if (++n_keys > HOSTCFG_CA_KEYS_MAX) {
			set_error(ret_error, "line %zu: more than %u CA keys", lineno,
				  HOSTCFG_CA_KEYS_MAX);
			return JIT_E_TOO_LARGE;
		}
		r = key_to_line(k, *comment ? comment : NULL, &text);
		if (r < 0)
			return r;
		if (fprintf(f, "%s\n", text) < 0)
			return -ENOMEM;
	}
	if (n_keys == 0) {
		set_error(ret_error, "no CA public key found");
		return JIT_E_FORMAT;
	}
	if (fclose(TAKE_PTR(f)) != 0)
		return -ENOMEM;
	*ret_text = TAKE_PTR(out);
	*ret_n = n_keys;
	return 0;
}

int hostcfg_ca_keys_load(const char *path, char **ret_text, size_t *ret_n, char **ret_error)
{
	_cleanup_free_ char *data = NULL, *why = NULL;
	size_t len;
	int r;

	r = read_file(path, HOSTCFG_CA_FILE_MAX, &data, &len);
	if (r < 0) {
		set_error(ret_error, "%s: %s", path,
			  r == JIT_E_TOO_LARGE ? "larger than the CA key file limit" :
						  jit_strerror(r));
		return r;
	}
	r = hostcfg_ca_keys_parse(data, len, ret_text, ret_n, ret_error ? &why : NULL);
	if (r < 0)
		set_error(ret_error, "%s: %s", path, why ? why : jit_strerror(r));
	return r;
}

int hostcfg_snippet(const struct hostcfg *c, char **ret)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_(fclosep) FILE *f = NULL;
	size_t out_len = 0;

	if (!hostcfg_path_safe(c->etc) ||
	    (c->principals_command && !hostcfg_path_safe(c->principals_command)))
		return -EINVAL;
	f = open_memstream(&out, &out_len);
	if (!f)
		return -ENOMEM;

	fprintf(f,
		"# jit-ssh: written by jit-ssh-hostcfg. Re-run `jit-ssh-hostcfg install` instead of\n"
		"# editing this file (see docs/sre.md).\n"
		"\n"
		"# Accept user certificates signed by a jit-ssh CA key listed in this file (one key a\n"
		"# line; two during a CA rotation). Certificates live for minutes, so no revocation\n"
		"# list is needed.\n"
		"TrustedUserCAKeys %s/" HOSTCFG_CA_KEYS_FILE "\n"
		"\n", c->etc);
	if (!c->principals_command)
		fprintf(f,
			"# A certificate logs in to account %%u only when it names a principal listed\n"
			"# in this file, jit:<host>:<login>, so a certificate for another host or login\n"
			"# is refused. No file for an account: no jit-ssh login to that account.\n"
			"AuthorizedPrincipalsFile %s/" HOSTCFG_PRINCIPALS_DIR "/%%u\n"
			"\n", c->etc);
	else
		fprintf(f,
			"# Ask jit-ssh-hostcfg which principal account %%u accepts: it prints\n"
			"# jit:<host>:<login> when this file exists, nothing otherwise:\n"
			"#   %s/" HOSTCFG_PRINCIPALS_DIR "/<login>\n"
			"# It runs as an unprivileged user and only reads those files.\n"
			"AuthorizedPrincipalsCommand %s principals --etc %s %%u\n"
			"AuthorizedPrincipalsCommandUser nobody\n"
			"\n", c->etc, c->principals_command, c->etc);
	fprintf(f,
		"# Log the key ID and serial of every certificate accepted, so sshd's log can be\n"
		"# joined with the CA's ledger.\n"
		"LogLevel VERBOSE\n");
	if (ferror(f) || fclose(TAKE_PTR(f)) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

/* Create @path and its missing parents with mode 0755. With @fix_mode, also set 0755 on
 * @path itself when it already exists. */
static int mkdir_p(const char *path, bool fix_mode)
{
	_cleanup_free_ char *p = strdup(path);
	struct stat st;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		bool last = *s == 0;

		if (*s != '/' && !last)
			continue;
		*s = 0;
		if (mkdir(p, 0755) == 0) {
			if (chmod(p, 0755) < 0)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		} else if (stat(p, &st) < 0) {
			return -errno;
		} else if (!S_ISDIR(st.st_mode)) {
			return -ENOTDIR;
		} else if (last && fix_mode && (st.st_mode & 07777) != 0755 &&
			   chmod(p, 0755) < 0) {
			return -errno;
		}
		if (last)
			return 0;
		*s = '/';
	}
}

static int fsync_dir(const char *dir)
{
	_cleanup_(closep) int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

/* Replace @dir/@name with @data atomically: temporary file, mode @mode, fsync, rename. */
static int write_atomic(const char *dir, const char *name, const char *data, mode_t mode)
{
	_cleanup_free_ char *path = NULL, *tmp = NULL;
	size_t len = strlen(data);
	int fd, r = 0;

	if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.XXXXXX", dir,
								name) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0)
		r = util_write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_dir(dir);
}

static bool is_wanted_login(const struct hostcfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_logins; i++)
		if (strcmp(c->logins[i], name) == 0)
			return true;
	return false;
}

/* Remove every non-directory in @dir that is not a wanted login (old logins, stale
 * temporary files), so the directory says exactly which logins are enabled. */
static int prune_principals(const struct hostcfg *c, const char *dir, char **ret_error)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d) {
		r = -errno;
		set_error(ret_error, "%s: %s", dir, strerror(-r));
		return r;
	}
	while (r == 0 && (errno = 0, e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    is_wanted_login(c, e->d_name))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!S_ISDIR(st.st_mode) && unlinkat(dirfd(d), e->d_name, 0) < 0)) {
			r = -errno;
			set_error(ret_error, "%s/%s: %s", dir, e->d_name, strerror(-r));
		}
	}
	if (r == 0 && errno != 0) {
		r = -errno;
		set_error(ret_error, "%s: %s", dir, strerror(-r));
	}
	closedir(d);
	return r;
}

static int validate(const struct hostcfg *c, char **ret_host, char **ret_error)
{
	_cleanup_free_ char *host = NULL;
	int r;

	if (!hostcfg_path_safe(c->etc)) {
		set_error(ret_error, "configuration directory \"%s\" must be an absolute path of "
				     "letters, digits and \"/._+-\"", c->etc ? c->etc : "");
		return -EINVAL;
	}
	if (c->principals_command && !hostcfg_path_safe(c->principals_command)) {
		set_error(ret_error, "principals command path \"%s\" must be an absolute path of "
				     "letters, digits and \"/._+-\"", c->principals_command);
		return -EINVAL;
	}
	if (!c->ca_keys || !*c->ca_keys) {
		set_error(ret_error, "no CA public key");
		return -EINVAL;
	}
	if (c->n_logins == 0 || c->n_logins > HOSTCFG_LOGINS_MAX) {
		set_error(ret_error, "give between 1 and %u logins", HOSTCFG_LOGINS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_logins; i++) {
		if (!name_login_valid(c->logins[i])) {
			set_error(ret_error, "login \"%s\" is not a safe account name (letters, "
					     "digits, '.', '_', '-'; not starting with '-' or '.'; "
					     "at most %d bytes)", c->logins[i], NAME_MAX_LEN);
			return JIT_E_NAME;
		}
	}
	r = host_normalize(c->host, NULL, &host);
	if (r == JIT_E_NAME)
		set_error(ret_error, "host name \"%s\" is not a valid host name (letters, digits, "
				     "'-' and '.'; at most %d bytes)", c->host ? c->host : "",
			  HOST_NAME_MAX_LEN);
	if (r < 0)
		return r;
	*ret_host = TAKE_PTR(host);
	return 0;
}

int hostcfg_install(const struct hostcfg *c, char **ret_host, char **ret_error)
{
	_cleanup_free_ char *host = NULL, *host_line = NULL, *snippet = NULL, *base = NULL,
			    *principals = NULL, *confd = NULL;
	int r;

	r = validate(c, &host, ret_error);
	if (r < 0)
		return r;
	r = hostcfg_snippet(c, &snippet);
	if (r < 0)
		return r;
	if (asprintf(&base, "%s/jit-ssh", c->etc) < 0 ||
	    asprintf(&principals, "%s/" HOSTCFG_PRINCIPALS_DIR, c->etc) < 0 ||
	    asprintf(&confd, "%s/sshd_config.d", c->etc) < 0 ||
	    asprintf(&host_line, "%s\n", host) < 0)
		return -ENOMEM;

	/* Our own directories get 0755 even when they exist (nobody must read them when the
	 * principals command is used); the others only when we create them. */
	const struct {
		const char *path;
		bool ours;
	} dirs[] = { { c->etc, false }, { base, true }, { principals, true }, { confd, false } };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		if ((r = mkdir_p(dirs[i].path, dirs[i].ours)) < 0) {
			set_error(ret_error, "cannot create directory %s: %s", dirs[i].path,
				  jit_strerror(r));
			return r;
		}
	}

	/* Trust and principals first, the snippet that points at them last. */
	if ((r = write_atomic(base, "trusted_user_ca_keys", c->ca_keys, 0644)) < 0) {
		set_error(ret_error, "cannot write %s/trusted_user_ca_keys: %s", base,
			  jit_strerror(r));
		return r;
	}
	if ((r = write_atomic(base, "host", host_line, 0644)) < 0) {
		set_error(ret_error, "cannot write %s/host: %s", base, jit_strerror(r));
		return r;
	}
	for (size_t i = 0; i < c->n_logins; i++) {
		_cleanup_free_ char *p = NULL, *line = NULL;

		if ((r = principal_format(host, c->logins[i], &p)) < 0)
			return r;
		if (asprintf(&line, "%s\n", p) < 0)
			return -ENOMEM;
		if ((r = write_atomic(principals, c->logins[i], line, 0644)) < 0) {
			set_error(ret_error, "cannot write %s/%s: %s", principals, c->logins[i],
				  jit_strerror(r));
			return r;
		}
	}
	if ((r = prune_principals(c, principals, ret_error)) < 0 ||
	    (r = fsync_dir(principals)) < 0)
		return r;
	if ((r = write_atomic(confd, "jit-ssh.conf", snippet, 0644)) < 0) {
		set_error(ret_error, "cannot write %s/jit-ssh.conf: %s", confd, jit_strerror(r));
		return r;
	}
	if (ret_host)
		*ret_host = TAKE_PTR(host);
	return 0;
}

/* Run @argv with stdout and stderr into a pipe; collect at most CHECK_OUTPUT_MAX bytes. */
static int run_capture(char *const argv[], bool *ret_ok, char **ret_output)
{
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	int pfd[2], status;
	pid_t pid;

	out = malloc(CHECK_OUTPUT_MAX + 1);
	if (!out)
		return -ENOMEM;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(pfd[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t keep = (size_t)n < CHECK_OUTPUT_MAX - len ? (size_t)n : CHECK_OUTPUT_MAX - len;
		memcpy(out + len, buf, keep);
		len += keep;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	out[len] = 0;
	*ret_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	*ret_output = TAKE_PTR(out);
	return 0;
}

int hostcfg_check(const char *snippet_text, const char *sshd, bool *ret_ok, char **ret_output)
{
	_cleanup_free_ char *snippet = NULL, *hostkey = NULL, *config = NULL, *config_text = NULL;
	_cleanup_(key_freep) struct key *k = NULL;
	const char *tmpdir = getenv("TMPDIR");
	char dir[HOSTCFG_PATH_MAX + 32];
	int r;

	if (!tmpdir || !hostcfg_path_safe(tmpdir) || strlen(tmpdir) > HOSTCFG_PATH_MAX)
		tmpdir = "/tmp";
	snprintf(dir, sizeof dir, "%s/jit-ssh-hostcfg.XXXXXX", tmpdir);
	if (!mkdtemp(dir))
		return -errno;
	if (asprintf(&snippet, "%s/jit-ssh.conf", dir) < 0 ||
	    asprintf(&hostkey, "%s/host_key", dir) < 0 ||
	    asprintf(&config, "%s/sshd_config", dir) < 0 ||
	    asprintf(&config_text, "Include %s\nHostKey %s\n", snippet, hostkey) < 0) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = write_atomic(dir, "jit-ssh.conf", snippet_text, 0644)) < 0 ||
	    (r = write_atomic(dir, "sshd_config", config_text, 0644)) < 0 ||
	    (r = key_generate(KEY_ED25519, 0, &k)) < 0 ||
	    (r = key_write_private(k, "jit-ssh-hostcfg check", hostkey)) < 0)
		goto out;
	r = run_capture((char *const[]){ (char *)sshd, (char *)"-t", (char *)"-f", config, NULL },
			ret_ok, ret_output);
out:
	if (hostkey)
		unlink(hostkey);
	if (config)
		unlink(config);
	if (snippet)
		unlink(snippet);
	rmdir(dir);
	return r;
}

int hostcfg_principal(const char *etc, const char *user, char **ret)
{
	_cleanup_free_ char *host_path = NULL, *data = NULL, *host = NULL, *file = NULL;
	struct stat st;
	size_t len;
	int r;

	if (!name_login_valid(user)) {
		*ret = NULL;
		return 0;
	}
	if (asprintf(&host_path, "%s/" HOSTCFG_HOST_FILE, etc) < 0 ||
	    asprintf(&file, "%s/" HOSTCFG_PRINCIPALS_DIR "/%s", etc, user) < 0)
		return -ENOMEM;
	if (stat(file, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		*ret = NULL;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		*ret = NULL;
		return 0;
	}
	r = read_file(host_path, HOST_NAME_MAX_LEN + 1, &data, &len);
	if (r < 0)
		return r;
	if (len > 0 && data[len - 1] == '\n')
		data[--len] = 0;
	r = host_normalize(data, NULL, &host);
	if (r < 0)
		return r;
	if (strcmp(host, data) != 0)
		return JIT_E_FORMAT;
	return principal_format(host, user, ret);
}
