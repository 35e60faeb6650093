/* breakglass export JOURNAL [--format md|txt|json]: a session's incident
 * summary, offline, on stdout: the page's "Export summary" (byte for byte
 * in Markdown), as plain text, or as JSON. Exit 0, or 2 when the journal
 * cannot be read. */
#ifndef BG_EXPORT_CLI_H
#define BG_EXPORT_CLI_H

int export_main(int argc, char **argv);

#endif
