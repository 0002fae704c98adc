/* SPDX-License-Identifier: ISC */
/*
 * jit-ssh-ca - the jit-ssh certificate authority: init, serve, reload, pubkey, ledger ...
 * (ledger_cli.h), policy check/explain. Each command is a thin layer over ca_lib; this file parses
 * arguments and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "config.h"
#include "err.h"
#include "init.h"
#include "issue.h"
#include "key.h"
#include "ledger.h"
#include "ledger_cli.h"
#include "policy.h"
#include "serve.h"
#include "tlsgen.h"
#include "util.h"

static const char usage_text[] =
	"Usage: jit-ssh-ca COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  init [--dir DIR] [--port N] [--force] [--user NAME] [--user-key FILE]\n"
	"        create a CA state directory (default: the directory of the default config)\n"
	"  serve [--config FILE] [--listen ADDR] [--port N] [--port-file FILE] [--plain-http]\n"
	"        [--continue-on-broken-chain]\n"
	"        run the CA's HTTPS API until SIGTERM/SIGINT; SIGHUP reloads the policy\n"
	"        (port 0 = ephemeral; the port is written to --port-file once listening)\n"
	"  reload [--config FILE] [--port N | --port-file FILE]\n"
	"        make the running CA reload its policy and report the outcome (a refused file's\n"
	"        errors as FILE:LINE:COLUMN: ...)\n"
	"  pubkey [--config FILE]\n"
	"        print the CA public-key line (for TrustedUserCAKeys)\n"
	"  ledger list|show|verify|export|correlate|review|backup ... [--config FILE]\n"
	"        review the issuance ledger ('jit-ssh-ca ledger --help')\n"
	"  policy check FILE\n"
	"        validate a policy file (errors as FILE:LINE:COLUMN: ..., in file order)\n"
	"  policy explain --user U --host H --login L [--at TIME] [--from ADDR] [--ttl DURATION]\n"
	"        [--reason TEXT] [--json] [--config FILE | --policy FILE]\n"
	"        what the policy decides for that request, and why, and what is open to U on H;\n"
	"        --ttl as jit-ssh --ttl: 600 (seconds), 90s, 10m, 1h, 1d; exit 0 allowed or\n"
	"        needs approval, 2 denied, 1 failure, 64 command-line error\n"
	"\n"
	"The default config is $JIT_SSH_CA_CONFIG, else " CONFIG_DEFAULT_PATH ".\n";

static int usage(FILE *f, int status)
{
	fputs(usage_text, f);
	return status;
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("jit-ssh-ca: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'jit-ssh-ca --help'.\n", stderr);
	return 2;
}

static int parse_port(const char *s, int *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 65535 || s[0] == '-' || s[0] == '+')
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

enum {
	OPT_CONFIG = 0x100,
	OPT_LISTEN,
	OPT_PORT,
	OPT_PORT_FILE,
	OPT_PLAIN_HTTP,
	OPT_DIR,
	OPT_FORCE,
	OPT_USER,
	OPT_USER_KEY,
	OPT_JSON,
	OPT_CONTINUE,
	OPT_HOST,
	OPT_LOGIN,
	OPT_AT,
	OPT_FROM,
	OPT_TTL,
	OPT_REASON,
	OPT_POLICY,
	OPT_HELP,
};

static const struct option long_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"port", required_argument, NULL, OPT_PORT},
	{"port-file", required_argument, NULL, OPT_PORT_FILE},
	{"plain-http", no_argument, NULL, OPT_PLAIN_HTTP},
	{"dir", required_argument, NULL, OPT_DIR},
	{"force", no_argument, NULL, OPT_FORCE},
	{"user", required_argument, NULL, OPT_USER},
	{"user-key", required_argument, NULL, OPT_USER_KEY},
	{"json", no_argument, NULL, OPT_JSON},
	{"continue-on-broken-chain", no_argument, NULL, OPT_CONTINUE},
	{"host", required_argument, NULL, OPT_HOST},
	{"login", required_argument, NULL, OPT_LOGIN},
	{"at", required_argument, NULL, OPT_AT},
	{"from", required_argument, NULL, OPT_FROM},
	{"ttl", required_argument, NULL, OPT_TTL},
	{"reason", required_argument, NULL, OPT_REASON},
	{"policy", required_argument, NULL, OPT_POLICY},
	{"help", no_argument, NULL, OPT_HELP},
	{0},
};

/* The options every command may see; each command checks it got only its own. */
struct args {
	const char *config;
	const char *listen;
	int port;
	const char *port_file;
	bool plain_http;
	const char *dir;
	bool force;
	const char *user;
	const char *user_key;
	bool json;
	bool continue_on_broken_chain;
	const char *host;
	const char *login;
	const char *at;
	const char *from;
	const char *ttl;
	const char *reason;
	const char *policy;
	uint64_t seen; /* bit (option - OPT_CONFIG) per option given */
	int argc;
	char **argv; /* operands */
};

