/*
 * bd_fuzz_driver.cc: main() for a fuzz target built without libFuzzer. Runs every seed file,
 * then a fixed number of mutations of them (seeded PRNG: bit flips, interesting values,
 * tokens, insertions, deletions, splices), through LLVMFuzzerTestOneInput. Single-threaded.
 * Invariant: the same arguments run the same inputs in the same order, and the input that
 * crashed (a signal, a sanitizer report, a failed check) is saved before the process dies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/fuzz/bd_fuzz.h"

/* The sanitizer runtimes define this; the weak reference is null in a plain build. */
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* A target may bring its own mutator, as with libFuzzer; it then calls LLVMFuzzerMutate
 * (defined below) for byte-level changes. */
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                                          unsigned int seed) __attribute__((weak));

#define BD_FUZZ_MAX_LEN (64 * 1024)

struct bd_fuzz_opts_t {
    unsigned long runs;
    uint64_t seed;
    size_t max_len;
    const char *crash_dir;
    std::vector<const char *> paths;
};

/* What the crash hooks save: the input being run (set before each run). */
static const uint8_t *bd_fuzz_cur_data;
static size_t bd_fuzz_cur_size;
static char bd_fuzz_crash_path[4096]; /* "<dir>/crash-<target>-<run index>" */
static size_t bd_fuzz_crash_prefix;    /* the length up to the run index */

/* Async-signal-safe: open, write, close only. */
static void
bd_fuzz_save_current(void)
{
    static volatile sig_atomic_t saved;
    if (saved || bd_fuzz_cur_data == NULL) {
        return;
    }
    saved = 1;
    int fd = open(bd_fuzz_crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return;
    }
    size_t off = 0;
    while (off < bd_fuzz_cur_size) {
        ssize_t n = write(fd, bd_fuzz_cur_data + off, bd_fuzz_cur_size - off);
        if (n <= 0) {
            break;
        }
        off += (size_t) n;
    }
    close(fd);
    static const char msg[] = "bd_fuzz_driver: the crashing input is saved in ";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    w = write(2, bd_fuzz_crash_path, strlen(bd_fuzz_crash_path));
    w = write(2, "\n", 1);
    (void) w;
}

static void
bd_fuzz_on_signal(int sig)
{
    bd_fuzz_save_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A sanitizer that owns a signal (ASan's SEGV handler) keeps it: its report is better, and
 * its death callback saves the input. */
static void
bd_fuzz_install_hooks(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (int sig : sigs) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
            signal(sig, bd_fuzz_on_signal);
        }
    }
    if (__sanitizer_set_death_callback != NULL) {
        __sanitizer_set_death_callback(bd_fuzz_save_current);
    }
}

/* splitmix64: small, fast, and the same sequence on every platform. */
static uint64_t
bd_fuzz_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t
bd_fuzz_below(uint64_t *state, size_t n)
{
    return n == 0 ? 0 : (size_t) (bd_fuzz_rand(state) % n);
}

static int
bd_fuzz_read_file(const std::string &path, std::string *out)
{
    FILE *f = fopen(path.c_str(), "rb");
    if (f == NULL) {
        fprintf(stderr, "bd_fuzz_driver: %s: %s\n", path.c_str(), strerror(errno));
        return -1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        out->append(buf, n);
    }
    fclose(f);
    return 0;
}

