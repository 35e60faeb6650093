/* The operator's runbooks (BREAKGLASS_RUNBOOKS_DIR): list, read and grep,
 * read-only, never past the folder. These calls block on the file system:
 * runbook_service.c runs them in libuv's thread pool.
 *
 * Only Markdown and text (.md, .markdown, .txt), at most
 * RUNBOOK_MAX_FILE_BYTES each; a call returns at most RUNBOOK_MAX_CALL_BYTES
 * of text. A path is relative, of plain names (no "..", ".", empty or
 * hidden parts), and is opened relative to the folder's descriptor with
 * openat2(RESOLVE_BENEATH): a symlink that stays inside the folder is
 * followed (a Kubernetes ConfigMap volume is made of them), one that
 * leaves it, absolute or through "..", is refused by the kernel, and so is
 * a path that a rename races out of it. Where the kernel has no openat2,
 * every symlink is refused (O_NOFOLLOW, one part at a time). What is
 * opened must be a regular file (fstat).
 */
#ifndef BG_RUNBOOK_H
#define BG_RUNBOOK_H

#include <jansson.h>
#include <stddef.h>

#include "limits_table.h"

/* {"runbooks": [{"path", "bytes"}...], "cut": bool} sorted by path, or
 * {"error": "..."}. New reference; NULL when out of memory. */
json_t *runbook_list(const char *dir);
/* {"path", "bytes", "offset", "text", "next_offset"?} (the text from offset,
 * at most RUNBOOK_MAX_CALL_BYTES, cut on a character boundary), or
 * {"error": "..."}. */
json_t *runbook_read(const char *dir, const char *path, size_t offset);
/* {"matches": [{"path", "line", "text"}...], "cut": bool}: lines that hold
 * pattern (plain text, ASCII case folded), or {"error": "..."}. */
json_t *runbook_grep(const char *dir, const char *pattern);

#endif
