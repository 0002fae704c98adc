/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "b64.h"
#include "conf.h"
#include "err.h"
#include "http.h"
#include "names.h"
#include "opts.h"
#include "util.h"

static const char usage_text[] =
	"Usage: jit-ssh [options] [LOGIN@]HOST [COMMAND...]\n"
	"       jit-ssh cert [options] [LOGIN@]HOST\n"
	"       jit-ssh explain [--json] [options] [LOGIN@]HOST\n"
	"\n"
	"Asks the jit-ssh certificate authority for a short-lived SSH certificate for LOGIN on\n"
	"HOST, adds it to your ssh-agent, then runs ssh. `jit-ssh cert` only gets the\n"
	"certificate and prints where it is and how long it is valid. `jit-ssh explain` asks\n"
	"the CA, without getting anything issued, whether LOGIN on HOST would be allowed, why,\n"
	"and which logins are open to you on HOST (exit 0 allowed or needs approval, 2 denied).\n"
	"\n"
	"Options:\n"
	"  -l LOGIN          account on HOST (default: your requester name)\n"
	"  --ttl DURATION    lifetime to ask for: 600, 90s, 10m, 1h (default: the policy's)\n"
	"  --reason TEXT     why you need access (shown to approvers, kept in the ledger)\n"
	"  -i KEYFILE        sign the request with this enrolled private-key file instead of\n"
	"                    the keys in your ssh-agent\n"
	"  --user NAME       requester name at the CA (default: $USER)\n"
	"  --ca URL          CA address, e.g. https://ca.example.com:8443\n"
	"  --pin PIN         CA TLS key pin, sha256//BASE64 (as `jit-ssh-ca init` printed it)\n"
	"  --ca-bundle FILE  verify the CA's TLS certificate with these PEM CA certificates\n"
	"  --config FILE     configuration file (default ~/.config/jit-ssh/config.yaml)\n"
	"  -p PORT, -o OPTION, -F FILE\n"
	"                    passed on to ssh (-o may be repeated)\n"
	"  --confirm         add the certificate to ssh-agent so that it asks you (through\n"
	"                    ssh-askpass, $SSH_ASKPASS) before each use\n"
	"  --json            explain: print the CA's JSON answer as it is\n"
	"  -h, --help        show this help\n"
	"  -V, --version     show the version\n"
	"\n"
	"Environment: JIT_SSH_CA_URL, JIT_SSH_PIN, JIT_SSH_CA_BUNDLE, JIT_SSH_USER,\n"
	"JIT_SSH_IDENTITY, JIT_SSH_CONFIG, JIT_SSH_SSH, JIT_SSH_CONFIRM (1 or 0), SSH_AUTH_SOCK,\n"
	"XDG_RUNTIME_DIR.\n"
	"Configuration keys: ca_url, pin, ca_bundle, user, identity, ttl, ssh, confirm (true or\n"
	"false).\n"
	"Flags win over the environment, which wins over the configuration file.\n"
	"\n"
	"Exit status: ssh's own once it runs; otherwise 0 done, 1 local failure, 2 denied,\n"
	"3 CA unreachable or TLS failure, 4 ssh-agent problem, 5 CA refused the authentication,\n"
	"6 CA refused the request or answered wrongly, 64 usage error, 78 configuration error,\n"
	"130 interrupted (Ctrl-C) while waiting for approval.\n";

const char *opts_usage(void)
{
	return usage_text;
}

struct opts *opts_free(struct opts *o)
{
	if (!o)
		return NULL;
	free(o->host_arg);
	free(o->host);
	free(o->login);
	free(o->user);
	free(o->reason);
	free(o->key_file);
	free(o->identity);
	free(o->ca_url);
	free(o->pin);
	free(o->ca_bundle);
	free(o->config_path);
	free(o->ssh);
	for (size_t i = 0; i < o->n_ssh_args; i++)
		free(o->ssh_args[i]);
	free(o->ssh_args);
	for (size_t i = 0; i < o->n_command; i++)
		free(o->command[i]);
	free(o->command);
	free(o);
	return NULL;
}

void opts_freep(struct opts **o)
{
	opts_free(*o);
}

/* Sets *ret_error to a new formatted message; returns @err (or -ENOMEM). */
static int fail(char **ret_error, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char **ret_error, int err, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	free(*ret_error);
	*ret_error = m;
	return err;
}

