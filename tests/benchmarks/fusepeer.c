/* A minimal read-only FUSE filesystem in C: the peer bench_view.py measures the view against.

   It does only what a view must do, with nothing of ours in the way (libfuse's low-level API,
   one thread, like pyfuse3's loop), so what it costs is what the kernel's FUSE path and a
   userspace round trip cost on this machine:

     /big             the file FILE, read with pread (keep_cache, 1 hour attribute timeouts)
     /loras/NAME...   COUNT symlinks lora-00000.safetensors... -> TARGET_DIR/lora-00000.safetensors...
                      (listed with readdirplus; listings and targets cached when the kernel can)

   build:  cc -O2 -o fusepeer fusepeer.c $(pkg-config --cflags --libs fuse3)
   run:    fusepeer MOUNTPOINT FILE TARGET_DIR COUNT      (foreground; prints "ready")
*/
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT 1
#define BIG 2
#define LORAS 3
#define FIRST_LINK 4
#define TIMEOUT 3600.0

static const char *file_path;
static const char *target_dir;
static long count;
static struct stat big_st;

static void name_of(long i, char *buf, size_t n) { snprintf(buf, n, "lora-%05ld.safetensors", i); }

static void target_of(long i, char *buf, size_t n) {
    snprintf(buf, n, "%s/lora-%05ld.safetensors", target_dir, i);
}

static void attr_of(fuse_ino_t ino, struct stat *st) {
    char t[4096];
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_uid = getuid();
    st->st_gid = getgid();
    if (ino == ROOT || ino == LORAS) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = ino == ROOT ? 3 : 2;
    } else if (ino == BIG) {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = big_st.st_size;
        st->st_mtim = big_st.st_mtim;
    } else {
        target_of((long)ino - FIRST_LINK, t, sizeof(t));
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = (off_t)strlen(t);
    }
}

static void entry_of(fuse_ino_t ino, struct fuse_entry_param *e) {
    memset(e, 0, sizeof(*e));
    e->ino = ino;
    e->attr_timeout = e->entry_timeout = TIMEOUT;
    attr_of(ino, &e->attr);
}

static void peer_init(void *userdata, struct fuse_conn_info *conn) {
    (void)userdata;
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
        conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* always readdirplus, like pyfuse3 */
}

static void peer_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    struct fuse_entry_param e;
    if (parent == ROOT && strcmp(name, "big") == 0) {
        entry_of(BIG, &e);
    } else if (parent == ROOT && strcmp(name, "loras") == 0) {
        entry_of(LORAS, &e);
    } else if (parent == LORAS && strncmp(name, "lora-", 5) == 0) {
        long i = strtol(name + 5, NULL, 10);
        char want[64];
        name_of(i, want, sizeof(want));
        if (i < 0 || i >= count || strcmp(want, name) != 0) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        entry_of(FIRST_LINK + i, &e);
    } else {
        fuse_reply_err(req, ENOENT);
        return;
    }
    fuse_reply_entry(req, &e);
}

static void peer_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    struct stat st;
    (void)fi;
    attr_of(ino, &st);
    fuse_reply_attr(req, &st, TIMEOUT);
}

static void peer_readlink(fuse_req_t req, fuse_ino_t ino) {
    char t[4096];
    if (ino < FIRST_LINK) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    target_of((long)ino - FIRST_LINK, t, sizeof(t));
    fuse_reply_readlink(req, t);
}

static void peer_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    if (ino != ROOT && ino != LORAS) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    fi->keep_cache = 1;
    fi->cache_readdir = 1;
    fuse_reply_open(req, fi);
}

/* Entry numbers: 0 ".", 1 "..", then the children; an entry's offset is its number + 1. */
static void peer_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    char *buf = malloc(size);
    size_t used = 0;
    long n = ino == ROOT ? 4 : count + 2;
    (void)fi;
    for (long i = off; i < n; i++) {
        struct fuse_entry_param e;
        char name[64];
        fuse_ino_t child;
        if (i < 2) {
            child = i == 0 ? ino : ROOT;
            snprintf(name, sizeof(name), "%s", i == 0 ? "." : "..");
        } else if (ino == ROOT) {
            child = i == 2 ? BIG : LORAS;
            snprintf(name, sizeof(name), "%s", i == 2 ? "big" : "loras");
        } else {
            child = FIRST_LINK + (i - 2);
            name_of(i - 2, name, sizeof(name));
        }
        entry_of(child, &e);
        size_t len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1);
        if (len > size - used)
            break;
        used += len;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static void peer_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    if (ino != BIG) {
        fuse_reply_err(req, ino < FIRST_LINK ? EISDIR : EINVAL);
        return;
    }
    int fd = open(file_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    fi->fh = (uint64_t)fd;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void peer_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    static char *buf;
    static size_t cap;
    (void)ino;
    if (cap < size) {
        free(buf);
        buf = malloc(size);
        cap = size;
    }
    ssize_t n = pread((int)fi->fh, buf, size, off);
    if (n < 0)
        fuse_reply_err(req, errno);
    else
        fuse_reply_buf(req, buf, (size_t)n);
}

static void peer_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino;
    close((int)fi->fh);
    fuse_reply_err(req, 0);
}

static void peer_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
    (void)ino; (void)name; (void)size;
    fuse_reply_err(req, EOPNOTSUPP); /* as the view does: ls stops asking */
}

static const struct fuse_lowlevel_ops ops = {
    .init = peer_init,
    .lookup = peer_lookup,
    .getattr = peer_getattr,
    .readlink = peer_readlink,
    .opendir = peer_opendir,
    .readdirplus = peer_readdirplus,
    .open = peer_open,
    .read = peer_read,
    .release = peer_release,
    .getxattr = peer_getxattr,
};

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MOUNTPOINT FILE TARGET_DIR COUNT\n", argv[0]);
        return 2;
    }
    file_path = argv[2];
    target_dir = argv[3];
    count = strtol(argv[4], NULL, 10);
    if (stat(file_path, &big_st) != 0) {
        perror(file_path);
        return 1;
    }
    char *fargs[] = {argv[0], "-o", "ro,default_permissions,noatime,fsname=fusepeer,subtype=fusepeer"};
    struct fuse_args args = FUSE_ARGS_INIT(3, fargs);
    struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
    if (se == NULL || fuse_session_mount(se, argv[1]) != 0)
        return 1;
    printf("ready\n");
    fflush(stdout);
    int ret = fuse_session_loop(se);
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    return ret;
}