/* A directory gives its regular files in name order; a file is taken as it is. */
static int
bd_fuzz_load(const char *path, std::vector<std::string> *corpus)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "bd_fuzz_driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    std::vector<std::string> files;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d == NULL) {
            fprintf(stderr, "bd_fuzz_driver: %s: %s\n", path, strerror(errno));
            return -1;
        }
        while (struct dirent *e = readdir(d)) {
            std::string f = std::string(path) + "/" + e->d_name;
            if (e->d_name[0] != '.' && stat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
                files.push_back(f);
            }
        }
        closedir(d);
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(path);
    }
    for (const std::string &f : files) {
        corpus->emplace_back();
        if (bd_fuzz_read_file(f, &corpus->back()) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Bytes and words that sit on parsers' edges: lengths, signs, separators, escapes. */
static const uint8_t bd_fuzz_bytes[] = {0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff,
                                        '"',  '\'', '\\', '{',  '}',  '[',  ']',  ';',
                                        ':',  ',',  '$',  '#',  '\n', '\r', ' ',  '-'};
static const uint32_t bd_fuzz_words[] = {0,          1,          12,         15,
                                         16,         0xff,       0x100,      0x7fff,
                                         0x8000,     0xffff,     0x10000,    0x7fffffff,
                                         0x80000000, 0xfffffff0, 0xffffffff, 24u << 20};
static const char *const bd_fuzz_tokens[] = {
    "{", "}", "[", "]", "\"", "\"\"", ",", ":", "null", "true", "false", "0", "-1",
    "1e999", "-0.0", "18446744073709551616", "{}", "[]", "\\u0000", "\\ud800", "\\\"", ";",
    "${", "${A}", "${UNSET:-x}", "'", "#", " ", "\n", "include", "{\"type\":\"text\"}",
    "\"type\"", "\"text\"", "\"content\"", "\"role\"", "\"tool_use\"", "\"image\""};

static void
bd_fuzz_put_word(uint64_t *rs, std::string *s)
{
    uint32_t v = bd_fuzz_words[bd_fuzz_below(rs, sizeof(bd_fuzz_words) / sizeof(uint32_t))];
    size_t n = bd_fuzz_rand(rs) & 1 ? 2 : 4;
    if (s->size() < n) {
        return;
    }
    size_t at = bd_fuzz_below(rs, s->size() - n + 1);
    bool big = bd_fuzz_rand(rs) & 1;
    for (size_t i = 0; i < n; i++) {
        size_t shift = 8 * (big ? n - 1 - i : i);
        (*s)[at + i] = (char) (uint8_t) (v >> shift);
    }
}

/* A chunk of another seed, or of <s> itself. */
static std::string
bd_fuzz_chunk(uint64_t *rs, const std::vector<std::string> &corpus, const std::string &s)
{
    const std::string &from = corpus.empty() ? s : corpus[bd_fuzz_below(rs, corpus.size())];
    if (from.empty()) {
        return std::string();
    }
    size_t at = bd_fuzz_below(rs, from.size());
    size_t len = 1 + bd_fuzz_below(rs, std::min<size_t>(from.size() - at, 64));
    return from.substr(at, len);
}

static void
bd_fuzz_mutate_one(uint64_t *rs, const std::vector<std::string> &corpus, std::string *s)
{
    size_t at = bd_fuzz_below(rs, s->size() + 1);
    switch (bd_fuzz_below(rs, 10)) {
    case 0: /* flip a bit */
        if (!s->empty()) {
            (*s)[at % s->size()] ^= (char) (1u << bd_fuzz_below(rs, 8));
        }
        break;
    case 1: /* an interesting byte */
        if (!s->empty()) {
            (*s)[at % s->size()] = (char) bd_fuzz_bytes[bd_fuzz_below(rs, sizeof(bd_fuzz_bytes))];
        }
        break;
    case 2: /* an interesting 16- or 32-bit value, either byte order */
        bd_fuzz_put_word(rs, s);
        break;
    case 3: /* random bytes */
        for (size_t n = 1 + bd_fuzz_below(rs, 8); n > 0; n--) {
            s->insert(s->begin() + at, (char) bd_fuzz_rand(rs));
        }
        break;
    case 4: /* a token */
        s->insert(at, bd_fuzz_tokens[bd_fuzz_below(rs, sizeof(bd_fuzz_tokens) / sizeof(char *))]);
        break;
    case 5: /* delete a range */
    case 6:
        s->erase(at, 1 + bd_fuzz_below(rs, 16));
        break;
    case 7: /* splice: this prefix, another seed's suffix */
        if (!corpus.empty()) {
            const std::string &o = corpus[bd_fuzz_below(rs, corpus.size())];
            s->resize(at);
            s->append(o, bd_fuzz_below(rs, o.size() + 1), std::string::npos);
        }
        break;
    default: /* insert or overwrite with a chunk of a seed */
        std::string c = bd_fuzz_chunk(rs, corpus, *s);
        if (bd_fuzz_rand(rs) & 1) {
            s->insert(at, c);
        } else {
            s->replace(at, c.size(), c);
        }
        break;
    }
}

/* The PRNG and seeds LLVMFuzzerMutate draws from, set up by main(). */
static uint64_t bd_fuzz_rs;
static const std::vector<std::string> *bd_fuzz_corpus;

extern "C" size_t
LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
{
    std::string s((const char *) data, size);
    bd_fuzz_mutate_one(&bd_fuzz_rs, *bd_fuzz_corpus, &s);
    size_t n = std::min(s.size(), max_size);
    memcpy(data, s.data(), n);
    return n;
}

/* One mutant of <s>: a few byte-level changes, or the target's own mutator. */
static void
bd_fuzz_mutate(const std::vector<std::string> &corpus, size_t max_len, std::string *s)
{
    for (size_t n = 1 + bd_fuzz_below(&bd_fuzz_rs, 4); n > 0; n--) {
        if (LLVMFuzzerCustomMutator == NULL) {
            bd_fuzz_mutate_one(&bd_fuzz_rs, corpus, s);
            continue;
        }
        std::vector<uint8_t> buf(s->begin(), s->end());
        buf.resize(std::max(max_len, s->size()));
        unsigned int seed = (unsigned int) bd_fuzz_rand(&bd_fuzz_rs);
        size_t len = LLVMFuzzerCustomMutator(buf.data(), s->size(), buf.size(), seed);
        s->assign((const char *) buf.data(), std::min(len, buf.size()));
    }
    if (s->size() > max_len) {
        s->resize(max_len);
    }
}

static void
bd_fuzz_run(const std::string &input, unsigned long index)
{
    /* A private copy, so a target that reads past the end trips ASan. */
    std::vector<uint8_t> buf(input.begin(), input.end());
    const uint8_t *data = buf.empty() ? NULL : buf.data();
    bd_fuzz_cur_data = data != NULL ? data : (const uint8_t *) "";
    bd_fuzz_cur_size = buf.size();
    snprintf(bd_fuzz_crash_path + bd_fuzz_crash_prefix,
             sizeof(bd_fuzz_crash_path) - bd_fuzz_crash_prefix, "%lu", index);
    LLVMFuzzerTestOneInput(data, buf.size());
    bd_fuzz_cur_data = NULL;
}

static int
bd_fuzz_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-n MUTATIONS] [-s SEED] [-m MAX_LEN] [-o CRASH_DIR] CORPUS_DIR|FILE...\n"
            "Runs each seed, then MUTATIONS mutated inputs (default 0).\n",
            prog);
    return 2;
}

