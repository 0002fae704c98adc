/* SPDX-License-Identifier: ISC */
/*
 * genpol.h - a large, realistic generated policy for the benchmark (and the tests that want
 * a big policy): GENPOL_USERS users with one key each, 200 teams and on-call groups of
 * groups, an inventory of service host globs with labels, and GENPOL_RULES rules mixing deny
 * rules, group and user subjects, labels and globs, logins with ${user}, time windows in
 * several zones, reasons with patterns and approvals. Deterministic: the same bytes every run.
 */
#pragma once

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "b64.h"

#define GENPOL_USERS 10000
#define GENPOL_TEAMS 200
#define GENPOL_ONCALL 20
#define GENPOL_RULES 1000

static uint64_t genpol_rng_state;

static inline uint64_t genpol_rng(void)
{
	genpol_rng_state ^= genpol_rng_state << 13;
	genpol_rng_state ^= genpol_rng_state >> 7;
	genpol_rng_state ^= genpol_rng_state << 17;
	return genpol_rng_state;
}

static inline unsigned genpol_pick(unsigned n)
{
	return (unsigned)(genpol_rng() % n);
}

/* An OpenSSH Ed25519 public-key line whose 32 key bytes are made from @i (unique per @i). */
static inline void genpol_key(FILE *f, unsigned i)
{
	uint8_t blob[4 + 11 + 4 + 32] = {0,   0,   0,	11,  's', 's', 'h', '-', 'e', 'd',
					 '2', '5', '5', '1', '9', 0,   0,   0,	 32};
	char *b64 = NULL;

	for (unsigned j = 0; j < 32; j++)
		blob[19 + j] = (uint8_t)((i * 2654435761u) >> (j % 4 * 8)) ^ (uint8_t)(j * 37);
	blob[19] = (uint8_t)i;
	blob[20] = (uint8_t)(i >> 8);
	if (b64_encode(blob, sizeof blob, &b64) < 0)
		abort();
	fprintf(f, "ssh-ed25519 %s u%05u@gen", b64, i);
	free(b64);
}

static inline const char *genpol_zone(unsigned i)
{
	static const char *const zones[] = {"UTC", "Europe/Berlin", "America/New_York",
					    "Asia/Kolkata", "Australia/Sydney"};
	return zones[i % 5];
}

