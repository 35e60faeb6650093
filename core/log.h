/* One-line log records on stderr: UTC time with milliseconds, level, text.
 *
 * Never pass a secret here: the log is read by people and collected by the
 * cluster. Values from outside are written as given; callers quote them.
 */
#ifndef BG_LOG_H
#define BG_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level min);
void log_write(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" for ms since the epoch; out >= 32 bytes. */
void log_format_utc(char *out, unsigned long long epoch_ms);
unsigned long long log_now_ms(void);

#endif
