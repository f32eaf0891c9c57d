// The SQLite C API for Swift. sqlite3_bind_text's destructor argument is a macro that casts -1 to
// a function pointer (SQLITE_TRANSIENT: "copy the bytes now"), which Swift cannot import: one
// wrapper per use instead.
#include <sqlite3.h>

static inline int tg_sqlite_bind_text_copy(sqlite3_stmt *s, int i, const char *text, int length) {
    return sqlite3_bind_text(s, i, text, length, SQLITE_TRANSIENT);
}

// sqlite3_config is variadic, which Swift cannot call: one wrapper per option used.
// SQLITE_CONFIG_MEMSTATUS off: SQLite stops counting every allocation under a global mutex
// (https://sqlite.org/c3ref/c_config_covering_index_scan.html#sqliteconfigmemstatus); nothing in
// Tollgate reads those statistics or sets a soft heap limit. Must run before sqlite3_initialize.
static inline int tg_sqlite_config_without_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