static int
bd_fuzz_parse_args(int argc, char **argv, bd_fuzz_opts_t *o)
{
    int c;
    o->runs = 0;
    o->seed = 1;
    o->max_len = BD_FUZZ_MAX_LEN;
    o->crash_dir = ".";
    while ((c = getopt(argc, argv, "n:s:m:o:")) != -1) {
        switch (c) {
        case 'n':
            o->runs = strtoul(optarg, NULL, 10);
            break;
        case 's':
            o->seed = strtoull(optarg, NULL, 10);
            break;
        case 'm':
            o->max_len = strtoul(optarg, NULL, 10);
            break;
        case 'o':
            o->crash_dir = optarg;
            break;
        default:
            return -1;
        }
    }
    for (int i = optind; i < argc; i++) {
        o->paths.push_back(argv[i]);
    }
    return o->paths.empty() || o->max_len == 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
    bd_fuzz_opts_t o;
    if (bd_fuzz_parse_args(argc, argv, &o) != 0) {
        return bd_fuzz_usage(argv[0]);
    }
    std::vector<std::string> corpus;
    for (const char *path : o.paths) {
        if (bd_fuzz_load(path, &corpus) != 0) {
            return 2;
        }
    }
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    int n = snprintf(bd_fuzz_crash_path, sizeof(bd_fuzz_crash_path) - 32, "%s/crash-%s-",
                     o.crash_dir, name);
    bd_fuzz_crash_prefix = std::min<size_t>((size_t) n, sizeof(bd_fuzz_crash_path) - 33);
    bd_fuzz_install_hooks();

    unsigned long index = 0;
    for (const std::string &seed : corpus) {
        bd_fuzz_run(seed, index++);
    }
    /* Mostly fresh mutants of a seed; sometimes the last mutant mutated further, so that
     * changes stack up into inputs a single step cannot reach. */
    bd_fuzz_rs = o.seed;
    bd_fuzz_corpus = &corpus;
    std::string last;
    for (unsigned long i = 0; i < o.runs; i++) {
        std::string s = !last.empty() && bd_fuzz_below(&bd_fuzz_rs, 4) == 0 ? last
                        : corpus.empty() ? std::string()
                                         : corpus[bd_fuzz_below(&bd_fuzz_rs, corpus.size())];
        bd_fuzz_mutate(corpus, o.max_len, &s);
        bd_fuzz_run(s, index++);
        last.swap(s);
    }
    printf("%s: %zu seeds and %lu mutations run (seed %llu), no failure\n", name, corpus.size(),
           o.runs, (unsigned long long) o.seed);
    return 0;
}
