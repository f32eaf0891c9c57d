// The SQLite C API for Swift. sqlite3_bind_text's destructor argument is a macro that casts -1 to
// a function pointer (SQLITE_TRANSIENT: "copy the bytes now"), which Swift cannot import: one
// wrapper per use instead.
#include <sqlite3.h>

static inline int tg_sqlite_bind_text_copy(sqlite3_stmt *s, int i, const char *text, int length) {
    return sqlite3_bind_text(s, i, text, length, SQLITE_TRANSIENT);
}