/* Replace *dst with a copy of @s. */
static int set_str(char **dst, const char *s)
{
	char *c = strdup(s);

	if (!c)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

static int push_arg(char ***v, size_t *n, const char *s)
{
	char **nv, *c;

	if (*n >= OPTS_ARGS_MAX)
		return JIT_E_TOO_LARGE;
	if (!(c = strdup(s)))
		return -ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv) {
		free(c);
		return -ENOMEM;
	}
	nv[(*n)++] = c;
	*v = nv;
	return 0;
}

int opts_parse_duration(const char *s, uint64_t *ret)
{
	return conf_parse_duration(s, OPTS_TTL_MAX, ret);
}

enum {
	OPT_TTL = 256,
	OPT_REASON,
	OPT_USER,
	OPT_CA,
	OPT_PIN,
	OPT_CA_BUNDLE,
	OPT_CONFIG,
	OPT_JSON,
	OPT_CONFIRM,
};

static const struct option long_options[] = {
	{"ttl", required_argument, NULL, OPT_TTL},
	{"reason", required_argument, NULL, OPT_REASON},
	{"user", required_argument, NULL, OPT_USER},
	{"ca", required_argument, NULL, OPT_CA},
	{"pin", required_argument, NULL, OPT_PIN},
	{"ca-bundle", required_argument, NULL, OPT_CA_BUNDLE},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"json", no_argument, NULL, OPT_JSON},
	{"confirm", no_argument, NULL, OPT_CONFIRM},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{0},
};

/* How many long options "--NAME[=...]" @arg abbreviates (getopt_long() takes unique ones). */
static size_t prefix_matches(const char *arg)
{
	size_t n = 0, len;

	if (strncmp(arg, "--", 2) != 0)
		return 0;
	arg += 2;
	len = strcspn(arg, "=");
	for (const struct option *lo = long_options; lo->name; lo++)
		n += len > 0 && strncmp(lo->name, arg, len) == 0;
	return n;
}

