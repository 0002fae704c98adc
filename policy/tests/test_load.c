/* SPDX-License-Identifier: ISC */
/*
 * test_load.c - loading and validating policy documents: every kind of error with its exact
 * "FILE:LINE:COLUMN: message", the YAML limits, the version, and the example policy.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "key.h"
#include "names.h"
#include "testpol.h"
#include "util.h"

#define USERS "users:\n  alice: [" KEY1 "]\n  bob: [" KEY2 "]\n"	/* lines 1-3 */
/* lines 4-8 */
#define RULE_HEAD \
	"rules:\n  - name: r\n    users: [alice]\n    hosts: [web-1]\n    logins: [root]\n"

struct error_case {
	const char *yaml;
	const char *error;
};

static const struct error_case error_cases[] = {
	/* the document */
	{ "", "t.yaml:1:1: empty document (a policy is a mapping)" },
	{ "# nothing but a comment\n", "t.yaml:1:1: empty document (a policy is a mapping)" },
	{ "~\n", "t.yaml:1:1: a policy must be a mapping, not empty" },
	{ "- a\n", "t.yaml:1:1: a policy must be a mapping, not a list" },
	{ "bogus: 1\n", "t.yaml:1:1: unknown key 'bogus' in the policy (expected version, settings, "
		       "users, groups, hosts or rules)" },
	{ "version: 2\n", "t.yaml:1:10: version must be 1" },
	{ "version: '1'\n", "t.yaml:1:10: version must be 1" },
	{ "version: 1\nversion: 1\n", "t.yaml:2:1: duplicate key 'version' (first at line 1)" },
	{ "version: 1\n---\nversion: 1\n", "t.yaml:2:1: only one YAML document is allowed" },
	{ "a: &x 1\nb: *x\n", "t.yaml:1:4: YAML anchors and aliases are not allowed" },
	{ "a: [1, *x]\n", "t.yaml:1:8: YAML anchors and aliases are not allowed" },
	{ "version: !!int 1\n", "t.yaml:1:10: YAML tags are not allowed" },
	{ "version: !local 1\n", "t.yaml:1:10: YAML tags are not allowed" },
	{ "? [a]\n: b\n", "t.yaml:1:3: mapping keys must be plain text" },
	{ "version: \"\\0\"\n", "t.yaml:1:10: NUL character in text" },
	{ "users: [\n", "t.yaml:2:1: YAML: did not find expected node content while parsing a "
			"flow node" },
	{ "version: 1\n  bad: indent\n", "t.yaml:2:6: YAML: mapping values are not allowed in "
					 "this context" },
	{ "version: \"unterminated\n", "t.yaml:2:1: YAML: found unexpected end of stream while "
				       "scanning a quoted scalar" },
	{ "version: 1\tx: 2\n", "t.yaml:1:13: YAML: mapping values are not allowed in this context" },
	/* settings */
	{ "settings: []\n", "t.yaml:1:11: settings must be a mapping, not a list" },
	{ "settings:\n  colour: blue\n", "t.yaml:2:3: unknown key 'colour' in settings (expected "
					 "domain_suffix, default_ttl or max_ttl)" },
	{ "settings:\n  default_ttl: 15x\n", "t.yaml:2:16: default_ttl must be a duration such as "
					     "90s, 15m, 1h or 1h30m, or whole minutes" },
	{ "settings:\n  max_ttl: 25h\n", "t.yaml:2:12: max_ttl 25h is above the hard cap of 24h" },
	{ "settings:\n  max_ttl: 1441\n", "t.yaml:2:12: max_ttl 1441 is above the hard cap of 24h" },
	{ "settings:\n  max_ttl: 86401s\n", "t.yaml:2:12: max_ttl 86401s is above the hard cap "
					    "of 24h" },
	{ "settings:\n  default_ttl: 2h\n", "t.yaml:2:16: default_ttl 2h is above max_ttl 1h" },
	{ "settings:\n  default_ttl: 2h\n  max_ttl: 90m\n", "t.yaml:2:16: default_ttl 2h is above "
							   "max_ttl 1h30m" },
	{ "settings:\n  domain_suffix: ex ample\n", "t.yaml:2:18: domain_suffix 'ex ample' is not "
						    "a domain name" },
	{ "settings:\n  domain_suffix: .\n", "t.yaml:2:18: domain_suffix '.' is not a domain "
					     "name" },
	{ "settings:\n  domain_suffix:\n", "t.yaml:2:17: domain_suffix must be text, not empty" },
	/* users and keys */
	{ "users: [a]\n", "t.yaml:1:8: users must be a mapping, not a list" },
	{ "users:\n  al ice: [" KEY1 "]\n", "t.yaml:2:3: user name 'al ice' is not safe (letters, "
					     "digits, '.', '_', '-', '@'; not starting with '.' "
					     "or '-')" },
	{ "users:\n  -bob: [" KEY1 "]\n", "t.yaml:2:3: user name '-bob' is not safe (letters, "
					   "digits, '.', '_', '-', '@'; not starting with '.' or "
					   "'-')" },
	{ "users:\n  alice: [" KEY1 "]\n  alice: [" KEY2 "]\n",
	  "t.yaml:3:3: duplicate key 'alice' (first at line 2)" },
	{ "users:\n  alice: [" KEY1 "]\n  bob: [" KEY1 "]\n",
	  "t.yaml:3:9: this key is already enrolled for user 'alice' (line 2)" },
	{ "users:\n  alice: [" KEY1 " laptop, " KEY1 " phone]\n",
	  "t.yaml:2:100: this key is already enrolled for user 'alice' (line 2)" },
	{ "users:\n  alice: {disabled: false}\n", "t.yaml:2:10: user 'alice' has no keys" },
	{ "users:\n  alice: []\n", "t.yaml:2:10: user 'alice' has no keys" },
	{ "users:\n  alice: {keys: []}\n", "t.yaml:2:17: user 'alice' has no keys" },
	{ "users:\n  alice: {keys: [" KEY1 "], shell: bash}\n",
	  "t.yaml:2:101: unknown key 'shell' in a user (expected keys, groups or disabled)" },
	{ "users:\n  alice: {keys: [" KEY1 "], disabled: yes}\n",
	  "t.yaml:2:111: disabled must be true or false" },
	{ "users:\n  alice: {keys: [" KEY1 "], disabled: 'true'}\n",
	  "t.yaml:2:111: disabled must be true or false" },
	{ "users:\n  alice: " KEY1 "\n", "t.yaml:2:10: a user must be a mapping, not text" },
	{ "users:\n  alice: {keys: " KEY1 "}\n", "t.yaml:2:17: keys must be a list, not text" },
	{ "users:\n  alice: [[" KEY1 "]]\n", "t.yaml:2:11: a key must be text, not a list" },
	/* groups */
	{ USERS "groups:\n  g: [zed]\n", "t.yaml:5:7: group members: 'zed' is not a user defined "
					 "under users" },
	{ USERS "groups:\n  g: {users: [alice, alice]}\n", "t.yaml:5:22: users: 'alice' is listed "
							   "twice" },
	{ USERS "groups:\n  g: {groups: [h]}\n", "t.yaml:5:16: groups: 'h' is not a group defined "
						 "under groups" },
	{ USERS "groups:\n  g: {members: [alice]}\n", "t.yaml:5:7: unknown key 'members' in a "
						      "group (expected users or groups)" },
	{ USERS "groups:\n  a: {groups: [b]}\n  b: {groups: [a]}\n",
	  "t.yaml:6:3: groups form a cycle: a -> b -> a" },
	{ USERS "groups:\n  a: {groups: [a]}\n", "t.yaml:5:3: groups form a cycle: a -> a" },
	{ USERS "groups:\n  a: {groups: [b]}\n  b: {groups: [c]}\n  c: {groups: [a], users: [bob]}\n",
	  "t.yaml:7:3: groups form a cycle: a -> b -> c -> a" },
	{ USERS "groups:\n  'g 1': [alice]\n", "t.yaml:5:3: group name 'g 1' is not safe (letters, "
					       "digits, '.', '_', '-'; not starting with '.' or "
					       "'-')" },
	{ USERS "groups:\n  g: ['*']\n", "t.yaml:5:6: group 'g': '*' is not allowed in a group" },
	{ USERS "groups:\n  g: alice\n", "t.yaml:5:6: a group must be a mapping, not text" },
	/* hosts */
	{ "hosts:\n  'web[0-9': [web]\n", "t.yaml:2:3: host 'web[0-9' has '[' without ']'" },
	{ "hosts:\n  web_1: [web]\n", "t.yaml:2:3: host 'web_1' is not a host glob (letters, "
				       "digits, '-', '.', '*', '?', [...])" },
	{ "hosts:\n  web[]: [web]\n", "t.yaml:2:3: host 'web[]' has an empty bracket expression" },
	{ "hosts:\n  web[a_]: [web]\n", "t.yaml:2:3: host 'web[a_]' has a bracket expression with "
					 "a character other than a-z, 0-9, '-' and '.'" },
	{ "hosts:\n  'web\\1': [web]\n", "t.yaml:2:3: host 'web\\1' is not a host glob (letters, "
					    "digits, '-', '.', '*', '?', [...])" },
	{ "hosts:\n  '.': [web]\n", "t.yaml:2:3: host '.' is empty or longer than a host name" },
	{ "hosts:\n  Web-1: [a]\n  web-1.: [b]\n",
	  "t.yaml:3:3: host 'web-1.' is the same as 'Web-1' (line 2)" },
	{ "settings:\n  domain_suffix: corp.example\nhosts:\n  web-1: [a]\n  WEB-1.CORP.EXAMPLE: [b]\n",
	  "t.yaml:5:3: host 'WEB-1.CORP.EXAMPLE' is the same as 'web-1' (line 4)" },
	{ "hosts:\n  web-1: [a b]\n", "t.yaml:2:11: host labels: 'a b' is not a safe name (letters, "
				      "digits, '.', '_', '-'; not starting with '.' or '-')" },
	{ "hosts:\n  web-1: web\n", "t.yaml:2:10: host labels must be a list, not text" },
	/* rules: shape */
	{ "rules: {}\n", "t.yaml:1:8: rules must be a list, not a mapping" },
	{ "rules:\n  - r\n", "t.yaml:2:5: a rule must be a mapping, not text" },
	{ USERS "rules:\n  - users: [alice]\n    hosts: [web-1]\n    logins: [root]\n",
	  "t.yaml:5:5: rule has no name" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: [a], logins: [root]}\n"
		"  - {name: r, users: [bob], hosts: [b], logins: [root]}\n",
	  "t.yaml:6:12: rule name 'r' is used twice (first at line 5)" },
	{ USERS "rules:\n  - {name: 'r 1', users: [alice], hosts: [a], logins: [root]}\n",
	  "t.yaml:5:12: rule name 'r 1' is not safe (letters, digits, '.', '_', '-'; not starting "
	  "with '.' or '-')" },
	{ USERS "rules:\n  - {name: r, hosts: [a], logins: [root]}\n",
	  "t.yaml:5:5: rule 'r' names no users or groups (write users: [] for nobody)" },
	{ USERS "rules:\n  - {name: r, users: [alice], logins: [root]}\n",
	  "t.yaml:5:5: rule 'r' names no hosts or host_labels (write hosts: [] for none)" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: [a]}\n",
	  "t.yaml:5:5: rule 'r' names no logins (write logins: [] for none)" },
	{ USERS RULE_HEAD "    colour: red\n",
	  "t.yaml:9:5: unknown key 'colour' in a rule (expected name, effect, users, groups, hosts, "
	  "host_labels, logins, when, default_ttl, max_ttl, extensions, approvals, reason, "
	  "source_address or force_command)" },
	{ USERS RULE_HEAD "    effect: deny\n    colour: red\n",
	  "t.yaml:10:5: unknown key 'colour' in a deny rule (expected name, effect, users, groups, "
	  "hosts, host_labels, logins or when)" },
	{ USERS RULE_HEAD "    effect: maybe\n", "t.yaml:9:13: effect must be allow or deny, not "
						  "'maybe'" },
	{ USERS RULE_HEAD "    effect: deny\n    approvals: none\n",
	  "t.yaml:10:5: 'approvals' has no meaning in a deny rule" },
	{ USERS RULE_HEAD "    effect: deny\n    max_ttl: 5m\n",
	  "t.yaml:10:5: 'max_ttl' has no meaning in a deny rule" },
	/* rules: references */
	{ USERS "rules:\n  - {name: r, users: [ghost], hosts: [a], logins: [root]}\n",
	  "t.yaml:5:23: users: 'ghost' is not a user defined under users" },
	{ USERS "rules:\n  - {name: r, groups: [ghost], hosts: [a], logins: [root]}\n",
	  "t.yaml:5:24: groups: 'ghost' is not a group defined under groups" },
	{ USERS "rules:\n  - {name: r, users: [alice], host_labels: [nolabel], logins: [root]}\n",
	  "t.yaml:5:45: host_labels: 'nolabel' is not a label of any host under hosts" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: ['web_[1]'], logins: [root]}\n",
	  "t.yaml:5:39: hosts: 'web_[1]' is not a host glob (letters, digits, '-', '.', '*', '?', "
	  "[...])" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: [web-1, WEB-1.], logins: [root]}\n",
	  "t.yaml:5:46: hosts: 'WEB-1.' is listed twice" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: [a], logins: [ro ot]}\n",
	  "t.yaml:5:52: logins: 'ro ot' is not a safe login name" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: [a], logins: ['${host}']}\n",
	  "t.yaml:5:52: logins: '${host}' uses an unknown variable (only ${user}, alone, is known)" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: [a], logins: ['adm-${user}']}\n",
	  "t.yaml:5:52: logins: 'adm-${user}' uses an unknown variable (only ${user}, alone, is "
	  "known)" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: [a], logins: [root, root]}\n",
	  "t.yaml:5:58: logins: 'root' is listed twice" },
	{ USERS "rules:\n  - {name: r, users: [alice], hosts: [a], logins: root}\n",
	  "t.yaml:5:51: logins must be a list, not text" },
	/* rules: TTLs, extensions */
	{ USERS RULE_HEAD "    max_ttl: 2h\n", "t.yaml:9:14: max_ttl 2h is above the policy max_ttl "
					    "1h (settings)" },
	{ USERS RULE_HEAD "    max_ttl: 25h\n", "t.yaml:9:14: max_ttl 25h is above the hard cap of "
					     "24h" },
	{ USERS RULE_HEAD "    default_ttl: 45m\n    max_ttl: 30m\n",
	  "t.yaml:9:18: default_ttl 45m is above max_ttl 30m" },
	{ USERS RULE_HEAD "    default_ttl: 2h\n", "t.yaml:9:18: default_ttl 2h is above max_ttl "
						"1h" },
	{ USERS RULE_HEAD "    default_ttl: 0\n", "t.yaml:9:18: default_ttl must be a duration such "
					       "as 90s, 15m, 1h or 1h30m, or whole minutes" },
	{ USERS RULE_HEAD "    extensions: [permit-everything]\n",
	  "t.yaml:9:18: extensions: 'permit-everything' is not a known extension "
	  "(no-touch-required, permit-X11-forwarding, permit-agent-forwarding, "
	  "permit-port-forwarding, permit-pty, permit-user-rc)" },
	{ USERS RULE_HEAD "    extensions: [permit-pty, permit-pty]\n",
	  "t.yaml:9:30: extensions: 'permit-pty' is listed twice" },
	/* rules: approvals */
	{ USERS "groups:\n  g: [alice]\n" RULE_HEAD "    approvals: {count: 0, from: [g]}\n",
	  "t.yaml:11:24: approvals count must be a whole number from 1 to 16" },
	{ USERS "groups:\n  g: [alice]\n" RULE_HEAD "    approvals: {count: 17, from: [g]}\n",
	  "t.yaml:11:24: approvals count must be a whole number from 1 to 16" },
	{ USERS "groups:\n  g: [alice]\n" RULE_HEAD "    approvals: {count: 1, from: [h]}\n",
	  "t.yaml:11:34: approvals from: 'h' is not a group defined under groups" },
	{ USERS "groups:\n  g: [alice]\n" RULE_HEAD "    approvals: {count: 1}\n",
	  "t.yaml:11:16: approvals needs both count and from" },
	{ USERS "groups:\n  g: [alice]\n" RULE_HEAD "    approvals: {count: 1, from: []}\n",
	  "t.yaml:11:33: approvals from must name at least one group" },
	{ USERS "groups:\n  g: [alice]\n" RULE_HEAD "    approvals: {count: 2, from: [g]}\n",
	  "t.yaml:11:16: approvals count 2 is more than the 1 enabled members of its groups" },
	{ USERS "groups:\n  g: [alice]\n" RULE_HEAD "    approvals: yes\n",
	  "t.yaml:11:16: approvals must be none or a mapping {count: N, from: [groups]}" },
	{ USERS "groups:\n  g: [alice]\n" RULE_HEAD "    approvals: {count: 1, from: [g], by: me}\n",
	  "t.yaml:11:38: unknown key 'by' in approvals (expected count or from)" },
	/* rules: reason */
	{ USERS RULE_HEAD "    reason: optional\n",
	  "t.yaml:9:13: reason must be required or a mapping {required: true, pattern: ...}" },
	{ USERS RULE_HEAD "    reason: {required: maybe}\n",
	  "t.yaml:9:24: required must be true or false" },
	{ USERS RULE_HEAD "    reason: {why: x}\n",
	  "t.yaml:9:14: unknown key 'why' in reason (expected required or pattern)" },
	/* rules: time windows */
	{ USERS RULE_HEAD "    when: always\n", "t.yaml:9:11: when must be a mapping, not text" },
	{ USERS RULE_HEAD "    when: {hours: 9-17}\n", "t.yaml:9:19: hours '9-17' must look like "
						    "09:00-17:30 (24-hour clock; 24:00 may end a "
						    "window)" },
	{ USERS RULE_HEAD "    when: {hours: '24:00-01:00'}\n",
	  "t.yaml:9:19: hours '24:00-01:00' must look like 09:00-17:30 (24-hour clock; 24:00 may "
	  "end a window)" },
	{ USERS RULE_HEAD "    when: {hours: '09:60-10:00'}\n",
	  "t.yaml:9:19: hours '09:60-10:00' must look like 09:00-17:30 (24-hour clock; 24:00 may "
	  "end a window)" },
	{ USERS RULE_HEAD "    when: {hours: '09:00-09:00'}\n",
	  "t.yaml:9:19: hours '09:00-09:00' is an empty window" },
	{ USERS RULE_HEAD "    when: {days: [monday]}\n",
	  "t.yaml:9:19: day 'monday' is not one of sun, mon, tue, wed, thu, fri, sat or a range "
	  "such as mon-fri" },
	{ USERS RULE_HEAD "    when: {days: [mon-funday]}\n",
	  "t.yaml:9:19: day 'mon-funday' is not one of sun, mon, tue, wed, thu, fri, sat or a range "
	  "such as mon-fri" },
	{ USERS RULE_HEAD "    when: {days: mon}\n", "t.yaml:9:18: days must be a list, not text" },
	{ USERS RULE_HEAD "    when: {timezone: Mars/Olympus}\n",
	  "t.yaml:9:22: timezone 'Mars/Olympus' is not a known time zone (IANA names such as "
	  "Europe/Berlin or UTC)" },
	{ USERS RULE_HEAD "    when: {timezone: ../../etc/passwd}\n",
	  "t.yaml:9:22: timezone '../../etc/passwd' is not a known time zone (IANA names such as "
	  "Europe/Berlin or UTC)" },
	{ USERS RULE_HEAD "    when: {timezone: /etc/localtime}\n",
	  "t.yaml:9:22: timezone '/etc/localtime' is not a known time zone (IANA names such as "
	  "Europe/Berlin or UTC)" },
	{ USERS RULE_HEAD "    when: {timezone: Europe}\n",
	  "t.yaml:9:22: timezone 'Europe' is not a known time zone (IANA names such as "
	  "Europe/Berlin or UTC)" },
	{ USERS RULE_HEAD "    when: {tz: UTC}\n",
	  "t.yaml:9:12: unknown key 'tz' in a time window (expected days, hours or timezone)" },
	{ USERS RULE_HEAD "    when: [{days: [mon]}, []]\n",
	  "t.yaml:9:27: a time window must be a mapping, not a list" },
	/* rules: source address and force command */
	{ USERS RULE_HEAD "    source_address: [10.0.0.1/8]\n",
	  "t.yaml:9:22: source_address: '10.0.0.1/8' has bits set after its prefix length" },
	{ USERS RULE_HEAD "    source_address: [10.0.0.0/33]\n",
	  "t.yaml:9:22: source_address: '10.0.0.0/33' has a bad prefix length" },
	{ USERS RULE_HEAD "    source_address: ['10.0.0.0/+8']\n",
	  "t.yaml:9:22: source_address: '10.0.0.0/+8' has a bad prefix length" },
	{ USERS RULE_HEAD "    source_address: ['2001:db8::1/64']\n",
	  "t.yaml:9:22: source_address: '2001:db8::1/64' has bits set after its prefix length" },
	{ USERS RULE_HEAD "    source_address: [example.com]\n",
	  "t.yaml:9:22: source_address: 'example.com' is not an address or CIDR block" },
	{ USERS RULE_HEAD "    source_address: [10.0.0.0/8, 10.0.0.0/08]\n",
	  "t.yaml:9:34: source_address: '10.0.0.0/08' is listed twice" },
	{ USERS RULE_HEAD "    source_address: []\n",
	  "t.yaml:9:21: source_address must list 1 to 64 addresses" },
	{ USERS RULE_HEAD "    force_command: \"a\\tb\"\n",
	  "t.yaml:9:20: force_command holds a control character" },
	{ USERS RULE_HEAD "    force_command: []\n",
	  "t.yaml:9:20: force_command must be text, not a list" },
	/* rules: reason patterns that would be unsafe to compile or to run */
	{ USERS RULE_HEAD "    reason: {pattern: '^(a*)\\1$'}\n",
	  "t.yaml:9:23: pattern '^(a*)\\1$' uses a back-reference (\\1 to \\9), which can make "
	  "matching take exponential time" },
	{ USERS RULE_HEAD "    reason: {pattern: '(a{1,100}){1,100}'}\n",
	  "t.yaml:9:23: pattern '(a{1,100}){1,100}' repeats more than 256 times in all (the "
	  "product of its {m,n} counts)" },
	{ USERS RULE_HEAD "    reason: {pattern: 'a{257}'}\n",
	  "t.yaml:9:23: pattern 'a{257}' repeats more than 256 times in all (the product of its "
	  "{m,n} counts)" },
	{ USERS RULE_HEAD "    reason: {pattern: 'a{1,99999999999999999999}'}\n",
	  "t.yaml:9:23: pattern 'a{1,99999999999999999999}' repeats more than 256 times in all "
	  "(the product of its {m,n} counts)" },
	/* users' own groups, and labels written as a mapping */
	{ "users:\n  alice: {keys: [" KEY1 "], groups: [ops]}\n",
	  "t.yaml:2:110: groups: 'ops' is not a group defined under groups" },
	{ "users:\n  alice: {keys: [" KEY1 "], groups: [ops]}\ngroups: {dev: []}\n",
	  "t.yaml:2:110: groups: 'ops' is not a group defined under groups" },
	{ "users:\n  alice: {keys: [" KEY1 "], groups: ops}\ngroups: {ops: []}\n",
	  "t.yaml:2:109: groups must be a list, not text" },
	{ "hosts:\n  db-1: {env: prod, 'role x': db}\n",
	  "t.yaml:2:21: host label 'role x' is not a safe name (letters, digits, '.', '_', '-'; "
	  "not starting with '.' or '-')" },
	{ "hosts:\n  db-1: {env: 'pr,od'}\n",
	  "t.yaml:2:15: host label value 'pr,od' is not a safe name (letters, digits, '.', '_', "
	  "'-'; not starting with '.' or '-')" },
	{ "hosts:\n  db-1: {env: [prod]}\n",
	  "t.yaml:2:15: a host label value must be text, not a list" },
};