/* The generated policy as YAML text (new; caller frees). */
static inline char *genpol_yaml(void)
{
	char *yaml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);

	if (!f)
		abort();
	genpol_rng_state = 0x9e3779b97f4a7c15u;
	fprintf(f, "version: 1\nsettings: {domain_suffix: .example.com, default_ttl: 15m, "
		   "max_ttl: 8h}\nusers:\n");
	for (unsigned i = 0; i < GENPOL_USERS; i++) {
		fprintf(f, "  u%05u: {%skeys: [", i, i % 50 == 49 ? "disabled: true, " : "");
		genpol_key(f, i);
		fprintf(f, "]}\n");
	}
	fprintf(f, "groups:\n");
	/* each user is in one team, every third user in a second one */
	for (unsigned t = 0; t < GENPOL_TEAMS; t++) {
		unsigned n = 0;
		fprintf(f, "  team%03u: [", t);
		for (unsigned i = 0; i < GENPOL_USERS; i++)
			if (i % GENPOL_TEAMS == t ||
			    (i % 3 == 0 && (i + 1 + i / GENPOL_TEAMS % 199) % GENPOL_TEAMS == t))
				fprintf(f, "%su%05u", n++ ? ", " : "", i);
		fprintf(f, "]\n");
	}
	for (unsigned o = 0; o < GENPOL_ONCALL; o++) {
		fprintf(f, "  oncall%02u: {users: [u%05u, u%05u], groups: [", o, o * 13,
			o * 13 + 1);
		for (unsigned t = o; t < GENPOL_TEAMS; t += GENPOL_ONCALL * 2)
			fprintf(f, "%steam%03u", t == o ? "" : ", ", t);
		fprintf(f, "]}\n");
	}
	fprintf(f, "  dba: [");
	for (unsigned i = 0; i < 100; i++)
		fprintf(f, "%su%05u", i ? ", " : "", i * 97 % GENPOL_USERS);
	fprintf(f, "]\n  contractors: [");
	for (unsigned i = 0; i < 200; i++)
		fprintf(f, "%su%05u", i ? ", " : "", (i * 49 + 5) % GENPOL_USERS);
	fprintf(f, "]\n  breakglass: [u00000, u00013, u00026]\n");
	fprintf(f, "  sre: {groups: [oncall00, oncall01, oncall02]}\n");
	fprintf(f, "  everyone: {groups: [");
	for (unsigned t = 0; t < GENPOL_TEAMS; t++)
		fprintf(f, "%steam%03u", t ? ", " : "", t);
	fprintf(f, "]}\nhosts:\n");
	for (unsigned s = 0; s < GENPOL_TEAMS; s++) {
		fprintf(f, "  svc%03u-prod-*: [prod, svc%03u%s]\n", s, s, s % 4 ? ", web" : ", db");
		fprintf(f, "  svc%03u-stg-*: [staging, svc%03u]\n", s, s);
	}
	for (unsigned d = 0; d < 50; d++)
		fprintf(f, "  db-%02u: [db, prod]\n", d);
	fprintf(f, "  '*.lab': [lab]\n  bastion-[0-9]: [bastion]\n");

	fprintf(f, "rules:\n");
	unsigned n = 0;
	fprintf(f, "  - {name: no-contractors-in-prod, effect: deny, groups: [contractors], "
		   "host_labels: [prod], logins: ['*']}\n");
	fprintf(f, "  - {name: no-root-on-db-at-weekends, effect: deny, users: ['*'], "
		   "host_labels: [db], logins: [root], when: {days: [sat, sun]}}\n");
	n += 2;
	for (unsigned i = 0; i < 18; i++, n++)
		fprintf(f,
			"  - {name: offboarding-%02u, effect: deny, users: [u%05u, u%05u], "
			"hosts: ['*'], logins: ['*']}\n",
			i, i * 531 % GENPOL_USERS, (i * 531 + 17) % GENPOL_USERS);
	for (unsigned s = 0; s < GENPOL_TEAMS; s++, n++)
		fprintf(f,
			"  - {name: stg-self-%03u, groups: [team%03u], hosts: [svc%03u-stg-*], "
			"logins: ['${user}', deploy], default_ttl: 30m, max_ttl: 2h, "
			"extensions: [permit-pty, permit-port-forwarding]}\n",
			s, s, s);
	for (unsigned s = 0; s < GENPOL_TEAMS; s++, n++)
		fprintf(f,
			"  - {name: oncall-office-%03u, groups: [oncall%02u], "
			"host_labels: [svc%03u], logins: [root, '${user}'], max_ttl: 1h, "
			"when: {days: [mon-fri], hours: '08:00-19:00', timezone: %s}}\n",
			s, s % GENPOL_ONCALL, s, genpol_zone(s));
	for (unsigned s = 0; s < GENPOL_TEAMS; s++, n++)
		fprintf(f,
			"  - {name: prod-approval-%03u, groups: [team%03u], "
			"hosts: [svc%03u-prod-*], logins: ['${user}'], max_ttl: 1h, "
			"reason: required, approvals: {count: 1, from: [oncall%02u]}}\n",
			s, s, s, s % GENPOL_ONCALL);
	for (unsigned d = 0; d < 100; d++, n++)
		fprintf(f,
			"  - {name: db-ticket-%02u, groups: [dba], hosts: [db-%02u], "
			"logins: [postgres], reason: {pattern: '^(INC|CHG)-[0-9]+'}, "
			"force_command: /usr/local/bin/psql-wrapper, "
			"source_address: [10.0.0.0/8, client]}\n",
			d, d);
	for (unsigned i = 0; n < GENPOL_RULES - 30; i++, n++) {
		fprintf(f, "  - {name: app-%03u, users: [", i);
		unsigned base = genpol_pick(GENPOL_USERS);
		for (unsigned k = 0; k < 5; k++)
			fprintf(f, "%su%05u", k ? ", " : "", (base + k * 2003) % GENPOL_USERS);
		fprintf(f,
			"], hosts: [svc%03u-prod-*, svc%03u-stg-*], logins: [app], "
			"default_ttl: 10m}\n",
			genpol_pick(GENPOL_TEAMS), genpol_pick(GENPOL_TEAMS));
	}
	for (unsigned i = 0; i < 28; i++, n++)
		fprintf(f,
			"  - {name: lab-%02u, users: ['*'], hosts: ['lab%02u-*.lab'], "
			"logins: [lab, '${user}'], when: [{days: [mon-fri], hours: '20:00-06:00', "
			"timezone: %s}, {days: [sat, sun]}]}\n",
			i, i, genpol_zone(i));
	fprintf(f, "  - {name: bastion, groups: [everyone], host_labels: [bastion], "
		   "logins: ['${user}'], max_ttl: 8h}\n");
	fprintf(f, "  - {name: break-glass, groups: [breakglass], hosts: ['*'], logins: [root], "
		   "default_ttl: 10m, max_ttl: 30m, reason: required, source_address: [client]}\n");
	n += 2;
	if (n != GENPOL_RULES || fclose(f) != 0)
		abort();
	return yaml;
}