static int parse_args(int argc, char **argv, struct args *a)
{
	int c;

	a->port = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		if (c >= OPT_CONFIG && c <= OPT_HELP)
			a->seen |= UINT64_C(1) << (c - OPT_CONFIG);
		switch (c) {
		case OPT_CONFIG:
			a->config = optarg;
			break;
		case OPT_LISTEN:
			a->listen = optarg;
			break;
		case OPT_PORT:
			if (parse_port(optarg, &a->port) < 0)
				return bad_usage("--port: '%s' is not a port number (0..65535)",
						 optarg);
			break;
		case OPT_PORT_FILE:
			a->port_file = optarg;
			break;
		case OPT_PLAIN_HTTP:
			a->plain_http = true;
			break;
		case OPT_DIR:
			a->dir = optarg;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_USER:
			a->user = optarg;
			break;
		case OPT_USER_KEY:
			a->user_key = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_CONTINUE:
			a->continue_on_broken_chain = true;
			break;
		case OPT_HOST:
			a->host = optarg;
			break;
		case OPT_LOGIN:
			a->login = optarg;
			break;
		case OPT_AT:
			a->at = optarg;
			break;
		case OPT_FROM:
			a->from = optarg;
			break;
		case OPT_TTL:
			a->ttl = optarg;
			break;
		case OPT_REASON:
			a->reason = optarg;
			break;
		case OPT_POLICY:
			a->policy = optarg;
			break;
		case 'h':
		case OPT_HELP:
			exit(usage(stdout, 0));
		default:
			return bad_usage("unknown option or missing argument: %s",
					 argv[optind - 1]);
		}
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	return 0;
}

#define BIT(o) (UINT64_C(1) << ((o)-OPT_CONFIG))

/*
 * Refuse options not in @allowed, and operands other than @operands after the @words
 * subcommand words already consumed ("list" of "ledger list").
 */
static int only(const struct args *a, const char *cmd, uint64_t allowed, int words, int operands)
{
	uint64_t extra = a->seen & ~(allowed | BIT(OPT_HELP));
	int n = a->argc - words;

	for (const struct option *o = long_options; o->name; o++)
		if (extra & BIT(o->val)) {
			fprintf(stderr, "jit-ssh-ca: %s does not take --%s\n", cmd, o->name);
			return 2;
		}
	if (n != operands) {
		if (operands == 0)
			fprintf(stderr, "jit-ssh-ca: %s takes no arguments (got '%s')\n", cmd,
				a->argv[words]);
		else
			fprintf(stderr, "jit-ssh-ca: %s takes %d argument%s, not %d\n", cmd,
				operands, operands == 1 ? "" : "s", n);
		return 2;
	}
	return 0;
}

static int load_config(const struct args *a, struct config **ret)
{
	_cleanup_free_ char *err = NULL;
	const char *path = a->config ? a->config : config_default_path();
	int r = config_load(path, ret, &err);

	if (r < 0)
		fprintf(stderr, "jit-ssh-ca: %s\n", err ? err : jit_strerror(r));
	return r;
}

/* The first enrolled-looking key of the user running init, or NULL. */
static char *find_user_key(const char *file)
{
	static const char *const names[] = {"id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"};
	const char *home = getenv("HOME");
	_cleanup_free_ char *text = NULL;

	if (file) {
		if (tlsgen_read_file(file, &text, NULL) < 0)
			return NULL;
		return TAKE_PTR(text);
	}
	for (size_t i = 0; home && i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "%s/.ssh/%s", home, names[i]) < 0)
			return NULL;
		if (tlsgen_read_file(p, &text, NULL) == 0)
			return TAKE_PTR(text);
	}
	return NULL;
}

