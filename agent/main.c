/* SPDX-License-Identifier: ISC */
/* jit-ssh - the engineer's command; everything is in client_lib (client.h). */
#include "client.h"

extern char **environ;

int main(int argc, char **argv)
{
	return client_main(argc, argv, environ);
}