static void test_each_invalid_document_gets_its_exact_error(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
		struct policy *p = NULL;
		char *err = NULL;
		int r = policy_load_buffer("t.yaml", error_cases[i].yaml,
					   strlen(error_cases[i].yaml), &p, &err);
		if (r != JIT_E_POLICY || !err || strcmp(err, error_cases[i].error)) {
			print_error("case %zu: got %d '%s'\n   expected '%s'\n", i, r,
				    err ? err : "(none)", error_cases[i].error);
			bad++;
		}
		assert_null(p);
		free(err);
	}
	if (bad)
		fail_msg("%zu of %zu cases differ", bad, ELEMENTSOF(error_cases));
}

static void test_bad_durations_are_refused(void **state)
{
	static const char *const bad[] = { "15x", "m", "15 m", "-5", "0", "0m", "0h0m0s", "1m1h",
					   "1h1h", "1d", "1.5h", "1h-5m", "h1", "'1h '",
					   "9999999", "1234567s", "0x10", "1e3", "''", "[]", "{}" };
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char yaml[128], want[256];
		snprintf(yaml, sizeof yaml, "settings:\n  default_ttl: %s\n", bad[i]);
		snprintf(want, sizeof want, "t.yaml:2:16: default_ttl must be a duration such as "
			 "90s, 15m, 1h or 1h30m, or whole minutes");
		char *err = testpol_load_error(yaml);
		if (strcmp(err, want))
			fail_msg("'%s': %s", bad[i], err);
		free(err);
	}
}