static int cmd_init(const struct args *a)
{
	_cleanup_free_ char *defdir = NULL;
	_cleanup_free_ char *key = NULL;
	_cleanup_free_ char *err = NULL;
	struct init_result res = {0};
	const char *user = a->user ? a->user : getenv("USER");
	struct init_options o = {
		.dir = a->dir,
		.port = a->port >= 0 ? (uint16_t)a->port : CONFIG_PORT_DEFAULT,
		.force = a->force,
		.user = user && *user ? user : "root",
		.now = (uint64_t)time(NULL),
	};
	int r;

	if ((r = only(a, "init",
		      BIT(OPT_DIR) | BIT(OPT_PORT) | BIT(OPT_FORCE) | BIT(OPT_USER) |
			      BIT(OPT_USER_KEY),
		      0, 0)) != 0)
		return r;
	if (!o.dir) {
		defdir = strdup(config_default_path());
		if (!defdir)
			return 1;
		o.dir = dirname(defdir);
	}
	key = find_user_key(a->user_key);
	if (a->user_key && !key) {
		fprintf(stderr, "jit-ssh-ca: cannot read --user-key %s\n", a->user_key);
		return 1;
	}
	o.user_key = key;
	if ((r = init_run(&o, &res, &err)) < 0) {
		fprintf(stderr, "jit-ssh-ca: init: %s\n", err ? err : jit_strerror(r));
		return 1;
	}
	printf("Created the CA state directory %s\n\n"
	       "CA public key (hosts trust it with TrustedUserCAKeys; also in %s/ca_key.pub):\n"
	       "%s\n\n"
	       "TLS pin (clients check the CA with it: jit-ssh --pin, JIT_SSH_PIN):\n"
	       "%s\n\n",
	       o.dir, o.dir, res.ca_line, res.pin);
	if (key)
		printf("The example policy %s/policy.yaml lets '%s' log in as '%s' on any host.\n",
		       o.dir, o.user, o.user);
	else
		printf("No public key of '%s' was found: add one to %s/policy.yaml before the\n"
		       "first request (or rerun with --force --user-key FILE).\n",
		       o.user, o.dir);
	printf("\nNext:\n"
	       "  jit-ssh-ca serve --config %s\n"
	       "  jit-ssh-hostcfg install --ca-key %s/ca_key.pub --host HOST --login %s"
	       "    (on each host)\n"
	       "  jit-ssh --ca https://localhost:%u --pin '%s' %s@HOST\n",
	       res.config, o.dir, o.user, (unsigned)o.port, res.pin, o.user);
	init_result_clear(&res);
	return 0;
}

static int cmd_serve(const struct args *a)
{
	struct serve_options o = {
		.config_path = a->config ? a->config : config_default_path(),
		.listen = a->listen,
		.port = a->port,
		.port_file = a->port_file,
		.plain_http = a->plain_http,
		.continue_on_broken_chain = a->continue_on_broken_chain,
		.log = stderr,
	};
	int r;

	if ((r = only(a, "serve",
		      BIT(OPT_CONFIG) | BIT(OPT_LISTEN) | BIT(OPT_PORT) | BIT(OPT_PORT_FILE) |
			      BIT(OPT_PLAIN_HTTP) | BIT(OPT_CONTINUE),
		      0, 0)) != 0)
		return r;
	return serve_run(&o);
}

static int cmd_reload(const struct args *a)
{
	struct serve_reload_options o = {
		.config_path = a->config ? a->config : config_default_path(),
		.port = a->port,
		.port_file = a->port_file,
		.out = stdout,
		.err = stderr,
	};
	int r;

	if ((r = only(a, "reload", BIT(OPT_CONFIG) | BIT(OPT_PORT) | BIT(OPT_PORT_FILE), 0, 0)) !=
	    0)
		return r;
	if (a->port >= 0 && a->port_file)
		return bad_usage("reload: %s", "give --port or --port-file, not both");
	return serve_reload(&o);
}

static int cmd_pubkey(const struct args *a)
{
	_cleanup_(config_freep) struct config *cfg = NULL;
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_free_ char *pub = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *line = NULL;
	int r;

	if ((r = only(a, "pubkey", BIT(OPT_CONFIG), 0, 0)) != 0)
		return r;
	if (load_config(a, &cfg) < 0)
		return 1;
	/* The key itself; the .pub beside it only for a user who may not read the key. */
	r = key_load_private(cfg->ca_key, true, &k);
	if (r == -EACCES) {
		if (asprintf(&pub, "%s.pub", cfg->ca_key) < 0)
			return 1;
		if ((r = tlsgen_read_file(pub, &text, NULL)) == 0)
			r = key_from_line(text, &k, NULL);
	}
	if (r == JIT_E_PERMISSION) {
		fprintf(stderr,
			"jit-ssh-ca: CA key file %s is readable or writable by group or "
			"others, or owned by another user. Fix it with: chown %u %s && "
			"chmod 600 %s\n",
			cfg->ca_key, (unsigned)geteuid(), cfg->ca_key, cfg->ca_key);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "jit-ssh-ca: cannot load the CA key %s: %s\n", cfg->ca_key,
			jit_strerror(r));
		return 1;
	}
	if (key_to_line(k, "jit-ssh-ca", &line) < 0)
		return 1;
	printf("%s\n", line);
	return 0;
}

