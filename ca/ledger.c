/* SPDX-License-Identifier: ISC */
/* placeholder: being written */
extern int ledger_placeholder;