static void test_good_durations_have_their_documented_values(void **state)
{
	static const struct {
		const char *text;
		uint64_t sec;
	} good[] = { { "1", 60 },	   { "15", 900 },     { "90s", 90 },    { "15m", 900 },
		     { "1h", 3600 },	   { "1h30m", 5400 }, { "1h30s", 3630 }, { "2m5s", 125 },
		     { "24h", 86400 },	   { "1440", 86400 }, { "007", 420 },   { "1h0m", 3600 } };
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		uint64_t sec = 0;
		assert_int_equal(policy_parse_duration(good[i].text, &sec), 0);
		assert_int_equal(sec, good[i].sec);
	}
}

static void test_an_unusable_key_names_the_key_error(void **state)
{
	static const char *const lines[] = { "ssh-ed25519 AAAA", KEYLINE_RSA_WEAK,
					     "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "not a key",
					     "ssh-ed25519 " };
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
		struct key *k = NULL;
		char yaml[2048], want[512], *err;
		int r = key_from_line(lines[i], &k, NULL);
		assert_true(r < 0);
		snprintf(yaml, sizeof yaml, "users:\n  alice:\n    - %s\n", lines[i]);
		snprintf(want, sizeof want, "t.yaml:3:7: key of user 'alice' is not usable: %s",
			 jit_strerror(r));
		err = testpol_load_error(yaml);
		assert_string_equal(err, want);
		free(err);
	}
}

