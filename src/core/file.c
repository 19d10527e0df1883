/* file.c: capped reads, atomic writes, mkdir -p. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

/* Lock files in flight, removed on exit or fatal signal. */
#define MAX_LOCKS 1024
static char	*locks[MAX_LOCKS];
static int	 locks_installed;

static void
locks_cleanup(void)
{
	int i;

	for (i = 0; i < MAX_LOCKS; i++)
		if (locks[i] != NULL)
			unlink(locks[i]);
}

static void
locks_signal(int sig)
{
	locks_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
lock_register(char *path)
{
	int i;

	if (!locks_installed) {
		atexit(locks_cleanup);
		signal(SIGINT, locks_signal);
		signal(SIGTERM, locks_signal);
		signal(SIGHUP, locks_signal);
		locks_installed = 1;
	}
	for (i = 0; i < MAX_LOCKS; i++)
		if (locks[i] == NULL) {
			locks[i] = path;
			return 0;
		}
	return -1;
}

static void
lock_unregister(char *path)
{
	int i;

	for (i = 0; i < MAX_LOCKS; i++)
		if (locks[i] == path)
			locks[i] = NULL;
}

int
vp_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return VP_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return VP_OK;
}

int
vp_file_read(const char *path, struct vp_buf *out, char **cause)
{
	char	chunk[65536];
	ssize_t	n;
	int	fd, r = VP_OK;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return vp_fail(cause, errno == ENOENT ? VP_ERR_NOTFOUND :
		    VP_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vp_fail(cause, VP_ERR_IO, "cannot read '%s': %s",
			    path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((r = vp_buf_add(out, chunk, (size_t)n)) != 0) {
			vp_fail(cause, r, "cannot read '%s': %s", path,
			    r == VP_ERR_TOOBIG ? "file too large" :
			    vp_strerror(r));
			break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	return r;
}

static int
fsync_dir(const char *path)
{
	char	*copy, *dir;
	int	 fd, r = 0;

	if ((copy = strdup(path)) == NULL)
		return -1;
	dir = dirname(copy);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		r = fsync(fd);
		close(fd);
	}
	free(copy);
	return r;
}

/*
 * Create "<path>.lock" exclusively and fill it: data, owner, mode.  With
 * sync, fsync it too.  On success *lockp is the registered lock path (the
 * caller renames or unlinks it, then unregisters and frees it).
 */
static int
stage(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
    gid_t gid, int sync, char **lockp, char **cause)
{
	char	*lock = NULL;
	int	 fd, r = VP_OK, saved;

	*lockp = NULL;
	if (asprintf(&lock, "%s.lock", path) < 0)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		r = vp_fail(cause, errno == EEXIST ? VP_ERR_EXISTS : VP_ERR_IO,
		    "cannot create '%s': %s%s", lock, strerror(errno),
		    errno == EEXIST ? " (another vpai running? if not, "
		    "remove the stale lock file)" : "");
		free(lock);
		return r;
	}
	if (lock_register(lock) != 0)
		r = vp_fail(cause, VP_ERR_IO, "too many open lock files");
	else if (vp_write_all(fd, data, len) != 0 || (sync && fsync(fd) != 0))
		r = vp_fail(cause, VP_ERR_IO,
		    "cannot write '%s': %s", lock, strerror(errno));
	else if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) != 0)
		r = vp_fail(cause, VP_ERR_IO, "cannot chown '%s': %s", lock,
		    strerror(errno));
	else if (fchmod(fd, mode) != 0)
		r = vp_fail(cause, VP_ERR_IO, "cannot chmod '%s': %s", lock,
		    strerror(errno));
	saved = errno;
	if (close(fd) != 0 && r == VP_OK)
		r = vp_fail(cause, VP_ERR_IO, "cannot write '%s': %s", lock,
		    strerror(errno));
	if (r != VP_OK) {
		unlink(lock);
		lock_unregister(lock);
		free(lock);
		errno = saved;
		return r;
	}
	*lockp = lock;
	return VP_OK;
}

