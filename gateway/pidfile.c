/* Pidfile: written atomically (temp file + rename) so a reader never sees a partial pid; removed at
 * exit only if it still holds our pid (a second instance may have taken it over). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rg_pidfile_write(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	char *tmp = g_strdup_printf("%s.tmp.%ld", path, (long)getpid());
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	int ret = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ssize_t w = write(fd, buf, (size_t)len);
	if (w != len)
		ret = w < 0 ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
out:
	g_free(tmp);
	return ret;
}

void rg_pidfile_remove(const char *path)
{
	if (!path || !*path)
		return;
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	if (end != buf && pid == (long)getpid())
		unlink(path);
}
