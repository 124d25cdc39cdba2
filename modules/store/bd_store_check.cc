/*
 * bd_store_check.cc: what the configuration test (and every load) can say of a
 * store without opening it for writing: its directory must exist and be writable
 * (SQLite creates the file and its -wal and -shm beside it), an existing file must
 * be readable and writable; and how many keys could sign in today, read through a
 * read-only connection, for the auth module's "no client can authenticate".
 * Main thread.
 */
#include "modules/store/bd_store_check.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/bd_core.h"
#include "modules/store/bd_store.h"

const char *
bd_store_check_path(const std::string &path, std::string *errbuf)
{
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    struct stat sb;
    if (stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        *errbuf = "store \"" + path + "\": directory \"" + dir +
                  "\" does not exist (create it, writable by the user bedrockd runs as, "
                  "or set \"store off;\")";
        return errbuf->c_str();
    }
    if (access(dir.c_str(), W_OK | X_OK) != 0) {
        *errbuf = "store \"" + path + "\": directory \"" + dir + "\" is not writable (" +
                  strerror(errno) + ")";
        return errbuf->c_str();
    }
    if (access(path.c_str(), F_OK) == 0 && access(path.c_str(), R_OK | W_OK) != 0) {
        *errbuf = "store \"" + path + "\": " + strerror(errno);
        return errbuf->c_str();
    }
    return nullptr;
}

int
bd_store_count_usable_keys(const std::string &path)
{
    if (path.empty() || access(path.c_str(), R_OK) != 0) {
        return 0;
    }
    sqlite3 *db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 1000);
    std::vector<bd_key_t> keys;
    std::string err;
    int n = -1;
    if (bd_store_keys_load(db, &keys, &err) == 0) {
        int64_t now = bd_wall_ms();
        n = 0;
        for (const bd_key_t &k : keys) {
            n += bd_key_usable(&k, now) ? 1 : 0;
        }
    }
    sqlite3_close(db);
    return n;
}