/* Rename a staged lock over path; the lock is released either way. */
static int
commit(char *lock, const char *path, char **cause)
{
	int r = VP_OK;

	if (rename(lock, path) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "cannot rename '%s' to '%s': %s",
		    lock, path, strerror(errno));
		unlink(lock);
	}
	lock_unregister(lock);
	free(lock);
	return r;
}

int
vp_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, char **cause)
{
	char	*lock;
	int	 r;

	if ((r = stage(path, data, len, mode, uid, gid, 1, &lock,
	    cause)) != 0)
		return r;
	if ((r = commit(lock, path, cause)) != 0)
		return r;
	fsync_dir(path);
	return VP_OK;
}

int
vp_file_batch_add(struct vp_file_batch *fb, const char *path,
    const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
    char **cause)
{
	char	**v, *lock, *p;
	size_t	  n;
	int	  r;

	if (fb->n == fb->alloc) {
		n = fb->alloc ? fb->alloc * 2 : 32;
		if ((v = reallocarray(fb->lock, n, 2 * sizeof(*v))) == NULL)
			return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		fb->lock = v;
		fb->alloc = n;
	}
	if ((p = strdup(path)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if ((r = stage(path, data, len, mode, uid, gid, 0, &lock,
	    cause)) != 0) {
		free(p);
		return r;
	}
	fb->lock[2 * fb->n] = lock;
	fb->lock[2 * fb->n + 1] = p;
	fb->n++;
	return VP_OK;
}

/* Flush the filesystem holding path (every staged file at once). */
static int
sync_fs_of(const char *path)
{
	char	*copy, *dir;
	int	 fd, r = -1;

	if ((copy = strdup(path)) == NULL)
		return -1;
	dir = dirname(copy);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		r = syncfs(fd);
		close(fd);
	}
	free(copy);
	return r;
}

int
vp_file_batch_commit(struct vp_file_batch *fb, char **cause)
{
	size_t	i;
	int	r = VP_OK;

	if (fb->n == 0)
		return VP_OK;
	/* Every new file's bytes are durable before any rename. */
	if (sync_fs_of(fb->lock[1]) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "cannot sync '%s': %s",
		    fb->lock[1], strerror(errno));
		vp_file_batch_abort(fb);
		return r;
	}
	for (i = 0; i < fb->n; i++) {
		if (r == VP_OK)
			r = commit(fb->lock[2 * i], fb->lock[2 * i + 1], cause);
		else {
			unlink(fb->lock[2 * i]);
			lock_unregister(fb->lock[2 * i]);
			free(fb->lock[2 * i]);
		}
		fb->lock[2 * i] = NULL;
	}
	if (r == VP_OK && sync_fs_of(fb->lock[1]) != 0)
		r = vp_fail(cause, VP_ERR_IO, "cannot sync '%s': %s",
		    fb->lock[1], strerror(errno));
	vp_file_batch_abort(fb);
	return r;
}

void
vp_file_batch_abort(struct vp_file_batch *fb)
{
	size_t i;

	for (i = 0; i < fb->n; i++) {
		if (fb->lock[2 * i] != NULL) {
			unlink(fb->lock[2 * i]);
			lock_unregister(fb->lock[2 * i]);
			free(fb->lock[2 * i]);
		}
		free(fb->lock[2 * i + 1]);
	}
	free(fb->lock);
	fb->lock = NULL;
	fb->n = fb->alloc = 0;
}

int
vp_mkdir_p(const char *path, mode_t mode, char **cause)
{
	char	*p, *s;
	int	 r = VP_OK;

	if ((p = strdup(path)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		if (s[-1] == '/') {
			if (*s == '\0')
				break;
			continue;
		}
		{
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				r = vp_fail(cause, VP_ERR_IO,
				    "cannot create directory '%s': %s", p,
				    strerror(errno));
				break;
			}
			*s = c;
		}
		if (*s == '\0')
			break;
	}
	free(p);
	return r;
}

int
vp_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *
vp_path_join(const char *a, const char *b)
{
	char	*s = NULL;
	size_t	 la = strlen(a);

	if (asprintf(&s, "%s%s%s", a, (la && a[la - 1] == '/') ? "" : "/",
	    b) < 0)
		return NULL;
	return s;
}
