/* SPDX-License-Identifier: ISC */
/*
 * test_eval.c - the evaluator, table-driven: every row is one request against the policy
 * below and the exact decision expected (verdict, deciding rule, principal, TTL,
 * extensions, critical options, approval quorum, and for denials a phrase of the reason).
 */
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "testpol.h"
#include "util.h"

static const char policy_yaml[] =
	"version: 1\n"
	"settings:\n"
	"  domain_suffix: .corp.example\n"
	"  default_ttl: 10m\n"
	"  max_ttl: 8h\n"
	"users:\n"
	"  alice: [" KEY1 "]\n"
	"  bob: {keys: [" KEY2 ", " KEY3 "]}\n"
	"  carol: {keys: [" KEY4 "]}\n"
	"  dave: {keys: [" KEY5 "]}\n"
	"  erin: {disabled: true, keys: [" KEY6 "]}\n"
	"  frank: {keys: [" KEY7 "]}\n"
	"  o.dd_name-1: {keys: [" KEY8 "]}\n"
	"  mail@corp: {keys: [" KEY9 "]}\n"
	"  root: {keys: [" KEY10 "]}\n"
	"  grace: {keys: [" KEY11 "]}\n"
	"  heidi: {keys: [" KEY12 "]}\n"
	"groups:\n"
	"  dev: [alice, bob, o.dd_name-1, mail@corp]\n"
	"  ops: [carol, dave]\n"
	"  dba: [bob]\n"
	"  leads: {users: [grace], groups: [ops]}\n"
	"  everyone: {groups: [dev, leads], users: [frank, root, heidi]}\n"
	"  contractors: [frank]\n"
	"  breakglass: [heidi]\n"
	"  nobody: []\n"
	"hosts:\n"
	"  web-*: [web]\n"
	"  web-[0-9]: [web, small]\n"
	"  db-?: [db]\n"
	"  db-prod-*: [db, prod]\n"
	"  prod-*: [prod]\n"
	"  build.ci: [ci]\n"
	"  '*.lab': [lab]\n"
	"rules:\n"
	"  - name: deny-contractors-prod\n"
	"    effect: deny\n"
	"    groups: [contractors]\n"
	"    host_labels: [prod]\n"
	"    logins: ['*']\n"
	"  - name: deny-root-web-weekend\n"
	"    effect: deny\n"
	"    users: ['*']\n"
	"    host_labels: [web]\n"
	"    logins: [root]\n"
	"    when: {days: [sat, sun]}\n"
	"  - name: dev-self\n"
	"    groups: [dev]\n"
	"    hosts: [dev-*, web-*]\n"
	"    logins: ['${user}']\n"
	"  - name: dev-deploy\n"
	"    groups: [dev]\n"
	"    host_labels: [web]\n"
	"    logins: [deploy, www-data]\n"
	"    default_ttl: 5m\n"
	"    max_ttl: 30m\n"
	"    extensions: [permit-port-forwarding, permit-pty, permit-agent-forwarding]\n"
	"  - name: ops-night\n"
	"    groups: [ops]\n"
	"    host_labels: [prod]\n"
	"    logins: [root]\n"
	"    max_ttl: 2h\n"
	"    when:\n"
	"      days: [fri]\n"
	"      hours: 22:00-06:00\n"
	"      timezone: America/New_York\n"
	"  - name: ops-berlin-day\n"
	"    groups: [ops]\n"
	"    host_labels: [prod]\n"
	"    logins: [root, '${user}']\n"
	"    when:\n"
	"      - {days: [mon-fri], hours: 09:00-17:00, timezone: Europe/Berlin}\n"
	"      - {days: [sat], hours: 10:00-12:00, timezone: Asia/Kolkata}\n"
	"  - name: prod-approval\n"
	"    groups: [everyone]\n"
	"    host_labels: [prod]\n"
	"    logins: ['${user}']\n"
	"    approvals: {count: 2, from: [leads]}\n"
	"    reason: required\n"
	"  - name: db-ticket\n"
	"    groups: [dba]\n"
	"    host_labels: [db]\n"
	"    logins: [postgres]\n"
	"    reason: {pattern: '^(OPS|INC)-[0-9]+'}\n"
	"    force_command: /usr/local/bin/psql-wrapper\n"
	"    source_address: [10.0.0.0/8, client, 2001:db8::/32]\n"
	"    extensions: []\n"
	"  - name: breakglass\n"
	"    groups: [breakglass]\n"
	"    hosts: ['*']\n"
	"    logins: ['*']\n"
	"    default_ttl: 5m\n"
	"    max_ttl: 15m\n"
	"    reason: required\n"
	"    source_address: [client]\n"
	"  - name: ci-builds\n"
	"    users: [root]\n"
	"    hosts: [build.ci]\n"
	"    logins: [builder]\n"
	"    default_ttl: 60\n"
	"    max_ttl: 8h\n"
	"  - name: lab-anyone\n"
	"    users: ['*']\n"
	"    host_labels: [lab]\n"
	"    logins: [lab]\n"
	"    extensions: [permit-X11-forwarding, permit-pty]\n"
	"  - name: never\n"
	"    users: []\n"
	"    hosts: ['*']\n"
	"    logins: ['*']\n"
	"  - name: nobody-group\n"
	"    groups: [nobody]\n"
	"    hosts: ['*']\n"
	"    logins: ['*']\n"
	"  - name: no-logins\n"
	"    users: ['*']\n"
	"    hosts: ['*']\n"
	"    logins: []\n"
	"  - name: never-window\n"
	"    users: ['*']\n"
	"    hosts: ['*']\n"
	"    logins: ['*']\n"
	"    when: []\n"
	"  - name: grace-approval-3\n"
	"    users: [grace, alice]\n"
	"    hosts: [stage-*]\n"
	"    logins: [app]\n"
	"    approvals: {count: 3, from: [leads]}\n";