static void test_ecdsa_and_rsa_keys_can_be_enrolled(void **state)
{
	struct policy *p = testpol_load("users:\n  alice: [" KEYLINE_EC ", " KEYLINE_RSA ", " KEY1
					"]\n");
	const struct key *const *keys;
	size_t n = 0;

	(void)state;
	assert_int_equal(policy_user_keys(p, "alice", &keys, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(key_type(keys[0]), KEY_ECDSA_P256);
	assert_int_equal(key_type(keys[1]), KEY_RSA);
	assert_int_equal(key_type(keys[2]), KEY_ED25519);
	policy_unref(p);
}

static void test_a_user_with_too_many_keys_is_refused(void **state)
{
	char *yaml = NULL, *err;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);

	(void)state;
	fprintf(f, "users:\n  alice:\n");
	for (int i = 0; i <= POLICY_USER_KEYS_MAX; i++)
		fprintf(f, "    - %s\n", KEY1);
	fclose(f);
	err = testpol_load_error(yaml);
	assert_string_equal(err, "t.yaml:3:5: user 'alice' has more than 32 keys");
	free(err);
	free(yaml);
}

static void test_a_bad_reason_pattern_is_refused(void **state)
{
	char *err = testpol_load_error(USERS RULE_HEAD "    reason: {pattern: '(x'}\n");
	char yaml[1024];

	(void)state;
	assert_non_null(strstr(err, "t.yaml:9:23: pattern '(x' is not a POSIX extended regular "
				    "expression: "));
	free(err);
	snprintf(yaml, sizeof yaml, "%s    reason: {pattern: '%0*d'}\n", USERS RULE_HEAD,
		 POLICY_PATTERN_MAX + 1, 0);
	err = testpol_load_error(yaml);
	assert_string_equal(err, "t.yaml:9:23: pattern is longer than 256 bytes");
	free(err);
}

/* @template with its one '@' replaced by @name, into @out. */
static void fill(char *out, size_t size, const char *template, const char *name)
{
	const char *at = strchr(template, '@');

	assert_non_null(at);
	snprintf(out, size, "%.*s%s%s", (int)(at - template), template, name, at + 1);
}

/* Every kind of name in a policy refuses commas, whitespace, glob characters, control
 * characters, non-ASCII and overlong names; the longest allowed name loads. */
static void test_unsafe_names_in_the_policy_are_refused(void **state)
{
	/* @ is the name, written in a double-quoted YAML scalar */
	static const struct {
		const char *yaml, *phrase;
	} kinds[] = {
		{ "users:\n  \"@\": [" KEY1 "]\n", "is not safe" },
		{ USERS "groups:\n  \"@\": [alice]\n", "is not safe" },
		{ "hosts:\n  web-1: [\"@\"]\n", "is not a safe name" },
		{ "hosts:\n  web-1: {\"@\": x}\n", "is not a safe name" },
		{ "hosts:\n  web-1: {env: \"@\"}\n", "is not a safe name" },
		{ USERS "rules:\n  - {name: \"@\", users: [alice], hosts: [h], logins: [x]}\n",
		  "is not safe" },
		{ USERS "rules:\n  - {name: r, users: [alice], hosts: [h], logins: [\"@\"]}\n",
		  "is not a safe login name" },
	};
	static const char *const bad[] = { "a,b", "a b", "a\\tb", "a*", "a?", "a[1]",
					   "\\u00e9t\\u00e9", "a\\x7f", ".a", "-a", "", "a/b", "a:b" };
	char name[128], yaml[1024], *err;

	(void)state;
	for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
		for (size_t i = 0; i < ELEMENTSOF(bad) + 1; i++) {
			if (i < ELEMENTSOF(bad))
				snprintf(name, sizeof name, "%s", bad[i]);
			else /* one over NAME_MAX_LEN */
				snprintf(name, sizeof name, "%0*d", NAME_MAX_LEN + 1, 0);
			fill(yaml, sizeof yaml, kinds[k].yaml, name);
			err = testpol_load_error(yaml);
			if (!strstr(err, kinds[k].phrase))
				fail_msg("kind %zu, name '%s': %s", k, name, err);
			free(err);
		}
		snprintf(name, sizeof name, "%0*d", NAME_MAX_LEN, 0);
		fill(yaml, sizeof yaml, kinds[k].yaml, name);
		policy_unref(testpol_load(yaml));
	}
}