/* One line of printable text (no control characters), valid UTF-8, at most @max bytes. */
static bool text_valid(const char *s, size_t max)
{
	json_t *j;

	if (strlen(s) > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	j = json_string(s);
	json_decref(j);
	return j != NULL;
}

/*
 * Options from argv[1] up to the first non-option (getopt_long in '+' mode); returns the index
 * of that word in *ret_next.
 */
static int parse_options(struct opts *o, int argc, char *const *argv, int *ret_next,
			 char **ret_error)
{
	int c, r = 0;

	opterr = 0;
	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "+:l:i:p:o:F:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'l':
			r = set_str(&o->login, optarg);
			break;
		case 'i':
			r = set_str(&o->key_file, optarg);
			break;
		case 'p':
		case 'o':
		case 'F': {
			char flag[3] = {'-', (char)c, 0};
			if ((r = push_arg(&o->ssh_args, &o->n_ssh_args, flag)) == 0)
				r = push_arg(&o->ssh_args, &o->n_ssh_args, optarg);
			if (r == JIT_E_TOO_LARGE)
				return fail(ret_error, -EINVAL, "too many ssh options");
			break;
		}
		case 'h':
			o->cmd = OPTS_CMD_HELP;
			*ret_next = optind;
			return 0;
		case 'V':
			o->cmd = OPTS_CMD_VERSION;
			*ret_next = optind;
			return 0;
		case OPT_TTL:
			if (opts_parse_duration(optarg, &o->ttl_sec) < 0)
				return fail(
					ret_error, -EINVAL,
					"--ttl '%s' is not a duration such as 600, 90s, 10m or 1h "
					"(at most %u days)",
					optarg, OPTS_TTL_MAX / 86400);
			break;
		case OPT_REASON:
			if (!text_valid(optarg, OPTS_REASON_MAX))
				return fail(
					ret_error, -EINVAL,
					"--reason must be one line of UTF-8 text, at most %u bytes",
					OPTS_REASON_MAX);
			r = set_str(&o->reason, optarg);
			break;
		case OPT_USER:
			r = set_str(&o->user, optarg);
			break;
		case OPT_CA:
			r = set_str(&o->ca_url, optarg);
			break;
		case OPT_PIN:
			r = set_str(&o->pin, optarg);
			break;
		case OPT_CA_BUNDLE:
			r = set_str(&o->ca_bundle, optarg);
			break;
		case OPT_CONFIG:
			r = set_str(&o->config_path, optarg);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_CONFIRM:
			o->confirm = true;
			break;
		case ':':
			return fail(ret_error, -EINVAL, "option %s needs a value",
				    argv[optind - 1]);
		default:
			/* glibc: a known long option given "=VALUE" it does not take. */
			if (optopt != 0 && strncmp(argv[optind - 1], "--", 2) == 0 &&
			    strchr(argv[optind - 1], '='))
				return fail(ret_error, -EINVAL, "option %.*s takes no value",
					    (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
			if (optopt > 0 && optopt < 256)
				return fail(ret_error, -EINVAL, "unknown option -%c", optopt);
			if (prefix_matches(argv[optind - 1]) > 1)
				return fail(
					ret_error, -EINVAL,
					"option %s is ambiguous: write it out (e.g. --config or "
					"--confirm)",
					argv[optind - 1]);
			return fail(ret_error, -EINVAL, "unknown option %s", argv[optind - 1]);
		}
		if (r < 0)
			return r;
	}
	*ret_next = optind;
	return 0;
}

int opts_parse(int argc, char *const *argv, struct opts **ret, char **ret_error)
{
	_cleanup_(opts_freep) struct opts *o = NULL;
	char *const *av = argv;
	int ac = argc, next, r;
	const char *dest, *at;

	if (!(o = calloc(1, sizeof *o)))
		return -ENOMEM;
	if ((r = parse_options(o, ac, av, &next, ret_error)) < 0)
		return r;
	/*
	 * "cert" or "explain" as the first word that is not an option (and not after "--") is
	 * the command.
	 */
	if (o->cmd == OPTS_CMD_SSH && next < ac && strcmp(av[next - 1], "--") != 0 &&
	    (strcmp(av[next], "cert") == 0 || strcmp(av[next], "explain") == 0)) {
		o->cmd = av[next][0] == 'c' ? OPTS_CMD_CERT : OPTS_CMD_EXPLAIN;
		av += next;
		ac -= next;
		if ((r = parse_options(o, ac, av, &next, ret_error)) < 0)
			return r;
	}
	if (o->cmd == OPTS_CMD_HELP || o->cmd == OPTS_CMD_VERSION)
		goto done;
	if (next >= ac)
		return fail(ret_error, -EINVAL, "missing [LOGIN@]HOST (see jit-ssh --help)");

	dest = av[next];
	at = strrchr(dest, '@');
	if (at) {
		if (at == dest || at[1] == 0)
			return fail(ret_error, -EINVAL, "'%s' is not [LOGIN@]HOST", dest);
		if (!o->login && !(o->login = strndup(dest, (size_t)(at - dest))))
			return -ENOMEM;
		dest = at + 1;
	}
	if ((r = set_str(&o->host_arg, dest)) < 0)
		return r;

	/* Options may follow HOST too, up to the first word of COMMAND (as ssh allows). */
	av += next;
	ac -= next;
	if ((r = parse_options(o, ac, av, &next, ret_error)) < 0)
		return r;
	if (o->cmd == OPTS_CMD_HELP || o->cmd == OPTS_CMD_VERSION)
		goto done;
	for (int i = next; i < ac; i++) {
		r = push_arg(&o->command, &o->n_command, av[i]);
		if (r == JIT_E_TOO_LARGE)
			return fail(ret_error, -EINVAL, "COMMAND has too many words");
		if (r < 0)
			return r;
	}
	if (o->cmd != OPTS_CMD_SSH && o->n_command > 0)
		return fail(ret_error, -EINVAL, "jit-ssh %s takes no COMMAND (got '%s')",
			    o->cmd == OPTS_CMD_CERT ? "cert" : "explain", o->command[0]);
	if (o->json && o->cmd != OPTS_CMD_EXPLAIN)
		return fail(ret_error, -EINVAL, "--json goes only with jit-ssh explain");
done:
	*ret = TAKE_PTR(o);
	return 0;
}

/* The value of NAME in @envp, or NULL when unset or empty. */
static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return (*envp)[n + 1] ? *envp + n + 1 : NULL;
	return NULL;
}