/* Instants (UTC seconds) named by their local time; checked against Python's zoneinfo. */
#define T_MON_1000Z UINT64_C(1709546400)		/* 2024-03-04 Mon 10:00 UTC */
#define T_MON_2000Z UINT64_C(1709582400)
#define T_SAT_1200Z UINT64_C(1709985600)
#define T_SUN_1200Z UINT64_C(1710072000)
#define T_NY_THU_2300 UINT64_C(1709870400)		/* America/New_York, EST */
#define T_NY_FRI_2159 UINT64_C(1709953140)
#define T_NY_FRI_2200 UINT64_C(1709953200)
#define T_NY_FRI_2330 UINT64_C(1709958600)
#define T_NY_SAT_0000 UINT64_C(1709960400)
#define T_NY_SAT_0300 UINT64_C(1709971200)
#define T_NY_SAT_0559 UINT64_C(1709981940)
#define T_NY_SAT_0600 UINT64_C(1709982000)
#define T_NY_SAT_2300 UINT64_C(1710043200)
#define T_NY_JUL_FRI_2159 UINT64_C(1720835940)	/* EDT */
#define T_NY_JUL_FRI_2200 UINT64_C(1720836000)
#define T_NY_JUL_SAT_0559 UINT64_C(1720864740)
#define T_NY_JUL_SAT_0600 UINT64_C(1720864800)
#define T_BER_MON_0859 UINT64_C(1709539140)		/* Europe/Berlin, CET */
#define T_BER_MON_0900 UINT64_C(1709539200)
#define T_BER_MON_1659 UINT64_C(1709567940)
#define T_BER_MON_1700 UINT64_C(1709568000)
#define T_BER_APR_MON_0859 UINT64_C(1711954740)	/* CEST */
#define T_BER_APR_MON_0900 UINT64_C(1711954800)
#define T_BER_APR_MON_1659 UINT64_C(1711983540)
#define T_BER_APR_MON_1700 UINT64_C(1711983600)
#define T_BER_FRI_1000 UINT64_C(1709888400)
#define T_BER_SUN_1000 UINT64_C(1710061200)
#define T_BER_2100_MON_0859 UINT64_C(4118453940)	/* 2100-07-05, CEST by the footer rule */
#define T_BER_2100_MON_0930 UINT64_C(4118455800)
#define T_BER_2100_MON_1715 UINT64_C(4118483700)
#define T_KOL_SAT_0959 UINT64_C(1709958540)		/* Asia/Kolkata, +05:30 */
#define T_KOL_SAT_1000 UINT64_C(1709958600)
#define T_KOL_SAT_1159 UINT64_C(1709965740)
#define T_KOL_SAT_1200 UINT64_C(1709965800)
#define T_KOL_FRI_1100 UINT64_C(1709875800)

#define EXT_DEPLOY "permit-agent-forwarding,permit-port-forwarding,permit-pty"
#define EXT_LAB "permit-X11-forwarding,permit-pty"
#define DB_CMD "force-command=/usr/local/bin/psql-wrapper;"

struct row {
	const char *user, *host, *login;
	uint64_t ttl;
	const char *reason, *client;
	uint64_t now;
	enum policy_verdict verdict;
	const char *rule;	/* deciding rule, NULL for none */
	const char *principal;	/* the one principal, NULL when denied */
	uint64_t ttl_out;
	const char *ext;	/* extensions, comma-joined */
	const char *crit;	/* critical options, "name=value;..." */
	unsigned approvals;
	const char *approvers;	/* comma-joined */
	const char *why;	/* a phrase of the denial reason, or NULL */
};

#define ALLOW(rule, pr, ttl, ext, crit) POLICY_ALLOW, rule, pr, ttl, ext, crit, 0, "", NULL
#define ASK(rule, pr, ttl, ext, crit, n, from) \
	POLICY_NEEDS_APPROVAL, rule, pr, ttl, ext, crit, n, from, NULL
#define DENY(rule, why) POLICY_DENY, rule, NULL, 0, "", "", 0, "", why

