/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool name_valid(const char *s, const char *extra)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > NAME_MAX_LEN || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

bool name_user_valid(const char *s)
{
	return name_valid(s, "._-@");
}

bool name_login_valid(const char *s)
{
	return name_valid(s, "._-");
}

int host_normalize(const char *host, const char *strip_suffix, char **ret)
{
	char *h;
	size_t n;

	if (!host)
		return JIT_E_NAME;
	n = strlen(host);
	if (n == 0 || n > HOST_NAME_MAX_LEN + 1)
		return JIT_E_NAME;
	h = strdup(host);
	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (h[i] >= 'A' && h[i] <= 'Z')
			h[i] = (char)(h[i] - 'A' + 'a');
	if (h[n - 1] == '.')
		h[--n] = 0;
	/* Empty labels are refused in the name as asked, before any suffix is stripped: once
	 * stripped, "web-1..example.com" would look like "web-1". */
	if (n == 0 || h[0] == '.' || strstr(h, ".."))
		goto bad;
	if (strip_suffix && *strip_suffix) {
		char suf[HOST_NAME_MAX_LEN + 2];
		size_t m = strlen(strip_suffix);
		if (m < sizeof suf) {
			for (size_t i = 0; i <= m; i++) {
				char c = strip_suffix[i];
				suf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
			}
			if (m > 1 && suf[m - 1] == '.')
				suf[--m] = 0;
			if (n > m && strcmp(h + n - m, suf) == 0 &&
			    (suf[0] == '.' || h[n - m - 1] == '.')) {
				n -= m;
				if (suf[0] != '.')
					n--; /* the dot before a suffix written without one */
				h[n] = 0;
			}
		}
	}
	if (n == 0 || n > HOST_NAME_MAX_LEN || h[0] == '-' || h[0] == '.')
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (h[i + 1] == '.' || h[i + 1] == 0)
				goto bad;
		} else if (!is_alnum(h[i]) && h[i] != '-') {
			goto bad;
		}
	}
	*ret = h;
	return 0;
bad:
	free(h);
	return JIT_E_NAME;
}

int principal_format(const char *host, const char *login, char **ret)
{
	char *norm = NULL, *p;
	int r;

	if (!name_login_valid(login))
		return JIT_E_NAME;
	if ((r = host_normalize(host, NULL, &norm)) < 0)
		return r;
	if (strcmp(norm, host) != 0) {
		free(norm);
		return JIT_E_NAME; /* must already be normalised */
	}
	r = asprintf(&p, PRINCIPAL_PREFIX "%s:%s", norm, login);
	free(norm);
	if (r < 0)
		return -ENOMEM;
	*ret = p;
	return 0;
}