/* A path from the configuration file: "~/x" is $HOME/x, "x" is relative to @dir. */
static int conf_path(const char *v, const char *dir, const char *home, bool keep_bare, char **ret)
{
	char *p;
	int n;

	if (v[0] == '~' && v[1] == '/' && home)
		n = asprintf(&p, "%s%s", home, v + 1);
	else if (v[0] == '/' || (keep_bare && !strchr(v, '/')))
		n = asprintf(&p, "%s", v);
	else
		n = asprintf(&p, "%s/%s", dir, v);
	if (n < 0)
		return -ENOMEM;
	free(*ret);
	*ret = p;
	return 0;
}

/* Each ';'-separated element is "sha256//" + base64 of 32 bytes (libcurl's format). */
static bool pin_valid(const char *pin)
{
	const char *p = pin;

	for (;;) {
		const char *end = strchrnul(p, ';');
		_cleanup_free_ uint8_t *raw = NULL;
		size_t len = (size_t)(end - p), n = 0;

		if (len < 8 || strncmp(p, "sha256//", 8) != 0 ||
		    b64_decode(p + 8, len - 8, &raw, &n) < 0 || n != 32)
			return false;
		if (!*end)
			return true;
		p = end + 1;
	}
}

static const char *const conf_keys[] = {
	"ca_url", "pin", "ca_bundle", "user", "identity", "ttl", "ssh", "confirm", NULL,
};

/*
 * Fill the fields not set by flags or environment from the configuration file; @ttl_set and
 * @confirm_set say that a flag or the environment set those.
 */
static int apply_conf(struct opts *o, const char *home, bool ttl_set, bool confirm_set,
		      bool required, char **ret_error)
{
	_cleanup_(conf_freep) struct conf *c = NULL;
	_cleanup_free_ char *dir = NULL, *cerr = NULL;
	const char *v;
	char *slash;
	int r;

	r = conf_load(o->config_path, conf_keys, &c, &cerr);
	if (r == -ENOENT && !required) {
		free(o->config_path);
		o->config_path = NULL;
		return 0;
	}
	if (r < 0) {
		if (cerr)
			return fail(ret_error, r, "%s", cerr);
		return fail(ret_error, r, "cannot read configuration file %s: %s", o->config_path,
			    jit_strerror(r));
	}
	if (!(dir = strdup(o->config_path)))
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else if (set_str(&dir, ".") < 0)
		return -ENOMEM;

	if (!o->ca_url && (v = conf_get(c, "ca_url")) && (r = set_str(&o->ca_url, v)) < 0)
		return r;
	if (!o->pin && (v = conf_get(c, "pin")) && (r = set_str(&o->pin, v)) < 0)
		return r;
	if (!o->user && (v = conf_get(c, "user")) && (r = set_str(&o->user, v)) < 0)
		return r;
	if (!o->ca_bundle && (v = conf_get(c, "ca_bundle")) &&
	    (r = conf_path(v, dir, home, false, &o->ca_bundle)) < 0)
		return r;
	if (!o->identity && (v = conf_get(c, "identity")) &&
	    (r = conf_path(v, dir, home, false, &o->identity)) < 0)
		return r;
	if (!o->ssh && (v = conf_get(c, "ssh")) && (r = conf_path(v, dir, home, true, &o->ssh)) < 0)
		return r;
	if (!ttl_set && (v = conf_get(c, "ttl")) && opts_parse_duration(v, &o->ttl_sec) < 0)
		return fail(ret_error, JIT_E_FORMAT,
			    "%s: ttl '%s' is not a duration such as 600, 90s, 10m or 1h",
			    o->config_path, v);
	if (!confirm_set) {
		int b = 0;
		if ((r = conf_get_bool(c, "confirm", &b, &cerr)) < 0)
			return fail(ret_error, r, "%s", cerr ? cerr : jit_strerror(r));
		o->confirm = b != 0;
	}
	return 0;
}

