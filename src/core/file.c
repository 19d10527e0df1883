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
#define MAX_LOCKS 16
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

int
vp_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, char **cause)
{
	char	*lock = NULL;
	int	 fd = -1, r = VP_OK, saved;

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
	if (lock_register(lock) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "too many open lock files");
		goto fail;
	}
	if (vp_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "cannot write '%s': %s", lock,
		    strerror(errno));
		goto fail;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "cannot chown '%s': %s", lock,
		    strerror(errno));
		goto fail;
	}
	if (fchmod(fd, mode) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "cannot chmod '%s': %s", lock,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = vp_fail(cause, VP_ERR_IO, "cannot write '%s': %s", lock,
		    strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(lock, path) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "cannot rename '%s' to '%s': %s",
		    lock, path, strerror(errno));
		goto fail;
	}
	lock_unregister(lock);
	free(lock);
	fsync_dir(path);
	return VP_OK;
 fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(lock);
	lock_unregister(lock);
	free(lock);
	errno = saved;
	return r;
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
