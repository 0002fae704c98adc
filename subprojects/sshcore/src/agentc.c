/* SPDX-License-Identifier: ISC */
/* placeholder: being written */
extern int sshcore_placeholder_agentc;