/* A boolean from the environment: 1, 0, true, false, yes, no. */
static int env_bool(const char *v, bool *ret)
{
	static const char *const yes[] = {"1", "true", "yes"}, *const no[] = {"0", "false", "no"};

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int check_url(struct opts *o, char **ret_error)
{
	_cleanup_free_ char *why = NULL;
	bool plain = false;
	int r;

	if (!o->ca_url)
		return fail(ret_error, -EINVAL,
			    "no CA URL: use --ca URL, JIT_SSH_CA_URL or ca_url in %s",
			    o->config_path ? o->config_path : "~/" OPTS_CONFIG_DEFAULT);
	r = http_url_check(o->ca_url, &plain, &why);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return fail(ret_error, -EINVAL, "CA URL '%s': %s", o->ca_url, why);
	o->plain_http = plain;
	if (plain)
		return 0;
	if (!o->pin && !o->ca_bundle)
		return fail(ret_error, -EINVAL,
			    "no way to trust the CA at %s: set its TLS pin (--pin, JIT_SSH_PIN or "
			    "pin) or a CA bundle (--ca-bundle, JIT_SSH_CA_BUNDLE or ca_bundle)",
			    o->ca_url);
	if (o->pin && !pin_valid(o->pin))
		return fail(ret_error, -EINVAL,
			    "TLS pin '%s' is not sha256//BASE64 (as `jit-ssh-ca init` prints it)",
			    o->pin);
	return 0;
}

int opts_resolve(struct opts *o, char *const *envp, char **ret_error)
{
	const char *home = env_get(envp, "HOME"), *v;
	bool ttl_set = o->ttl_sec != 0, confirm_set = o->confirm, conf_required = true;
	int r;

	/* Flags are already in @o; the environment comes next. */
	static const struct {
		const char *name;
		size_t field;
	} env_map[] = {
		{"JIT_SSH_CA_URL", offsetof(struct opts, ca_url)},
		{"JIT_SSH_PIN", offsetof(struct opts, pin)},
		{"JIT_SSH_CA_BUNDLE", offsetof(struct opts, ca_bundle)},
		{"JIT_SSH_USER", offsetof(struct opts, user)},
		{"JIT_SSH_IDENTITY", offsetof(struct opts, identity)},
		{"JIT_SSH_CONFIG", offsetof(struct opts, config_path)},
		{"JIT_SSH_SSH", offsetof(struct opts, ssh)},
	};
	for (size_t i = 0; i < ELEMENTSOF(env_map); i++) {
		char **field = (char **)((char *)o + env_map[i].field);
		if (!*field && (v = env_get(envp, env_map[i].name)) && (r = set_str(field, v)) < 0)
			return r;
	}
	if (!confirm_set && (v = env_get(envp, "JIT_SSH_CONFIRM"))) {
		if (env_bool(v, &o->confirm) < 0)
			return fail(ret_error, -EINVAL,
				    "JIT_SSH_CONFIRM '%s' is not 1 or 0 (or true, false, yes, no)",
				    v);
		confirm_set = true;
	}

	if (!o->config_path) {
		conf_required = false;
		if (home && asprintf(&o->config_path, "%s/%s", home, OPTS_CONFIG_DEFAULT) < 0) {
			o->config_path = NULL;
			return -ENOMEM;
		}
	}
	if (o->config_path &&
	    (r = apply_conf(o, home, ttl_set, confirm_set, conf_required, ret_error)) < 0)
		return r;

	if (!o->ssh && (r = set_str(&o->ssh, "ssh")) < 0)
		return r;
	if (!o->user && (v = env_get(envp, "USER")) && (r = set_str(&o->user, v)) < 0)
		return r;
	if (!o->user) {
		struct passwd *pw = getpwuid(getuid());
		if (!pw)
			return fail(ret_error, -EINVAL,
				    "cannot tell who you are: use --user NAME or JIT_SSH_USER");
		if ((r = set_str(&o->user, pw->pw_name)) < 0)
			return r;
	}
	if (!name_user_valid(o->user))
		return fail(ret_error, JIT_E_NAME,
			    "user name '%s' is not safe (letters, digits, '.', '_', '-', '@')",
			    o->user);
	if (!o->login && (r = set_str(&o->login, o->user)) < 0)
		return r;
	if (!name_login_valid(o->login))
		return fail(
			ret_error, JIT_E_NAME,
			"login '%s' is not safe (letters, digits, '.', '_', '-'); give one with "
			"-l LOGIN",
			o->login);
	free(o->host);
	o->host = NULL;
	r = host_normalize(o->host_arg, NULL, &o->host);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return fail(ret_error, JIT_E_NAME,
			    "host '%s' is not a valid host name (letters, digits, '-', '.')",
			    o->host_arg);
	return check_url(o, ret_error);
}