static void policy_unrefp(struct policy **p)
{
	policy_unref(*p);
}

static int cmd_policy_check(const struct args *a)
{
	_cleanup_(policy_unrefp) struct policy *p = NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *report = NULL;
	const char *file;
	size_t n = 0;
	int r;

	if ((r = only(a, "policy check", 0, 1, 1)) != 0)
		return r;
	file = a->argv[1];
	r = policy_load_file(file, &p, &err);
	if (r < 0) {
		if (err)
			fprintf(stderr, "%s\n", err);
		else
			fprintf(stderr, "%s: %s\n", file, jit_strerror(r));
		return 1;
	}
	if ((r = policy_lint(p, &report, &n)) < 0) {
		fprintf(stderr, "%s: %s\n", file, jit_strerror(r));
		return 1;
	}
	if (n > 0) {
		fprintf(stderr, "%s\n", report);
		return 1;
	}
	printf("%s: ok (version %s)\n", file, policy_version(p));
	return 0;
}

/* Longest --ttl, seconds: the same limit as jit-ssh --ttl (agent/opts.h OPTS_TTL_MAX). A
 * request may ask for more than the policy grants; the answer says what it was capped to. */
#define EXPLAIN_TTL_MAX (7u * 24u * 3600u)

/*
 * --ttl: exactly what `jit-ssh --ttl` takes (conf_parse_duration(), shared with agent/), so
 * that an operator can replay what an engineer typed: 1 second to EXPLAIN_TTL_MAX. The policy
 * file's own durations differ (a bare number there is minutes; docs/policy.md, "Durations").
 */
/* policy explain's exit status, as jit-ssh explain's (docs/engineer.md): 0 allowed or needs
 * approval (with a note on stderr), 2 denied, 1 a failure, 64 a command-line error. */
#define EXPLAIN_EXIT_OK 0
#define EXPLAIN_EXIT_FAILURE 1
#define EXPLAIN_EXIT_DENIED 2
#define EXPLAIN_EXIT_USAGE 64

static int explain_exit(const struct policy_request *pr, const struct policy_decision *d)
{
	if (d->verdict == POLICY_DENY)
		return EXPLAIN_EXIT_DENIED;
	if (d->verdict == POLICY_NEEDS_APPROVAL)
		fprintf(stderr,
			"jit-ssh-ca: note: %s@%s is not denied, but not allowed outright either: a "
			"request for it needs approval\n",
			pr->login, d->host ? d->host : pr->host);
	return EXPLAIN_EXIT_OK;
}