static void test_a_host_glob_longer_than_a_host_name_is_refused(void **state)
{
	char yaml[600], *err;

	(void)state;
	snprintf(yaml, sizeof yaml, "hosts:\n  '%0*d': [x]\n", HOST_NAME_MAX_LEN + 1, 0);
	err = testpol_load_error(yaml);
	assert_non_null(strstr(err, "is empty or longer than a host name"));
	free(err);
	snprintf(yaml, sizeof yaml, "hosts:\n  '%0*d': [x]\n", HOST_NAME_MAX_LEN, 0);
	policy_unref(testpol_load(yaml));
}

static void test_reason_patterns_within_the_limits_load(void **state)
{
	static const char *const ok[] = { "^(INC|CHG)-[0-9]+", "^[A-Z]{2,8}-[0-9]{1,16}$",
					   "[[:digit:]]{4}-[0-9]{2}-[0-9]{2}", "a{256}",
					   "x{2}y{128}", "[]{}]{9}", "[\\\\1]", "a\\\\.b" };
	char yaml[1024];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		snprintf(yaml, sizeof yaml, "%s    reason: {pattern: '%s'}\n", USERS RULE_HEAD,
			 ok[i]);
		policy_unref(testpol_load(yaml));
	}
}

static bool user_in_group(const struct policy *p, const char *user, const char *group)
{
	const struct policy_user *u = policy_find_user(p, user);

	for (size_t i = 0; u && i < u->n_groups; i++)
		if (!strcmp(u->groups[i], group))
			return true;
	return false;
}

/* A user may name its groups itself: the same as listing the user in each of them. */
static void test_a_user_can_list_its_own_groups(void **state)
{
	struct policy *p = testpol_load("users:\n"
					"  alice: {keys: [" KEY1 "], groups: [dev, ops]}\n"
					"  bob: {keys: [" KEY2 "], groups: [dev]}\n"
					"groups:\n"
					"  dev: [bob]\n"
					"  ops: []\n"
					"  all: {groups: [ops]}\n");
	struct policy *q = testpol_load("users:\n"
					"  alice: {keys: [" KEY1 "]}\n"
					"  bob: {keys: [" KEY2 "]}\n"
					"groups:\n"
					"  dev: [alice, bob]\n"
					"  ops: [alice]\n"
					"  all: {groups: [ops]}\n");

	(void)state;
	assert_true(user_in_group(p, "alice", "dev"));
	assert_true(user_in_group(p, "alice", "ops"));
	assert_true(user_in_group(p, "alice", "all"));
	assert_true(user_in_group(p, "bob", "dev"));
	assert_false(user_in_group(p, "bob", "ops"));
	/* the same meaning, so the same version */
	assert_string_equal(policy_version(p), policy_version(q));
	policy_unref(p);
	policy_unref(q);
}