static const struct row rows[] = {
	{ "alice", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 600, "permit-pty", "") },
	{ "alice", "WEB-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 600, "permit-pty", "") },
	{ "alice", "Web-1.", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 600, "permit-pty", "") },
	{ "alice", "web-1.corp.example", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 600, "permit-pty", "") },
	{ "alice", "WEB-1.CORP.EXAMPLE.", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 600, "permit-pty", "") },
	{ "alice", "web-1.Corp.Example", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 600, "permit-pty", "") },
	{ "alice", "dev-7", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:dev-7:alice", 600, "permit-pty", "") },
	{ "alice", "DEV-7.corp.example", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:dev-7:alice", 600, "permit-pty", "") },
	{ "alice", "dev-box.corp.example.", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:dev-box:alice", 600, "permit-pty", "") },
	{ "alice", "web-1.corp.example.com", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1.corp.example.com:alice", 600, "permit-pty", "") },
	{ "alice", "web-1.other", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1.other:alice", 600, "permit-pty", "") },
	{ "alice", "web-prod-eu-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-prod-eu-1:alice", 600, "permit-pty", "") },
	{ "alice", "dev-", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:dev-:alice", 600, "permit-pty", "") },
	{ "alice", "web-9", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-9:alice", 600, "permit-pty", "") },
	{ "alice", "xweb-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "webx-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "web1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "dev7", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "corp.example", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "a.corp.example.x", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "stage", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "prod", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web 1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web_1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "-web", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web..1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", ".web", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web-1..", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "a/b", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web-1.corp.example..", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	/* an empty label just before the domain suffix: once allowed as web-1 */
	{ "alice", "web-1..corp.example", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web*", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web?1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web[1]", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "wéb-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web-1\n", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxx", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web:1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "web,1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", ".", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", ".corp.example", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", NULL, "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.cccccccccccccccc"
	  "ccccccccccccccccccccccccccccccccccccccccccccccc."
	  "dddddddddddddddddddddddddddddddddddddddddddddddd"
	  "ddddddddddddd", "a", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "too long for a principal") },
	{ "alice", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.cccccccccccccccc"
	  "ccccccccccccccccccccccccccccccccccccccccccccccc."
	  "dddddddddddddddddddddddddddddddddddddddddddddddd"
	  "ddd", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "web-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaa", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaa:alice", 600, "permit-pty", "") },
	{ "alice", "web-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaa", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "too long for a principal") },
	{ "alice", "web-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaa", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "too long for a principal") },
	{ "o.dd_name-1", "web-2", "o.dd_name-1", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-2:o.dd_name-1", 600, "permit-pty", "") },
	{ "o.dd_name-1", "web-2", "O.DD_NAME-1", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "o.dd_name-1", "web-2", "o.dd_name-2", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "mail@corp", "web-2", "mail@corp", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "mail@corp", "web-2", "mail", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "mail@corp", "web-2", "corp", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "mail@corp", "web-2", "deploy",
	  0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-2:deploy", 300, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "bob", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "bob", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "bob", "web-1", "bob", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:bob", 600, "permit-pty", "") },
	{ "alice", "web-1", "Alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "web-1", "${user}", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "alice", "web-1", "*", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "alice", "web-1", "", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "alice", "web-1", NULL, 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "alice", "web-1", "-alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "alice", "web-1", "al ice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "alice", "web-1", "alice:x", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "alice", "web-1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaa", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid login name") },
	{ "root", "web-1", "root", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "root", "web-1", "root", 0, NULL, NULL, T_SAT_1200Z,
	  DENY("deny-root-web-weekend", "denied by rule 'deny-root-web-weekend'") },
	{ "root", "build.ci", "root", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "erin", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "user is not enrolled or is disabled") },
	{ "zed", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "user is not enrolled or is disabled") },
	{ "Alice", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "user is not enrolled or is disabled") },
	{ "ALICE", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "user is not enrolled or is disabled") },
	{ "alice2", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "user is not enrolled or is disabled") },
	{ "root@corp", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "user is not enrolled or is disabled") },
	{ "erin", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "user is not enrolled or is disabled") },
	{ "", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ "al ice", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ "-alice", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ ".alice", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ "alice\n", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ "alice:x", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaa", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ "al*ce", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ NULL, "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid user name") },
	{ "alice", "web-1", "deploy",
	  0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 300, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 1, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 1, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 60, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 60, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 300, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 300, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 1799, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 1799, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 1800, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 1800, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 1801, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 1800, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 3600, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 1800, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 86400, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 1800, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-1", "deploy", 1000000000000, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-1:deploy", 1800, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "alice", "web-3", "www-data",
	  0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-deploy", "jit:web-3:www-data", 300, "permit-agent-forwarding,permit-port-forwarding,p"
	  "ermit-pty", "") },
	{ "bob", "web-[0-9]", "deploy", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "invalid host name") },
	{ "alice", "dev-1", "deploy", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "web-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 600, "permit-pty", "") },
	{ "alice", "web-1", "alice", 600, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 600, "permit-pty", "") },
	{ "alice", "web-1", "alice", 28800, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 28800, "permit-pty", "") },
	{ "alice", "web-1", "alice", 28801, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 28800, "permit-pty", "") },
	{ "alice", "web-1", "alice", 99999, NULL, NULL, T_MON_1000Z,
	  ALLOW("dev-self", "jit:web-1:alice", 28800, "permit-pty", "") },
	{ "frank", "prod-1", "frank", 0, "hotfix", NULL, T_MON_1000Z,
	  DENY("deny-contractors-prod", "denied by rule 'deny-contractors-prod'") },
	{ "frank", "db-prod-1", "postgres", 0, "OPS-1", "10.1.1.1", T_MON_1000Z,
	  DENY("deny-contractors-prod", NULL) },
	{ "frank", "PROD-1.corp.example.", "root", 0, NULL, NULL, T_MON_1000Z,
	  DENY("deny-contractors-prod", NULL) },
	{ "frank", "web-1", "frank", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "frank", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "heidi", "web-1", "root", 0, "outage", "192.0.2.7", T_SAT_1200Z,
	  DENY("deny-root-web-weekend", NULL) },
	{ "heidi", "web-1", "root", 0, "outage", "192.0.2.7", T_SUN_1200Z,
	  DENY("deny-root-web-weekend", NULL) },
	{ "heidi", "web-1", "root", 0, "outage", "192.0.2.7", T_MON_1000Z,
	  ALLOW("breakglass", "jit:web-1:root", 300, "permit-pty", "source-address=192.0.2.7") },
	{ "heidi", "web-1", "admin", 0, "outage", "192.0.2.7", T_SAT_1200Z,
	  ALLOW("breakglass", "jit:web-1:admin", 300, "permit-pty", "source-address=192.0.2.7") },
	{ "heidi", "db-1", "root", 0, "outage", "192.0.2.7", T_SAT_1200Z,
	  ALLOW("breakglass", "jit:db-1:root", 300, "permit-pty", "source-address=192.0.2.7") },
	{ "heidi", "web-1", "root", 0, "outage", "192.0.2.7", UINT64_MAX,
	  ALLOW("breakglass", "jit:web-1:root", 300, "permit-pty", "source-address=192.0.2.7") },
	{ "alice", "prod-1", "alice", 0, "deploy", NULL, T_MON_1000Z,
	  ASK("prod-approval", "jit:prod-1:alice", 600, "permit-pty", "", 2, "leads") },
	{ "alice", "prod-1", "alice", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "rule 'prod-approval' matches, but a reason is re"
	  "quired") },
	{ "alice", "prod-1", "alice", 0, "", NULL, T_MON_1000Z,
	  DENY(NULL, "a reason is required") },
	{ "alice", "prod-1", "root", 0, "deploy", NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "bob", "prod-2", "bob", 7200, "x", NULL, T_MON_1000Z,
	  ASK("prod-approval", "jit:prod-2:bob", 7200, "permit-pty", "", 2, "leads") },
	{ "bob", "prod-2", "bob", 28801, "x", NULL, T_MON_1000Z,
	  ASK("prod-approval", "jit:prod-2:bob", 28800, "permit-pty", "", 2, "leads") },
	{ "grace", "prod-1", "grace", 0, "x", NULL, T_MON_1000Z,
	  ASK("prod-approval", "jit:prod-1:grace", 600, "permit-pty", "", 2, "leads") },
	{ "root", "prod-1", "root", 0, "x", NULL, T_MON_1000Z,
	  ASK("prod-approval", "jit:prod-1:root", 600, "permit-pty", "", 2, "leads") },
	{ "heidi", "prod-1", "heidi", 0, "x", NULL, T_MON_1000Z,
	  ASK("prod-approval", "jit:prod-1:heidi", 600, "permit-pty", "", 2, "leads") },
	{ "heidi", "prod-1", "heidi", 0, "x", "192.0.2.9", T_MON_1000Z,
	  ALLOW("breakglass", "jit:prod-1:heidi", 300, "permit-pty", "source-address=192.0.2.9") },
	{ "carol", "prod-1", "carol", 0, "x", NULL, T_MON_2000Z,
	  ASK("prod-approval", "jit:prod-1:carol", 600, "permit-pty", "", 2, "leads") },
	{ "carol", "prod-1", "carol", 0, NULL, NULL, T_MON_2000Z,
	  DENY(NULL, "a reason is required") },
	{ "carol", "prod-1", "carol", 0, "x", NULL, T_MON_1000Z,
	  ALLOW("ops-berlin-day", "jit:prod-1:carol", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_MON_2000Z,
	  DENY(NULL, "no rule allows") },
	{ "dave", "db-prod-9", "dave", 0, "y", NULL, T_MON_2000Z,
	  ASK("prod-approval", "jit:db-prod-9:dave", 600, "permit-pty", "", 2, "leads") },
	{ "alice", "stage-1", "app", 0, NULL, NULL, T_MON_1000Z,
	  ASK("grace-approval-3", "jit:stage-1:app", 600, "permit-pty", "", 3, "leads") },
	{ "grace", "stage-1", "app", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "needs 3 approvals but only 2 approvers other tha"
	  "n the requester exist") },
	{ "bob", "stage-1", "app", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_THU_2300,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_THU_2300,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_FRI_2159,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_FRI_2159,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_FRI_2200,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_FRI_2200,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_FRI_2330,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_FRI_2330,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_0000,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_0000,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_0300,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_0300,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_0559,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_0559,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_0600,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_0600,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_2300,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_SAT_2300,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_JUL_FRI_2159,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_JUL_FRI_2159,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_JUL_FRI_2200,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_JUL_FRI_2200,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_JUL_SAT_0559,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_JUL_SAT_0559,
	  ALLOW("ops-night", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_NY_JUL_SAT_0600,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_NY_JUL_SAT_0600,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_MON_0859,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_MON_0859,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_MON_0900,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_MON_0900,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_MON_1659,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_MON_1659,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_MON_1700,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_MON_1700,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_APR_MON_0859,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_APR_MON_0859,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_APR_MON_0900,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_APR_MON_0900,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_APR_MON_1659,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_APR_MON_1659,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_APR_MON_1700,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_APR_MON_1700,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_FRI_1000,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_FRI_1000,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_SUN_1000,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_SUN_1000,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_2100_MON_0930,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_2100_MON_0930,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 600, "permit-pty", "") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_2100_MON_1715,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_2100_MON_1715,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, T_BER_2100_MON_0859,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, T_BER_2100_MON_0859,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, UINT64_MAX,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, UINT64_MAX,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "root", 0, NULL, NULL, 0,
	  DENY(NULL, "no rule allows") },
	{ "dave", "prod-1", "root", 0, NULL, NULL, 0,
	  DENY(NULL, "no rule allows") },
	{ "carol", "prod-1", "carol", 0, NULL, NULL, T_KOL_SAT_0959,
	  DENY(NULL, "a reason is required") },
	{ "carol", "prod-1", "carol", 0, NULL, NULL, T_KOL_SAT_1000,
	  ALLOW("ops-berlin-day", "jit:prod-1:carol", 600, "permit-pty", "") },
	{ "carol", "prod-1", "carol", 0, NULL, NULL, T_KOL_SAT_1159,
	  ALLOW("ops-berlin-day", "jit:prod-1:carol", 600, "permit-pty", "") },
	{ "carol", "prod-1", "carol", 0, NULL, NULL, T_KOL_SAT_1200,
	  DENY(NULL, "a reason is required") },
	{ "carol", "prod-1", "carol", 0, NULL, NULL, T_KOL_FRI_1100,
	  DENY(NULL, "a reason is required") },
	{ "carol", "prod-1", "root", 7200, NULL, NULL, T_NY_SAT_0300,
	  ALLOW("ops-night", "jit:prod-1:root", 7200, "permit-pty", "") },
	{ "carol", "prod-1", "root", 7201, NULL, NULL, T_NY_SAT_0300,
	  ALLOW("ops-night", "jit:prod-1:root", 7200, "permit-pty", "") },
	{ "carol", "prod-1", "root", 7201, NULL, NULL, T_BER_MON_0900,
	  ALLOW("ops-berlin-day", "jit:prod-1:root", 7201, "permit-pty", "") },
	{ "root", "web-1", "root", 0, NULL, NULL, T_SUN_1200Z,
	  DENY("deny-root-web-weekend", NULL) },
	{ "root", "web-1", "root", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "bob", "db-1", "postgres", 0, "OPS-12 vacuum", "10.1.2.3", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-1:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0/8,10.1.2.3,2001:db8::/32") },
	{ "bob", "db-1", "postgres", 0, "OPS-12 vacuum", "::ffff:192.168.1.1", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-1:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0/8,192.168.1.1,2001:db8::/32") },
	{ "bob", "db-1", "postgres", 0, "OPS-12 vacuum", "2001:DB8::1", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-1:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0/8,2001:db8::/32,2001:db8::1") },
	{ "bob", "db-1", "postgres", 0, "OPS-12 vacuum", "2001:0db8:0000::0001", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-1:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0/8,2001:db8::/32,2001:db8::1") },
	{ "bob", "db-1", "postgres", 0, "OPS-12 vacuum", "192.0.2.1", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-1:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0/8,192.0.2.1,2001:db8::/32") },
	{ "bob", "db-1", "postgres", 0, "OPS-12 vacuum", "fe80::1", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-1:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0/8,2001:db8::/32,fe80::1") },
	{ "bob", "db-1", "postgres", 0, "OPS-12", "10.0.0.0", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-1:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0,10.0.0.0/8,2001:db8::/32") },
	{ "bob", "db-prod-1", "postgres", 0, "INC-7", "10.9.9.9", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-prod-1:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0/8,10.9.9.9,2001:db8::/32") },
	{ "bob", "db-1", "postgres", 0, NULL, "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "a reason is required") },
	{ "bob", "db-1", "postgres", 0, "", "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "a reason is required") },
	{ "bob", "db-1", "postgres", 0, "ops-12", "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "does not match the pattern") },
	{ "bob", "db-1", "postgres", 0, "OPS-", "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "does not match the pattern") },
	{ "bob", "db-1", "postgres", 0, "x OPS-12", "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "does not match the pattern") },
	{ "bob", "db-1", "postgres", 0, "TICKET-1", "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "does not match the pattern") },
	{ "bob", "db-1", "postgres", 0, "OPS-1", NULL, T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "bob", "db-1", "postgres", 0, "OPS-1", "", T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "bob", "db-1", "postgres", 0, "OPS-1", "999.1.1.1", T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "bob", "db-1", "postgres", 0, "OPS-1", "10.1.2", T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "bob", "db-1", "postgres", 0, "OPS-1", "localhost", T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "bob", "db-1", "postgres", 0, "OPS-1", "10.1.2.3/32", T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "bob", "db-1", "postgres", 0, "OPS-1", "::1%lo", T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "bob", "db-1", "postgres", 0, "OPS-1", "111111111111111111111111111111111111111111111111"
	  "111111111111111111111111111111111111111111111111"
	  "1111", T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "bob", "db-12", "postgres", 0, "OPS-1", "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "bob", "db-a", "postgres", 0, "OPS-1", "10.1.2.3", T_MON_1000Z,
	  ALLOW("db-ticket", "jit:db-a:postgres", 600, "", DB_CMD "source"
	  "-address=10.0.0.0/8,10.1.2.3,2001:db8::/32") },
	{ "alice", "db-1", "postgres", 0, "OPS-1", "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "bob", "db-1", "root", 0, "OPS-1", "10.1.2.3", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "heidi", "any-host", "root", 0, "pager", "198.51.100.4", T_MON_1000Z,
	  ALLOW("breakglass", "jit:any-host:root", 300, "permit-pty", "source-address=198.51.100.4") },
	{ "heidi", "any-host", "root", 60, "pager", "198.51.100.4", T_MON_1000Z,
	  ALLOW("breakglass", "jit:any-host:root", 60, "permit-pty", "source-address=198.51.100.4") },
	{ "heidi", "any-host", "root", 900, "pager", "198.51.100.4", T_MON_1000Z,
	  ALLOW("breakglass", "jit:any-host:root", 900, "permit-pty", "source-address=198.51.100.4") },
	{ "heidi", "any-host", "root", 901, "pager", "198.51.100.4", T_MON_1000Z,
	  ALLOW("breakglass", "jit:any-host:root", 900, "permit-pty", "source-address=198.51.100.4") },
	{ "heidi", "any-host", "root", 86400, "pager", "198.51.100.4", T_MON_1000Z,
	  ALLOW("breakglass", "jit:any-host:root", 900, "permit-pty", "source-address=198.51.100.4") },
	{ "heidi", "x", "nobody", 0, "r", "2001:db8::5", T_MON_1000Z,
	  ALLOW("breakglass", "jit:x:nobody", 300, "permit-pty", "source-address=2001:db8::5") },
	{ "heidi", "web-1", "root", 0, NULL, "198.51.100.4", T_MON_1000Z,
	  DENY(NULL, "a reason is required") },
	{ "heidi", "web-1", "root", 0, "pager", NULL, T_MON_1000Z,
	  DENY(NULL, "client's address") },
	{ "heidi", "web-1", "root", 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaa", "198.51.100.4", T_MON_1000Z,
	  ALLOW("breakglass", "jit:web-1:root", 300, "permit-pty", "source-address=198.51.100.4") },
	{ "heidi", "web-1", "root", 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaa", "198.51.100.4", T_MON_1000Z,
	  DENY(NULL, "longer than 1024") },
	{ "heidi", "web-1", "root", 0, "line\nbreak", "198.51.100.4", T_MON_1000Z,
	  DENY(NULL, "control characters") },
	{ "heidi", "web-1", "root", 0, "tab\there", "198.51.100.4", T_MON_1000Z,
	  DENY(NULL, "control characters") },
	{ "heidi", "web-1", "root", 0, "bell\007", "198.51.100.4", T_MON_1000Z,
	  DENY(NULL, "control characters") },
	{ "heidi", "web-1", "root", 0, "esc\033[0m", "198.51.100.4", T_MON_1000Z,
	  DENY(NULL, "control characters") },
	{ "heidi", "web-1", "root", 0, "del\177", "198.51.100.4", T_MON_1000Z,
	  DENY(NULL, "control characters") },
	{ "heidi", "web-1", "root", 0, "ünïcödé is fine", "198.51.100.4", T_MON_1000Z,
	  ALLOW("breakglass", "jit:web-1:root", 300, "permit-pty", "source-address=198.51.100.4") },
	{ "root", "build.ci", "builder", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("ci-builds", "jit:build.ci:builder", 3600, "permit-pty", "") },
	{ "root", "build.ci", "builder", 28800, NULL, NULL, T_MON_1000Z,
	  ALLOW("ci-builds", "jit:build.ci:builder", 28800, "permit-pty", "") },
	{ "root", "build.ci", "builder", 30000, NULL, NULL, T_MON_1000Z,
	  ALLOW("ci-builds", "jit:build.ci:builder", 28800, "permit-pty", "") },
	{ "root", "build.ci", "builder", 5, NULL, NULL, T_MON_1000Z,
	  ALLOW("ci-builds", "jit:build.ci:builder", 5, "permit-pty", "") },
	{ "root", "BUILD.CI.corp.example.", "builder", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("ci-builds", "jit:build.ci:builder", 3600, "permit-pty", "") },
	{ "root", "build.cix", "builder", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "root", "xbuild.ci", "builder", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "build.ci", "builder", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "bob", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "carol", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "dave", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "frank", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "grace", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "heidi", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "root", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "o.dd_name-1", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "mail@corp", "x.lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:x.lab:lab", 600, EXT_LAB, "") },
	{ "alice", "a.b.lab.corp.example", "lab", 0, NULL, NULL, T_MON_1000Z,
	  ALLOW("lab-anyone", "jit:a.b.lab:lab", 600, EXT_LAB, "") },
	{ "alice", "lab", "lab", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "x.lab", "root", 0, NULL, NULL, T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "alice", "nowhere-1", "x", 0, "r", "10.0.0.1", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "dave", "z", "root", 0, "r", "10.0.0.1", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "grace", "q.r", "admin", 0, "r", "10.0.0.1", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "root", "anything", "root", 0, "r", "10.0.0.1", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "frank", "nowhere", "frank", 0, "r", "10.0.0.1", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
	{ "bob", "prod-db", "postgres", 0, "r", "10.0.0.1", T_MON_1000Z,
	  DENY(NULL, "no rule allows") },
};

static char *join_options(const struct cert_option *o, size_t n, bool values)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s", i ? (values ? ";" : ",") : "", o[i].name);
		if (values)
			fprintf(f, "=%s", o[i].value ? o[i].value : "");
	}
	fclose(f);
	return s;
}

static char *join_strv(char *const *v, size_t n)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? "," : "", v[i]);
	fclose(f);
	return s;
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Compares one row; prints every difference and returns false when there is one. */
static bool check_row(const struct policy *p, size_t i, const struct row *w)
{
	struct policy_request q = { .user = w->user, .host = w->host, .login = w->login,
				    .ttl_sec = w->ttl, .reason = w->reason,
				    .client_addr = w->client, .now = w->now };
	struct policy_decision *d = NULL;
	char *ext, *crit, *from;
	bool ok = true;

	assert_int_equal(policy_eval(p, &q, &d), 0);
	ext = join_options(d->extensions, d->n_extensions, false);
	crit = join_options(d->critical, d->n_critical, true);
	from = join_strv(d->approver_groups, d->n_approver_groups);
#define EXPECT(cond, ...)                                                       \
	do {                                                                    \
		if (!(cond)) {                                                  \
			print_error("row %zu (%s as %s on %s): ", i, w->user,   \
				    w->login, w->host);                         \
			print_error(__VA_ARGS__);                               \
			print_error("\n");                                     \
			ok = false;                                             \
		}                                                               \
	} while (0)
	EXPECT(d->verdict == w->verdict, "verdict %s, expected %s (%s)",
	       policy_verdict_name(d->verdict), policy_verdict_name(w->verdict), d->reason);
	EXPECT(same(d->rule, w->rule), "rule %s, expected %s", d->rule ? d->rule : "(none)",
	       w->rule ? w->rule : "(none)");
	EXPECT(w->principal ? d->n_principals == 1 && !strcmp(d->principals[0], w->principal) :
			      d->n_principals == 0,
	       "principal %s, expected %s", d->n_principals ? d->principals[0] : "(none)",
	       w->principal ? w->principal : "(none)");
	EXPECT(d->ttl_sec == w->ttl_out, "ttl %llu, expected %llu",
	       (unsigned long long)d->ttl_sec, (unsigned long long)w->ttl_out);
	EXPECT(!strcmp(ext, w->ext), "extensions '%s', expected '%s'", ext, w->ext);
	EXPECT(!strcmp(crit, w->crit), "critical '%s', expected '%s'", crit, w->crit);
	EXPECT(d->approvals_required == w->approvals, "approvals %u, expected %u",
	       d->approvals_required, w->approvals);
	EXPECT(!strcmp(from, w->approvers), "approvers '%s', expected '%s'", from, w->approvers);
	EXPECT(!w->why || strstr(d->reason, w->why), "reason '%s' lacks '%s'", d->reason, w->why);
	EXPECT(d->explanation && strstr(d->explanation, "decision: "), "no decision line");
	EXPECT(policy_decision_check(p, &q, d) == 0, "decision breaks an invariant");
	EXPECT(!strcmp(d->policy_version, policy_version(p)), "policy version differs");
#undef EXPECT
	free(ext);
	free(crit);
	free(from);
	policy_decision_free(d);
	return ok;
}

static void test_every_row_of_the_table_gets_its_exact_decision(void **state)
{
	struct policy *p = testpol_load(policy_yaml);
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(rows); i++)
		bad += !check_row(p, i, &rows[i]);
	policy_unref(p);
	if (bad)
		fail_msg("%zu of %zu rows differ", bad, ELEMENTSOF(rows));
}

static void test_the_table_covers_two_hundred_requests(void **state)
{
	(void)state;
	assert_true(ELEMENTSOF(rows) >= 200);
}

/* The explanation names every rule for the requester, in file order, counts the rules that
 * are not for the requester, and names the rule that decided. */
static void test_explanation_lists_the_rules_for_the_requester_and_the_decision(void **state)
{
	static const char *const others[] = { "deny-contractors-prod", "dev-self", "dev-deploy",
					      "db-ticket", "breakglass", "ci-builds", "never",
					      "nobody-group", "grace-approval-3" };
	struct policy *p = testpol_load(policy_yaml);
	struct policy_request q = { .user = "carol", .host = "prod-1", .login = "carol",
				    .reason = "x", .now = T_MON_2000Z };
	struct policy_decision *d = NULL;
	const char *at;

	(void)state;
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_int_equal(d->verdict, POLICY_NEEDS_APPROVAL);
	assert_string_equal(d->host, "prod-1");
	at = d->explanation;
	for (size_t i = 0; i < p->n_rules; i++) {
		char needle[128];
		bool other = false;
		for (size_t j = 0; j < ELEMENTSOF(others); j++)
			other |= !strcmp(p->rules[i].name, others[j]);
		snprintf(needle, sizeof needle, "rule '%s' (%s): ", p->rules[i].name,
			 p->rules[i].deny ? "deny" : "allow");
		if (other) {
			assert_null(strstr(d->explanation, needle));
			continue;
		}
		at = strstr(at, needle);
		assert_non_null(at);
	}
	assert_non_null(strstr(d->explanation, "\nskipped 9 of 16 rules: user 'carol' is not in "
					       "their users or groups\n"));
	assert_non_null(strstr(d->explanation,
			       "rule 'ops-berlin-day' (allow): does not apply: outside its time "
			       "windows (it is Mon 21:00 in Europe/Berlin)"));
	assert_non_null(strstr(d->explanation, "rule 'prod-approval' (allow): applies: allows "
					       "with 2 approvals from [leads]"));
	assert_non_null(strstr(d->explanation, "decision: needs approval by rule "
					       "'prod-approval'"));
	assert_string_equal(d->reason, "carol@prod-1 for 10m needs 2 approvals (rule "
				       "'prod-approval')");
	policy_decision_free(d);
	policy_unref(p);
}

static void test_denial_by_a_deny_rule_says_deny_rules_win(void **state)
{
	struct policy *p = testpol_load(policy_yaml);
	struct policy_request q = { .user = "frank", .host = "prod-1", .login = "frank",
				    .reason = "x", .now = T_MON_1000Z };
	struct policy_decision *d = NULL;

	(void)state;
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_int_equal(d->verdict, POLICY_DENY);
	assert_string_equal(d->reason, "denied by rule 'deny-contractors-prod'");
	assert_non_null(strstr(d->explanation, "rule 'prod-approval' (allow): applies"));
	assert_non_null(strstr(d->explanation, "decision: denied by deny rule "
					       "'deny-contractors-prod' (deny rules win)"));
	policy_decision_free(d);
	policy_unref(p);
}

static void test_default_denial_names_user_login_and_host(void **state)
{
	struct policy *p = testpol_load(policy_yaml);
	struct policy_request q = { .user = "alice", .host = "Nowhere.corp.example.",
				    .login = "root", .now = T_MON_1000Z };
	struct policy_decision *d = NULL;

	(void)state;
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_int_equal(d->verdict, POLICY_DENY);
	assert_null(d->rule);
	assert_string_equal(d->host, "nowhere");
	assert_string_equal(d->reason,
			    "no rule allows user 'alice' to log in as 'root' on 'nowhere'");
	assert_non_null(strstr(d->explanation, "decision: denied by default"));
	policy_decision_free(d);
	policy_unref(p);
}

static void test_capped_ttl_is_said_in_the_reason(void **state)
{
	struct policy *p = testpol_load(policy_yaml);
	struct policy_request q = { .user = "alice", .host = "web-1", .login = "deploy",
				    .ttl_sec = 7200, .now = T_MON_1000Z };
	struct policy_decision *d = NULL;

	(void)state;
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_string_equal(d->reason, "deploy@web-1 allowed for 30m (asked for 2h; capped at "
				       "the rule's maximum) (rule 'dev-deploy')");
	policy_decision_free(d);
	policy_unref(p);
}

static void test_decision_check_refuses_a_tampered_decision(void **state)
{
	struct policy *p = testpol_load(policy_yaml);
	struct policy_request q = { .user = "alice", .host = "web-1", .login = "deploy",
				    .now = T_MON_1000Z };
	struct policy_decision *d = NULL;
	char *saved;

	(void)state;
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_int_equal(policy_decision_check(p, &q, d), 0);
	d->ttl_sec = 1801; /* over the rule's 30m */
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	d->ttl_sec = 300;
	saved = d->principals[0];
	d->principals[0] = (char *)"jit:web-2:deploy";
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	d->principals[0] = saved;
	d->n_principals = 0;
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	d->n_principals = 1;
	saved = d->extensions[0].name;
	d->extensions[0].name = (char *)"permit-X11-forwarding";
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	d->extensions[0].name = saved;
	assert_int_equal(policy_decision_check(p, &q, d), 0);
	d->verdict = POLICY_NEEDS_APPROVAL;
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	d->verdict = POLICY_ALLOW;
	q.login = "www-data";
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	policy_decision_free(d);
	policy_unref(p);
}

static struct cert_option *find_option(struct policy_decision *d, const char *name)
{
	for (size_t i = 0; i < d->n_critical; i++)
		if (!strcmp(d->critical[i].name, name))
			return &d->critical[i];
	return NULL;
}

/* Regression: any non-empty source-address passed the check, so a decision bound to another
 * address, or to fewer or more blocks than the rule's, was taken as the rule's. */
static void test_decision_check_refuses_a_tampered_source_address(void **state)
{
	static const char *const tampered[] = {
		"0.0.0.0/0",					/* anything at all */
		"10.0.0.0/8,2001:db8::/32,10.9.9.9",		/* another client */
		"10.0.0.0/8,10.1.2.3",				/* a block dropped */
		"10.0.0.0/8,10.1.2.3,192.0.2.0/24,2001:db8::/32", /* a block added */
		"10.1.2.3,10.0.0.0/8,2001:db8::/32",		/* not sorted */
		"10.0.0.0/8,10.1.2.3,2001:db8::/32,",		/* an empty entry */
		"10.0.0.0/8,10.1.2.3,10.1.2.3,2001:db8::/32",	/* a duplicate */
		"10.0.0.0/8, 10.1.2.3,2001:db8::/32",		/* a space */
		"",
	};
	struct policy *p = testpol_load(policy_yaml);
	struct policy_request q = { .user = "bob", .host = "db-1", .login = "postgres",
				    .reason = "OPS-12 vacuum", .client_addr = "10.1.2.3",
				    .now = T_MON_1000Z };
	struct policy_decision *d = NULL;
	struct cert_option *o;
	char *saved;

	(void)state;
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_int_equal(d->verdict, POLICY_ALLOW);
	assert_non_null(o = find_option(d, "source-address"));
	assert_string_equal(o->value, "10.0.0.0/8,10.1.2.3,2001:db8::/32");
	assert_int_equal(policy_decision_check(p, &q, d), 0);
	saved = o->value;
	for (size_t i = 0; i < ELEMENTSOF(tampered); i++) {
		o->value = (char *)tampered[i];
		if (policy_decision_check(p, &q, d) != JIT_E_POLICY)
			fail_msg("source-address '%s' passed the check", tampered[i]);
	}
	o->value = saved;
	/* the same decision checked against a request from another address, or from none */
	q.client_addr = "10.9.9.9";
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	q.client_addr = NULL;
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	/* the address as the client wrote it, canonicalised the same way: still the same */
	q.client_addr = "::ffff:10.1.2.3";
	assert_int_equal(policy_decision_check(p, &q, d), 0);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_decision_check_refuses_a_tampered_force_command(void **state)
{
	struct policy *p = testpol_load(policy_yaml);
	struct policy_request q = { .user = "bob", .host = "db-1", .login = "postgres",
				    .reason = "OPS-12 vacuum", .client_addr = "10.1.2.3",
				    .now = T_MON_1000Z };
	struct policy_decision *d = NULL;
	struct cert_option *o;
	char *saved;

	(void)state;
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_non_null(o = find_option(d, "force-command"));
	saved = o->value;
	o->value = (char *)"/bin/sh";
	assert_int_equal(policy_decision_check(p, &q, d), JIT_E_POLICY);
	o->value = saved;
	assert_int_equal(policy_decision_check(p, &q, d), 0);
	policy_decision_free(d);
	policy_unref(p);
}

struct worker {
	struct policy *p;
	size_t bad;
};

static void *evaluate_all(void *arg)
{
	struct worker *w = arg;
	struct policy *p = w->p; /* a reference taken for this thread */

	for (int round = 0; round < 5; round++)
		for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
			const struct row *r = &rows[i];
			struct policy_request q = { .user = r->user, .host = r->host,
						    .login = r->login, .ttl_sec = r->ttl,
						    .reason = r->reason, .client_addr = r->client,
						    .now = r->now };
			struct policy_decision *d = NULL;
			if (policy_eval(p, &q, &d) != 0 || d->verdict != r->verdict ||
			    !same(d->rule, r->rule) || d->ttl_sec != r->ttl_out)
				w->bad++;
			policy_decision_free(d);
		}
	policy_unref(p);
	return NULL;
}

/* One loaded policy serves many threads; each holds its own reference. */
static void test_threads_evaluating_at_once_get_the_same_decisions(void **state)
{
	struct policy *p = testpol_load(policy_yaml);
	struct worker w[6];
	pthread_t t[6];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		w[i] = (struct worker){ .p = policy_ref(p) };
		assert_int_equal(pthread_create(&t[i], NULL, evaluate_all, &w[i]), 0);
	}
	policy_unref(p); /* the workers' references keep it alive */
	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row_of_the_table_gets_its_exact_decision),
		cmocka_unit_test(test_the_table_covers_two_hundred_requests),
		cmocka_unit_test(test_explanation_lists_the_rules_for_the_requester_and_the_decision),
		cmocka_unit_test(test_denial_by_a_deny_rule_says_deny_rules_win),
		cmocka_unit_test(test_default_denial_names_user_login_and_host),
		cmocka_unit_test(test_capped_ttl_is_said_in_the_reason),
		cmocka_unit_test(test_decision_check_refuses_a_tampered_decision),
		cmocka_unit_test(test_decision_check_refuses_a_tampered_source_address),
		cmocka_unit_test(test_decision_check_refuses_a_tampered_force_command),
		cmocka_unit_test(test_threads_evaluating_at_once_get_the_same_decisions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