static int cmd_policy_explain(const struct args *a)
{
	_cleanup_(policy_unrefp) struct policy *p = NULL;
	_cleanup_(config_freep) struct config *cfg = NULL;
	_cleanup_(policy_decision_freep) struct policy_decision *d = NULL;
	_cleanup_free_ struct policy_open_login *open = NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *open_text = NULL;
	json_t *j = NULL;
	struct policy_request pr = {
		.user = a->user,
		.host = a->host,
		.login = a->login,
		.reason = a->reason,
		.client_addr = a->from,
		.now = (uint64_t)time(NULL),
	};
	_cleanup_(json_decrefp) json_t *open_json = NULL;
	_cleanup_(json_decrefp) json_t *denied_json = NULL;
	const char *file;
	size_t n = 0, denied_more = 0;
	int r;

	if (only(a, "policy explain",
		 BIT(OPT_USER) | BIT(OPT_HOST) | BIT(OPT_LOGIN) | BIT(OPT_AT) | BIT(OPT_FROM) |
			 BIT(OPT_TTL) | BIT(OPT_REASON) | BIT(OPT_JSON) | BIT(OPT_CONFIG) |
			 BIT(OPT_POLICY),
		 1, 0) != 0)
		return EXPLAIN_EXIT_USAGE;
	if (!a->user || !a->host || !a->login) {
		bad_usage("policy explain: %s", "--user, --host and --login are required");
		return EXPLAIN_EXIT_USAGE;
	}
	if (a->config && a->policy) {
		bad_usage("policy explain: %s", "give --config or --policy, not both");
		return EXPLAIN_EXIT_USAGE;
	}
	if (a->at && ledger_cli_parse_time(a->at, pr.now, false, &pr.now) < 0) {
		bad_usage("--at: '%s' is not seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ",
			  a->at);
		return EXPLAIN_EXIT_USAGE;
	}
	if (a->ttl && conf_parse_duration(a->ttl, EXPLAIN_TTL_MAX, &pr.ttl_sec) < 0) {
		bad_usage("--ttl: '%s' is not a duration such as 600, 90s, 10m or 1h (one number "
			  "and at most one unit, at most 7 days)",
			  a->ttl);
		return EXPLAIN_EXIT_USAGE;
	}
	if (!a->policy && load_config(a, &cfg) < 0)
		return EXPLAIN_EXIT_FAILURE;
	file = a->policy ? a->policy : cfg->policy;
	if ((r = policy_load_file(file, &p, &err)) < 0) {
		if (err)
			fprintf(stderr, "%s\n", err);
		else
			fprintf(stderr, "%s: %s\n", file, jit_strerror(r));
		return EXPLAIN_EXIT_FAILURE;
	}
	if ((r = issue_explain(p, &pr, cfg ? cfg->max_ttl_sec : 0, &d, &open, &n)) < 0) {
		fprintf(stderr, "jit-ssh-ca: policy explain: %s\n", jit_strerror(r));
		return EXPLAIN_EXIT_FAILURE;
	}
	if (a->json) {
		/* The decision's fields, plus "open" and "denied" as in POST /v1/explain. */
		if ((r = policy_explain_json(&pr, d, &j)) == 0 &&
		    (r = issue_open_logins_json(open, n, &open_json, &denied_json, &denied_more)) ==
			    0 &&
		    (json_object_set(j, "open", open_json) < 0 ||
		     json_object_set(j, "denied", denied_json) < 0 ||
		     json_object_set_new(j, "denied_more", json_integer((json_int_t)denied_more)) <
			     0))
			r = -ENOMEM;
		if (r < 0) {
			json_decref(j);
			fprintf(stderr, "jit-ssh-ca: policy explain: %s\n", jit_strerror(r));
			return EXPLAIN_EXIT_FAILURE;
		}
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(j);
		if (fflush(stdout) != 0)
			return EXPLAIN_EXIT_FAILURE;
		return explain_exit(&pr, d);
	}
	if ((r = policy_explain_text(&pr, d, &text)) < 0 ||
	    (r = policy_open_logins_text(open, n, &open_text)) < 0) {
		fprintf(stderr, "jit-ssh-ca: policy explain: %s\n", jit_strerror(r));
		return EXPLAIN_EXIT_FAILURE;
	}
	printf("%s\nlogins for %s on %s:\n%s", text, a->user, d->host ? d->host : a->host,
	       open_text);
	if (fflush(stdout) != 0)
		return EXPLAIN_EXIT_FAILURE;
	return explain_exit(&pr, d);
}

static int cmd_policy(const struct args *a)
{
	if (a->argc >= 1 && !strcmp(a->argv[0], "check"))
		return cmd_policy_check(a);
	if (a->argc >= 1 && !strcmp(a->argv[0], "explain"))
		return cmd_policy_explain(a);
	return bad_usage("policy: %s", "expected 'policy check FILE' or 'policy explain ...'");
}

/* Whether the command line is `policy explain`, looked at before getopt reorders @argv. */
static bool is_policy_explain(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "policy") != 0)
		return false;
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "explain"))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	const char *cmd;
	bool explain;
	int r;

	if (argc < 2)
		return usage(stderr, 2);
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
		return usage(stdout, 0);
	if (!strcmp(cmd, "ledger"))
		return ledger_cli_main(argc - 1, argv + 1, stdout, stderr);
	explain = is_policy_explain(argc, argv);
	if ((r = parse_args(argc - 1, argv + 1, &a)) != 0)
		return explain ? EXPLAIN_EXIT_USAGE : r; /* policy explain keeps 2 for "denied" */
	if (!strcmp(cmd, "init"))
		return cmd_init(&a);
	if (!strcmp(cmd, "serve"))
		return cmd_serve(&a);
	if (!strcmp(cmd, "reload"))
		return cmd_reload(&a);
	if (!strcmp(cmd, "pubkey"))
		return cmd_pubkey(&a);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(&a);
	return bad_usage("unknown command '%s'", cmd);
}
