/* rtpgate daemon shell: config, logging, daemonizing, pidfile, signals, main loop. The media engine
 * (workers, calls, NG control) is started through engine.h once it exists. */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include("engine.h")
#include "engine.h"
#define RG_HAVE_ENGINE 1
#endif
#endif

static int syslog_facility = LOG_DAEMON;

/* log.c opens syslog with LOG_DAEMON; reopen with the configured facility. The ident must be a
 * string that lives for the whole process (openlog keeps the pointer). */
static void apply_facility(const rg_config *cfg)
{
	if (!cfg->log_stderr && syslog_facility != LOG_DAEMON)
		openlog("rtpgate", LOG_PID | LOG_NDELAY, syslog_facility);
}

static gboolean on_quit(gpointer data)
{
	GMainLoop *loop = data;
	rg_log(RG_LOG_INFO, "termination signal received");
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_hup(gpointer data)
{
	const rg_config *cfg = data;
	rg_log_reopen();
	apply_facility(cfg);
	rg_log(RG_LOG_INFO, "SIGHUP: log reopened");
	return G_SOURCE_CONTINUE;
}

/* Daemonize: double fork + setsid, chdir /, std fds to /dev/null (stderr kept with --log-stderr).
 * The original process waits until the daemon reports readiness through a pipe, so that its exit
 * code says whether the daemon started; returns (in the daemon) the pipe's write end. */
static int daemonize(bool keep_stderr)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC)) {
		fprintf(stderr, "rtpgate: pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "rtpgate: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		/* original process: wait for the daemon's verdict */
		close(pfd[1]);
		char buf[1024];
		size_t got = 0;
		ssize_t n;
		while (got < sizeof(buf) - 1 && (n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			got += (size_t)n;
		}
		buf[got] = '\0';
		waitpid(pid, NULL, 0); /* the intermediate child exits right away */
		if (got > 0 && buf[0] == 'O')
			_exit(0);
		if (got > 1)
			fprintf(stderr, "rtpgate: %s\n", buf + 1);
		else
			fprintf(stderr, "rtpgate: daemon exited during startup (see the log)\n");
		_exit(1);
	}
	close(pfd[0]);
	if (setsid() < 0) {
		fprintf(stderr, "rtpgate: setsid: %s\n", strerror(errno));
		_exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "rtpgate: fork: %s\n", strerror(errno));
		_exit(1);
	}
	if (pid > 0)
		_exit(0);
	if (chdir("/")) {
		/* cannot really fail */
	}
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (!keep_stderr)
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return pfd[1];
}

static void report_ready(int *fd, const char *error)
{
	if (*fd < 0)
		return;
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%c%s", error ? 'E' : 'O', error ? error : "");
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (write(*fd, buf, (size_t)n) < 0) {
		/* the parent is gone; nothing to do */
	}
	close(*fd);
	*fd = -1;
}

static char *describe_interfaces(const rg_config *cfg)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < cfg->interfaces->len; i++) {
		const rg_iface_cfg *ifc = cfg->interfaces->pdata[i];
		if (i)
			g_string_append(s, ", ");
		g_string_append_printf(s, "%s/%s", ifc->name, ifc->addr);
		if (strcmp(ifc->addr, ifc->advertised) != 0)
			g_string_append_printf(s, "!%s", ifc->advertised);
	}
	return g_string_free(s, FALSE);
}

static char *join_list(GPtrArray *a)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < a->len; i++) {
		if (i)
			g_string_append(s, ", ");
		g_string_append(s, a->pdata[i]);
	}
	return g_string_free(s, FALSE);
}

int main(int argc, char **argv)
{
	rg_config cfg;
	char *err = NULL;
	int ready_fd = -1;
	int rc = 0;

	if (rg_config_load(&cfg, argc, argv, &err)) {
		fprintf(stderr, "rtpgate: %s\nTry 'rtpgate --help' for more information.\n", err);
		g_free(err);
		return 2;
	}
	syslog_facility = rg_log_parse_facility(cfg.log_facility);
	if (syslog_facility < 0)
		syslog_facility = LOG_DAEMON;

	rg_log_init(cfg.log_stderr, cfg.log_level, "rtpgate");
	apply_facility(&cfg);

	signal(SIGPIPE, SIG_IGN);

	if (!cfg.foreground)
		ready_fd = daemonize(cfg.log_stderr);

	if (cfg.pidfile) {
		int r = rg_pidfile_write(cfg.pidfile);
		if (r) {
			char *m = g_strdup_printf("cannot write pidfile '%s': %s", cfg.pidfile, g_strerror(-r));
			rg_log(RG_LOG_ERR, "%s", m);
			if (cfg.foreground && !cfg.log_stderr)
				fprintf(stderr, "rtpgate: %s\n", m);
			report_ready(&ready_fd, m);
			g_free(m);
			rg_config_clear(&cfg);
			return 1;
		}
	}

	GMainContext *ctx = g_main_context_default();
	GMainLoop *loop = g_main_loop_new(ctx, FALSE);
	guint sig_term = g_unix_signal_add(SIGTERM, on_quit, loop);
	guint sig_int = g_unix_signal_add(SIGINT, on_quit, loop);
	guint sig_hup = g_unix_signal_add(SIGHUP, on_hup, &cfg);

	char *ifs = describe_interfaces(&cfg);
	char *ngs = join_list(cfg.listen_ng);
	char *rps = join_list(cfg.listen_rtpproxy);
	rg_log(RG_LOG_NOTICE, "rtpgate %s starting (%u workers, interfaces %s, NG on %s, rtpproxy on %s, "
	       "ports %u-%u)", RG_VERSION, cfg.num_threads, ifs, ngs, rps, cfg.port_min, cfg.port_max);
	g_free(ifs);
	g_free(ngs);
	g_free(rps);
	if (cfg.config_file)
		rg_log(RG_LOG_INFO, "config file %s", cfg.config_file);

#ifdef RG_HAVE_ENGINE
	char *eerr = NULL;
	int er = rg_engine_start(&cfg, ctx, &eerr);
	if (er) {
		char *m = g_strdup_printf("cannot start: %s", eerr ? eerr : g_strerror(-er));
		rg_log(RG_LOG_ERR, "%s", m);
		if (cfg.foreground && !cfg.log_stderr)
			fprintf(stderr, "rtpgate: %s\n", m);
		report_ready(&ready_fd, m);
		g_free(m);
		g_free(eerr);
		rc = 1;
		goto out;
	}
#else
	rg_log(RG_LOG_WARN, "built without the media engine (engine.h missing): running an idle main loop");
#endif

	report_ready(&ready_fd, NULL);
	g_main_loop_run(loop);

	rg_log(RG_LOG_NOTICE, "shutting down");
#ifdef RG_HAVE_ENGINE
	rg_engine_stop();
#endif
	rg_log(RG_LOG_NOTICE, "stopped");

#ifdef RG_HAVE_ENGINE
out:
#endif
	g_source_remove(sig_term);
	g_source_remove(sig_int);
	g_source_remove(sig_hup);
	g_main_loop_unref(loop);
	if (cfg.pidfile)
		rg_pidfile_remove(cfg.pidfile);
	rg_config_clear(&cfg);
	return rc;
}