struct genpol_request {
	char user[16], host[64], login[16];
	const char *reason;
	uint64_t now;
};

/* @n requests spread over users (a few unknown), hosts of every kind, logins, reasons and
 * a week of times; @ret new array (caller frees). */
static inline struct genpol_request *genpol_requests(size_t n)
{
	static const char *const reasons[] = {NULL, "INC-4711 disk full", "looking around"};
	static const char *const logins[] = {"deploy", "root", "postgres", "app", "lab"};
	struct genpol_request *v = calloc(n, sizeof *v);

	if (!v)
		abort();
	genpol_rng_state = 0x2545f4914f6cdd1du;
	for (size_t i = 0; i < n; i++) {
		struct genpol_request *q = &v[i];
		unsigned u = genpol_pick(GENPOL_USERS + 100), s = genpol_pick(GENPOL_TEAMS);
		if (genpol_pick(4)) /* mostly their own team's service */
			s = u % GENPOL_TEAMS;
		snprintf(q->user, sizeof q->user, "u%05u", u);
		switch (genpol_pick(6)) {
		case 0:
			snprintf(q->host, sizeof q->host, "svc%03u-prod-%u", s, genpol_pick(9));
			break;
		case 1:
			snprintf(q->host, sizeof q->host, "SVC%03u-PROD-%u.example.com.", s,
				 genpol_pick(9));
			break;
		case 2:
			snprintf(q->host, sizeof q->host, "svc%03u-stg-%u.example.com", s,
				 genpol_pick(9));
			break;
		case 3:
			snprintf(q->host, sizeof q->host, "db-%02u", genpol_pick(60));
			break;
		case 4:
			snprintf(q->host, sizeof q->host, "lab%02u-box.lab", genpol_pick(30));
			break;
		default:
			snprintf(q->host, sizeof q->host, "bastion-%u", genpol_pick(10));
			break;
		}
		if (genpol_pick(2))
			snprintf(q->login, sizeof q->login, "%s", q->user);
		else
			snprintf(q->login, sizeof q->login, "%s", logins[genpol_pick(5)]);
		q->reason = reasons[genpol_pick(3)];
		q->now = UINT64_C(1709546400) + genpol_pick(7 * 24 * 60) * UINT64_C(60);
	}
	return v;
}