/* Labels written as a mapping {env: prod} are the labels "env=prod", usable in rules. */
static void test_host_labels_can_be_a_mapping_of_keys_to_values(void **state)
{
	struct policy *p = testpol_load(USERS
					"hosts:\n"
					"  'db-*': {env: prod, role: db}\n"
					"  'web-*': [web]\n"
					"rules:\n"
					"  - {name: r, users: [alice], host_labels: [role=db], "
					"logins: [postgres]}\n");
	struct policy_request q = { .user = "alice", .host = "db-3", .login = "postgres" };
	struct policy_decision *d = NULL;
	const char **labels = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(policy_host_labels(p, "db-3", &labels, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(labels[0], "env=prod");
	assert_string_equal(labels[1], "role=db");
	free(labels);
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_int_equal(d->verdict, POLICY_ALLOW);
	policy_decision_free(d);
	q.host = "web-3";
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_int_equal(d->verdict, POLICY_DENY);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_several_problems_are_each_reported_on_a_line(void **state)
{
	char *err = testpol_load_error("settings:\n  max_ttl: 30h\n  colour: red\nbogus: 1\n");

	(void)state;
	assert_string_equal(err,
			    "t.yaml:2:12: max_ttl 30h is above the hard cap of 24h\n"
			    "t.yaml:3:3: unknown key 'colour' in settings (expected domain_suffix, "
			    "default_ttl or max_ttl)\n"
			    "t.yaml:4:1: unknown key 'bogus' in the policy (expected version, "
			    "settings, users, groups, hosts or rules)");
	free(err);
}

/* Regression: problems came out in the order the loader found them (the top level, then
 * settings, users, groups, hosts, rules), not in the order of the file. */
static void test_problems_are_listed_by_line_and_column_whatever_order_they_are_found_in(
	void **state)
{
	char *err = testpol_load_error("rules:\n"			/* 1 */
				       "  - name: r\n"			/* 2 */
				       "    users: [alice]\n"		/* 3 */
				       "    hosts: [web-1]\n"		/* 4 */
				       "    logins: [root]\n"		/* 5 */
				       "    max_tll: 1h\n"		/* 6 */
				       "users:\n"			/* 7 */
				       "  alice: [" KEY1 "]\n"		/* 8 */
				       "  bob: {colour: red, keys: [" KEY2 "]}\n" /* 9 */
				       "settings: {max_ttl: 30h, colour: red}\n" /* 10 */
				       "bogus: 1\n");			/* 11 */
	const char *at = err;
	static const char *const in_order[] = { "t.yaml:6:5: ", "t.yaml:9:", "t.yaml:10:",
						"t.yaml:10:", "t.yaml:11:1: " };
	unsigned last_line = 0, last_col = 0, lines = 0;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(in_order); i++) {
		const char *next = strstr(at, in_order[i]);
		if (!next)
			fail_msg("'%s' missing or out of order in:\n%s", in_order[i], err);
		at = next + 1;
	}
	for (const char *s = err; *s; lines++) {
		unsigned line, col;
		assert_int_equal(sscanf(s, "t.yaml:%u:%u: ", &line, &col), 2);
		assert_true(line > last_line || (line == last_line && col > last_col));
		last_line = line;
		last_col = col;
		s += strcspn(s, "\n");
		s += *s == '\n';
	}
	assert_int_equal(policy_error_count(err), lines);
	free(err);
}

/* With more problems than are listed, the ones listed are the first in the file (the rest
 * counted), even when a later one was found first. */
static void test_more_problems_than_the_limit_list_the_first_in_the_file(void **state)
{
	char *yaml = NULL, *err;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&yaml, &len);

	(void)state;
	fputs("rules:\n", f);
	for (int i = 0; i < POLICY_ERRORS_MAX + 2; i++)
		fprintf(f, "  - {name: r%d, users: [alice], hosts: [h], logins: [x], ttl: 1}\n", i);
	fputs("settings: {colour: red}\n" USERS, f); /* found first, but last in the file */
	fclose(f);
	err = testpol_load_error(yaml);
	for (const char *s = err; (s = strchr(s, '\n')); s++)
		lines++;
	assert_int_equal(lines, POLICY_ERRORS_MAX);
	assert_non_null(strstr(err, "t.yaml:2:"));
	assert_null(strstr(err, "colour"));
	assert_non_null(strstr(err, "\nt.yaml: 3 more problems not shown"));
	assert_int_equal(policy_error_count(err), POLICY_ERRORS_MAX + 3);
	free(err);
	free(yaml);
}

static void test_the_error_count_counts_lines_and_the_problems_left_out(void **state)
{
	(void)state;
	assert_int_equal(policy_error_count(NULL), 0);
	assert_int_equal(policy_error_count(""), 0);
	assert_int_equal(policy_error_count("p.yaml: No such file or directory"), 1);
	assert_int_equal(policy_error_count("p.yaml:1:1: a\np.yaml:2:1: b"), 2);
	assert_int_equal(policy_error_count("p.yaml:1:1: a\np.yaml: 7 more problems not shown"), 8);
	/* the count only counts on the last line, and only in its own form */
	assert_int_equal(policy_error_count("p.yaml: 7 more problems not shown\nx"), 2);
}

static void test_more_problems_than_the_limit_are_counted_not_listed(void **state)
{
	char *yaml = NULL, *err;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&yaml, &len);

	(void)state;
	for (int i = 0; i < POLICY_ERRORS_MAX + 5; i++)
		fprintf(f, "bogus%d: 1\n", i);
	fclose(f);
	err = testpol_load_error(yaml);
	for (const char *s = err; (s = strchr(s, '\n')); s++)
		lines++;
	assert_int_equal(lines, POLICY_ERRORS_MAX);
	assert_non_null(strstr(err, "\nt.yaml: 5 more problems not shown"));
	free(err);
	free(yaml);
}

/* "Billion laughs": refused at its first anchor, long before anything could expand. */
static void test_billion_laughs_is_refused_at_the_first_anchor(void **state)
{
	static const char yaml[] =
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	char *err = testpol_load_error(yaml);

	(void)state;
	assert_string_equal(err, "t.yaml:1:4: YAML anchors and aliases are not allowed");
	free(err);
}

static void test_nesting_deeper_than_the_limit_is_refused(void **state)
{
	char yaml[256] = "a: ";
	char *err;

	(void)state;
	for (int i = 0; i < POLICY_DEPTH_MAX; i++) /* the root mapping is level 1 */
		strcat(yaml, "[");
	for (int i = 0; i < POLICY_DEPTH_MAX; i++)
		strcat(yaml, "]");
	strcat(yaml, "\n");
	err = testpol_load_error(yaml);
	assert_string_equal(err, "t.yaml:1:19: nested deeper than 16 levels");
	free(err);
	/* one level less parses (and fails later, as an unknown key) */
	memmove(yaml + 3, yaml + 4, strlen(yaml + 4) + 1);
	yaml[strlen(yaml) - 2] = '\n';
	yaml[strlen(yaml) - 1] = 0;
	err = testpol_load_error(yaml);
	assert_non_null(strstr(err, "unknown key 'a'"));
	free(err);
}

