/* `breakglass --help --limits`: every bound compiled into the daemon, one
 * line each, grouped by the folder whose *_limits.h names it. */
#ifndef BG_LIMITS_PRINT_H
#define BG_LIMITS_PRINT_H

/* One line a limit, "  NAME VALUE UNIT WHAT", under one heading a
 * concern, then the settings' compiled-in defaults. */
void limits_print(void);

#endif
