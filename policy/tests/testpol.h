/* SPDX-License-Identifier: ISC */
/*
 * testpol.h - shared by the policy tests: public keys made once with
 * `ssh-keygen -t ed25519|ecdsa|rsa` (private halves discarded) and small load helpers.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "policy.h"

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEiVwwp4b75fdHZLqmUE5PpOK7l+dEgrHtgqjwByOYXB"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPdVf8HkqMzRIYj28CuhLTekoyl0Lz7dy7d6PYuOhJLh"
#define KEY3 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWOt+aDzdAmcpiDTpOHBWV4NL2jeWMXLwehRC2As9m1"
#define KEY4 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHJg/QtOCjzKjvLecPq8W9KBvUJ3+ZJY0CBQm5WFHRE"
#define KEY5 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINadtksGpaTYiHKhq3eghSG+fvFTRWM2goQWGqUc7wiC"
#define KEY6 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJkjCTqGF089Xxdxz0lfbPazBEzWNULhNmrKchPg3xvH"
#define KEY7 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOuG48dIfQc2tPD4vAYpH8p+IgC6W+/yKXRUf3qBLLzH"
#define KEY8 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBXLcjOyDtBfL52G//+iIaSxdw9LKUQjb7uVlC3dItes"
#define KEY9 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK63/d7aG2Dna/lJEb4cD9ASux/iAVNi2Y6bMRmwEObM"
#define KEY10 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK9isftigc4aOE7xljfBn9NXOmScbeMmJSLurrTsnNOy"
#define KEY11 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILlxMP62F2e1yF6+XTK0YNOEvrzWneak/Y+7PpY+5JH8"
#define KEY12 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHPTLOtyZML/mKoOZSVlpQV/nCn9hCheKen2MJLKCZnh"
#define KEYLINE_EC "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGLXF/9vBKzuS1xy6WxaBtex9ZVbLYb+CJuPhM/vs5XPXyO8w2RDkgHN6oDyKv1bCtJW1Qouc+UiqzwbfI4VyOw="
#define KEYLINE_RSA "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCZikUFCNTGlYDYPZeI2uFtdgmtq6h8OgM89T6XiAnC5W+ZGTE8rG2TtqydepyGPYxru6MnN1qQ0TSC4zKUPmtK2LdZFaCYGicMalcPFsAcnsAnTyAQ8poHOYjjonF064SDYUI0H3V/8/BcWiFknl1XzJ0TlJhjQfYYWqU9+i4efSGmpt07YnzLac4YtfG69p5AUbBcrvuyOVYo4bYS+WcDb/pwaxI8SB0HsW48xtjhqpFRweyDEzbG5tAs0GDunHppMywFdqxCXSklaoE4O9ckldaISjiP4yhlIGDNOqK+QhUhbTlbbP4Kbrs52X+OJMGTI5+m/nBsGakR8IPTwWtn"
/* RSA 1024: too weak */
#define KEYLINE_RSA_WEAK "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDF2nUQFz2oxM+PQrF05SVBL1UNVyamekAjha7og26VNZ20i1HVFTetpNdS6zIIKeBzHr1cWg7eTHo5guJxDJlg9hUlkxQtJ01sQ2MiigjLd1nZ4nKGUu9BVzrUoS/2ItRCjJkontL3akRaZ7o0eWSNnLcd7UTZ7EO/xlIles5nlQ=="

/* Load @yaml (named "t.yaml") or fail the test with the loader's message. */
static inline struct policy *testpol_load(const char *yaml)
{
	struct policy *p = NULL;
	char *err = NULL;
	int r = policy_load_buffer("t.yaml", yaml, strlen(yaml), &p, &err);

	if (r < 0)
		fail_msg("load failed (%d): %s", r, err ? err : jit_strerror(r));
	free(err);
	return p;
}

/* Load @yaml expecting JIT_E_POLICY; returns the message (new). */
static inline char *testpol_load_error(const char *yaml)
{
	struct policy *p = NULL;
	char *err = NULL;
	int r = policy_load_buffer("t.yaml", yaml, strlen(yaml), &p, &err);

	if (r == 0) {
		policy_unref(p);
		fail_msg("loaded, but an error was expected");
	}
	assert_int_equal(r, JIT_E_POLICY);
	assert_non_null(err);
	return err;
}