static void test_a_list_longer_than_the_limit_is_refused(void **state)
{
	size_t n = POLICY_LIST_MAX + 1, len = 0;
	char *yaml = NULL, *err;
	FILE *f = open_memstream(&yaml, &len);

	(void)state;
	fprintf(f, "a: [");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s0", i ? "," : "");
	fprintf(f, "]\n");
	fclose(f);
	err = testpol_load_error(yaml);
	assert_string_equal(err, "t.yaml:1:131077: more than 65536 entries in one list or mapping");
	free(err);
	free(yaml);
}

/* 3000 groups in a chain: each holds all below it, 4.5 million steps to expand. */
static void test_groups_expanding_beyond_the_membership_limit_are_refused(void **state)
{
	char *yaml = NULL, *err;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);

	(void)state;
	fprintf(f, "groups:\n  g0: []\n");
	for (int i = 1; i < 3000; i++)
		fprintf(f, "  g%d: {groups: [g%d]}\n", i, i - 1);
	fclose(f);
	err = testpol_load_error(yaml);
	assert_string_equal(err, "t.yaml:2:3: groups hold more than 4194304 memberships once "
				 "subgroups are expanded");
	free(err);
	free(yaml);
}

static void test_a_scalar_longer_than_the_limit_is_refused(void **state)
{
	char *yaml = malloc(POLICY_SCALAR_MAX + 32), *err;

	(void)state;
	snprintf(yaml, POLICY_SCALAR_MAX + 32, "a: %0*d\n", POLICY_SCALAR_MAX + 1, 0);
	err = testpol_load_error(yaml);
	assert_string_equal(err, "t.yaml:1:4: text longer than 8192 bytes");
	free(err);
	free(yaml);
}

static void test_a_document_over_the_size_limit_is_too_large(void **state)
{
	size_t n = POLICY_FILE_MAX + 1;
	char *yaml = malloc(n);
	struct policy *p = NULL;
	char *err = NULL;

	(void)state;
	memset(yaml, '#', n);
	assert_int_equal(policy_load_buffer("t.yaml", yaml, n, &p, &err), JIT_E_TOO_LARGE);
	assert_null(p);
	assert_null(err);
	free(yaml);
}

static void test_an_empty_mapping_loads_and_denies_everything(void **state)
{
	struct policy *p = testpol_load("{}\n");
	struct policy_request q = { .user = "alice", .host = "h", .login = "alice" };
	struct policy_decision *d = NULL;
	const struct key *const *keys;
	size_t n;

	(void)state;
	assert_int_equal(policy_eval(p, &q, &d), 0);
	assert_int_equal(d->verdict, POLICY_DENY);
	assert_int_equal(policy_user_keys(p, "alice", &keys, &n), JIT_E_NOT_FOUND);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_user_keys_are_found_and_disabled_users_are_not(void **state)
{
	struct policy *p = testpol_load("users:\n  bob: {keys: [" KEY2 " a, " KEY3 " b]}\n"
					"  erin: {disabled: true, keys: [" KEY6 "]}\n"
					"  gone: {disabled: true}\n");
	const struct key *const *keys = NULL;
	struct key *k2 = NULL, *k3 = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(key_from_line(KEY2, &k2, NULL), 0);
	assert_int_equal(key_from_line(KEY3, &k3, NULL), 0);
	assert_int_equal(policy_user_keys(p, "bob", &keys, &n), 0);
	assert_int_equal(n, 2);
	assert_true(key_equal_public(keys[0], k2));
	assert_true(key_equal_public(keys[1], k3));
	assert_int_equal(policy_user_keys(p, "erin", &keys, &n), JIT_E_NOT_FOUND);
	assert_int_equal(policy_user_keys(p, "gone", &keys, &n), JIT_E_NOT_FOUND);
	assert_int_equal(policy_user_keys(p, "zed", &keys, &n), JIT_E_NOT_FOUND);
	assert_int_equal(policy_user_keys(p, "Bob", &keys, &n), JIT_E_NOT_FOUND);
	key_free(k2);
	key_free(k3);
	policy_unref(p);
}

static const char version_a[] =
	"settings: {max_ttl: 2h, domain_suffix: .Example.COM.}\n"
	"users:\n"
	"  alice: [" KEY1 " alice@laptop]\n"
	"  bob: {keys: [" KEY2 ", " KEY3 "]}\n"
	"groups:\n"
	"  ops: [bob, alice]\n"
	"hosts:\n"
	"  web-*: [web, prod]\n"
	"rules:\n"
	"  - name: r1\n"
	"    groups: [ops]\n"
	"    host_labels: [web]\n"
	"    logins: [root, '${user}']\n"
	"    max_ttl: 90m\n";

/* the same policy: reordered keys and lists, other comments, block style, other spellings */
static const char version_b[] =
	"# reformatted\n"
	"rules:\n"
	"- logins:\n"
	"  - ${user}\n"
	"  - root\n"
	"  host_labels: [web]\n"
	"  max_ttl: 1h30m\n"
	"  groups: [ops]\n"
	"  name: r1\n"
	"  effect: allow\n"
	"hosts:\n"
	"  WEB-*.example.com: [prod, web]\n"
	"groups: {ops: {users: [alice, bob]}}\n"
	"users:\n"
	"  bob:\n"
	"    keys:\n"
	"    - " KEY3 " other comment\n"
	"    - " KEY2 "\n"
	"  alice:\n"
	"    keys: [\"" KEY1 "\"]\n"
	"    disabled: false\n"
	"settings:\n"
	"  domain_suffix: example.com\n"
	"  max_ttl: 120\n"
	"  default_ttl: 15m\n"
	"version: 1\n";

static void test_version_ignores_formatting_and_order(void **state)
{
	struct policy *a = testpol_load(version_a), *b = testpol_load(version_b);
	const char *v = policy_version(a);

	(void)state;
	assert_int_equal(strlen(v), strlen("sha256:") + 64);
	assert_memory_equal(v, "sha256:", 7);
	assert_int_equal(strspn(v + 7, "0123456789abcdef"), 64);
	assert_string_equal(policy_version(a), policy_version(b));
	policy_unref(a);
	policy_unref(b);
}

static void test_version_changes_with_every_meaningful_change(void **state)
{
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "max_ttl: 90m", "max_ttl: 91m" },
		{ "[root, '${user}']", "[root]" },
		{ "name: r1", "name: r2" },
		{ "[web, prod]", "[web, prod, db]" },
		{ "ops: [bob, alice]", "ops: [bob]" },
		{ "alice: [" KEY1, "alice: [" KEY4 },
		{ "max_ttl: 2h", "max_ttl: 3h" },
		{ ".Example.COM.", ".example.org" },
		{ "    max_ttl: 90m\n", "    max_ttl: 90m\n    reason: required\n" },
		{ "    max_ttl: 90m\n", "    max_ttl: 90m\n    when: {days: [mon]}\n" },
		{ "    max_ttl: 90m\n", "    max_ttl: 90m\n    extensions: [permit-pty]\n" },
	};
	struct policy *a = testpol_load(version_a);

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
		char yaml[4096];
		const char *at = strstr(version_a, edits[i].from);
		assert_non_null(at);
		snprintf(yaml, sizeof yaml, "%.*s%s%s", (int)(at - version_a), version_a,
			 edits[i].to, at + strlen(edits[i].from));
		struct policy *b = testpol_load(yaml);
		if (!strcmp(policy_version(a), policy_version(b)) != (i == 10))
			fail_msg("edit %zu ('%s' -> '%s') %s the version", i, edits[i].from,
				 edits[i].to, i == 10 ? "changed" : "did not change");
		policy_unref(b);
	}
	policy_unref(a);
}

static void test_example_policy_loads(void **state)
{
	const char *path = getenv("POLICY_EXAMPLE");
	struct policy *p = NULL;
	char *err = NULL;

	(void)state;
	if (!path)
		skip();
	if (policy_load_file(path, &p, &err) < 0)
		fail_msg("%s", err ? err : "load failed");
	assert_true(p->n_rules >= 5);
	policy_unref(p);
}

static void test_loading_a_missing_file_returns_enoent(void **state)
{
	struct policy *p = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(policy_load_file("/nonexistent/policy.yaml", &p, &err), -ENOENT);
	assert_null(p);
	assert_null(err);
}

static void test_file_errors_name_the_file(void **state)
{
	char path[] = "/tmp/policy-test-XXXXXX";
	int fd = mkstemp(path);
	struct policy *p = NULL;
	char *err = NULL, want[128];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "version: 2\n", 11), 11);
	close(fd);
	assert_int_equal(policy_load_file(path, &p, &err), JIT_E_POLICY);
	snprintf(want, sizeof want, "%s:1:10: version must be 1", path);
	assert_string_equal(err, want);
	free(err);
	unlink(path);
}

static void test_a_file_over_the_size_limit_is_too_large(void **state)
{
	char path[] = "/tmp/policy-test-XXXXXX";
	int fd = mkstemp(path);
	struct policy *p = NULL;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, POLICY_FILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(policy_load_file(path, &p, NULL), JIT_E_TOO_LARGE);
	assert_null(p);
	unlink(path);
}

static void test_a_directory_is_not_a_policy(void **state)
{
	struct policy *p = NULL;

	(void)state;
	assert_int_equal(policy_load_file("/tmp", &p, NULL), -EINVAL);
}

static void test_truncating_a_valid_policy_never_crashes(void **state)
{
	const size_t len = strlen(version_b);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		struct policy *p = NULL;
		char *err = NULL;
		int r = policy_load_buffer("t.yaml", version_b, n, &p, &err);
		assert_true(r == 0 || r == JIT_E_POLICY);
		assert_true((r == 0) == (p != NULL));
		assert_true((r == JIT_E_POLICY) == (err != NULL));
		policy_unref(p);
		free(err);
	}
}

static void test_flipping_any_byte_never_crashes(void **state)
{
	const size_t len = strlen(version_a);
	char *buf = malloc(len);

	(void)state;
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			struct policy *p = NULL;
			char *err = NULL;
			memcpy(buf, version_a, len);
			buf[i] = (char)(buf[i] ^ (1u << bit));
			int r = policy_load_buffer("t.yaml", buf, len, &p, &err);
			assert_true(r == 0 || r == JIT_E_POLICY);
			policy_unref(p);
			free(err);
		}
	}
	free(buf);
}

static void test_references_keep_the_policy_alive(void **state)
{
	struct policy *p = testpol_load(version_a);

	(void)state;
	assert_ptr_equal(policy_ref(p), p);
	assert_null(policy_unref(p));
	assert_non_null(policy_version(p)); /* still one reference */
	assert_null(policy_unref(p));
	assert_null(policy_unref(NULL));
	assert_null(policy_ref(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_invalid_document_gets_its_exact_error),
		cmocka_unit_test(test_bad_durations_are_refused),
		cmocka_unit_test(test_good_durations_have_their_documented_values),
		cmocka_unit_test(test_an_unusable_key_names_the_key_error),
		cmocka_unit_test(test_ecdsa_and_rsa_keys_can_be_enrolled),
		cmocka_unit_test(test_a_user_with_too_many_keys_is_refused),
		cmocka_unit_test(test_a_bad_reason_pattern_is_refused),
		cmocka_unit_test(test_unsafe_names_in_the_policy_are_refused),
		cmocka_unit_test(test_a_host_glob_longer_than_a_host_name_is_refused),
		cmocka_unit_test(test_reason_patterns_within_the_limits_load),
		cmocka_unit_test(test_a_user_can_list_its_own_groups),
		cmocka_unit_test(test_host_labels_can_be_a_mapping_of_keys_to_values),
		cmocka_unit_test(test_several_problems_are_each_reported_on_a_line),
		cmocka_unit_test(test_more_problems_than_the_limit_are_counted_not_listed),
		cmocka_unit_test(test_problems_are_listed_by_line_and_column_whatever_order_they_are_found_in),
		cmocka_unit_test(test_more_problems_than_the_limit_list_the_first_in_the_file),
		cmocka_unit_test(test_the_error_count_counts_lines_and_the_problems_left_out),
		cmocka_unit_test(test_billion_laughs_is_refused_at_the_first_anchor),
		cmocka_unit_test(test_nesting_deeper_than_the_limit_is_refused),
		cmocka_unit_test(test_a_list_longer_than_the_limit_is_refused),
		cmocka_unit_test(test_groups_expanding_beyond_the_membership_limit_are_refused),
		cmocka_unit_test(test_a_scalar_longer_than_the_limit_is_refused),
		cmocka_unit_test(test_a_document_over_the_size_limit_is_too_large),
		cmocka_unit_test(test_an_empty_mapping_loads_and_denies_everything),
		cmocka_unit_test(test_user_keys_are_found_and_disabled_users_are_not),
		cmocka_unit_test(test_version_ignores_formatting_and_order),
		cmocka_unit_test(test_version_changes_with_every_meaningful_change),
		cmocka_unit_test(test_example_policy_loads),
		cmocka_unit_test(test_loading_a_missing_file_returns_enoent),
		cmocka_unit_test(test_file_errors_name_the_file),
		cmocka_unit_test(test_a_file_over_the_size_limit_is_too_large),
		cmocka_unit_test(test_a_directory_is_not_a_policy),
		cmocka_unit_test(test_truncating_a_valid_policy_never_crashes),
		cmocka_unit_test(test_flipping_any_byte_never_crashes),
		cmocka_unit_test(test_references_keep_the_policy_alive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
