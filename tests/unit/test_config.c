/* Unit tests for gateway/config.c and gateway/pidfile.c: command line, config file, precedence,
 * interface / listen specs, error messages, pidfile. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static char *tmpdir_path;

/* Created on first use, so that subprocess runs (--help exits) leave nothing behind. */
static const char *get_tmpdir(void)
{
	if (!tmpdir_path) {
		tmpdir_path = g_dir_make_tmp("rg-test-config-XXXXXX", NULL);
		g_assert_nonnull(tmpdir_path);
	}
	return tmpdir_path;
}
#define tmpdir get_tmpdir()

/* Run rg_config_load on a shell-like command line. */
static int load_line(rg_config *cfg, const char *line, char **err)
{
	char **argv = NULL;
	int argc = 0;
	GError *gerr = NULL;
	if (!g_shell_parse_argv(line, &argc, &argv, &gerr))
		g_error("bad test command line: %s", gerr->message);
	*err = NULL;
	int r = rg_config_load(cfg, argc, argv, err);
	g_strfreev(argv);
	return r;
}

static char *write_conf(const char *name, const char *text)
{
	char *path = g_build_filename(tmpdir, name, NULL);
	GError *gerr = NULL;
	if (!g_file_set_contents(path, text, -1, &gerr))
		g_error("%s", gerr->message);
	return path;
}

/* Expect a load failure whose message contains want. */
static void expect_fail(const char *line, const char *want)
{
	rg_config cfg;
	char *err = NULL;
	int r = load_line(&cfg, line, &err);
	if (r != -EINVAL || !err || !strstr(err, want))
		g_error("'%s': expected failure containing \"%s\", got r=%d err=%s", line, want, r,
			err ? err : "(null)");
	/* the struct is left cleared */
	g_assert_null(cfg.interfaces);
	g_assert_null(cfg.listen_ng);
	rg_config_clear(&cfg);
	g_free(err);
}

static const rg_iface_cfg *iface(const rg_config *cfg, guint i)
{
	g_assert_cmpuint(i, <, cfg->interfaces->len);
	return cfg->interfaces->pdata[i];
}

static const char *str_at(GPtrArray *a, guint i)
{
	g_assert_cmpuint(i, <, a->len);
	return a->pdata[i];
}

static void test_cmdline_exact(void)
{
	rg_config cfg;
	char *err;
	int r = load_line(&cfg, "rtpgate --config-file=none --foreground --log-stderr --interface=127.0.0.1 "
			  "--listen-ng=127.0.0.1:22222 --port-min=30000 --port-max=30999", &err);
	g_assert_cmpint(r, ==, 0);
	g_assert_null(err);
	g_assert_null(cfg.config_file);
	g_assert_true(cfg.foreground);
	g_assert_true(cfg.log_stderr);
	g_assert_cmpint(cfg.log_level, ==, 6);
	g_assert_cmpstr(cfg.log_facility, ==, "daemon");
	g_assert_null(cfg.pidfile);
	g_assert_cmpuint(cfg.interfaces->len, ==, 1);
	g_assert_cmpstr(iface(&cfg, 0)->name, ==, "default");
	g_assert_cmpstr(iface(&cfg, 0)->addr, ==, "127.0.0.1");
	g_assert_cmpstr(iface(&cfg, 0)->advertised, ==, "127.0.0.1");
	g_assert_cmpint(iface(&cfg, 0)->family, ==, AF_INET);
	g_assert_cmpuint(cfg.listen_ng->len, ==, 1);
	g_assert_cmpstr(str_at(cfg.listen_ng, 0), ==, "127.0.0.1:22222");
	g_assert_cmpuint(cfg.listen_rtpproxy->len, ==, 1);
	g_assert_cmpstr(str_at(cfg.listen_rtpproxy, 0), ==, "udp:127.0.0.1:7722");
	g_assert_cmpuint(cfg.port_min, ==, 30000);
	g_assert_cmpuint(cfg.port_max, ==, 30999);
	g_assert_cmpuint(cfg.timeout, ==, 60);
	g_assert_cmpuint(cfg.silent_timeout, ==, 3600);
	g_assert_cmpuint(cfg.final_timeout, ==, 0);
	g_assert_cmpuint(cfg.offer_timeout, ==, 3600);
	g_assert_cmpuint(cfg.delete_delay, ==, 30);
	g_assert_cmpuint(cfg.num_threads, ==, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	g_assert_cmpuint(cfg.max_sessions, ==, 0);
	g_assert_null(cfg.recording_dir);
	rg_config_clear(&cfg);
	g_assert_null(cfg.interfaces);
	rg_config_clear(&cfg); /* idempotent */
}

static void test_defaults(void)
{
	rg_config cfg;
	char *err;
	g_assert_cmpint(load_line(&cfg, "rtpgate --config-file=none", &err), ==, 0);
	g_assert_false(cfg.foreground);
	g_assert_false(cfg.log_stderr);
	g_assert_cmpuint(cfg.interfaces->len, ==, 1);
	g_assert_cmpstr(iface(&cfg, 0)->name, ==, "default");
	g_assert_cmpstr(iface(&cfg, 0)->addr, ==, "127.0.0.1");
	g_assert_cmpstr(str_at(cfg.listen_ng, 0), ==, "127.0.0.1:2223");
	g_assert_cmpuint(cfg.port_min, ==, 30000);
	g_assert_cmpuint(cfg.port_max, ==, 40000);
	g_assert_cmpuint(cfg.num_threads, >=, 1);
	rg_config_clear(&cfg);
}

static void test_short_options(void)
{
	rg_config cfg;
	char *err;
	char *line = g_strdup_printf("rtpgate --config-file=none -f -E -L 7 -i ext/192.0.2.1!198.51.100.1 "
				     "-i int/10.0.0.1 -n 2224 -n [::1]:2225 -p %s/x.pid -m 31001 -M 32000 "
				     "-o 10 -s 20 -a 7200 -d 5 --offer-timeout=90 --num-threads=3 "
				     "--max-sessions=100 --log-facility=LOCAL3 --listen-rtpproxy=udp6:[::1]:7723 "
				     "--listen-rtpproxy=unix:/run/rg.sock --recording-dir=/var/spool/rg",
				     tmpdir);
	int r = load_line(&cfg, line, &err);
	if (r)
		g_error("%s", err);
	g_assert_true(cfg.foreground);
	g_assert_true(cfg.log_stderr);
	g_assert_cmpint(cfg.log_level, ==, 7);
	g_assert_cmpstr(cfg.log_facility, ==, "local3");
	g_assert_cmpuint(cfg.interfaces->len, ==, 2);
	g_assert_cmpstr(iface(&cfg, 0)->name, ==, "ext");
	g_assert_cmpstr(iface(&cfg, 0)->addr, ==, "192.0.2.1");
	g_assert_cmpstr(iface(&cfg, 0)->advertised, ==, "198.51.100.1");
	g_assert_cmpstr(iface(&cfg, 1)->name, ==, "int");
	g_assert_cmpstr(iface(&cfg, 1)->advertised, ==, "10.0.0.1");
	g_assert_cmpuint(cfg.listen_ng->len, ==, 2);
	g_assert_cmpstr(str_at(cfg.listen_ng, 0), ==, "2224");
	g_assert_cmpstr(str_at(cfg.listen_ng, 1), ==, "[::1]:2225");
	g_assert_cmpuint(cfg.listen_rtpproxy->len, ==, 2);
	g_assert_cmpstr(str_at(cfg.listen_rtpproxy, 0), ==, "udp6:[::1]:7723");
	g_assert_cmpstr(str_at(cfg.listen_rtpproxy, 1), ==, "unix:/run/rg.sock");
	char *pid = g_strdup_printf("%s/x.pid", tmpdir);
	g_assert_cmpstr(cfg.pidfile, ==, pid);
	g_free(pid);
	g_assert_cmpuint(cfg.port_min, ==, 31002); /* made even */
	g_assert_cmpuint(cfg.port_max, ==, 32000);
	g_assert_cmpuint(cfg.timeout, ==, 10);
	g_assert_cmpuint(cfg.silent_timeout, ==, 20);
	g_assert_cmpuint(cfg.final_timeout, ==, 7200);
	g_assert_cmpuint(cfg.offer_timeout, ==, 90);
	g_assert_cmpuint(cfg.delete_delay, ==, 5);
	g_assert_cmpuint(cfg.num_threads, ==, 3);
	g_assert_cmpuint(cfg.max_sessions, ==, 100);
	g_assert_cmpstr(cfg.recording_dir, ==, "/var/spool/rg");
	rg_config_clear(&cfg);
	g_free(line);
}

static void test_special_numbers(void)
{
	rg_config cfg;
	char *err;
	g_assert_cmpint(load_line(&cfg, "rtpgate --config-file=none --num-threads=0 --max-sessions=-1 "
				  "--timeout=0 --log-level=debug", &err), ==, 0);
	g_assert_cmpuint(cfg.num_threads, ==, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	g_assert_cmpuint(cfg.max_sessions, ==, 0);
	g_assert_cmpuint(cfg.timeout, ==, 0);
	g_assert_cmpint(cfg.log_level, ==, 7);
	rg_config_clear(&cfg);
}

static void test_relative_paths(void)
{
	rg_config cfg;
	char *err;
	g_assert_cmpint(load_line(&cfg, "rtpgate --config-file=none --pidfile=run/rg.pid "
				  "--listen-rtpproxy=unix:rg.sock --recording-dir=rec", &err), ==, 0);
	char *cwd = g_get_current_dir();
	char *want = g_build_filename(cwd, "run/rg.pid", NULL);
	g_assert_cmpstr(cfg.pidfile, ==, want);
	g_free(want);
	want = g_strconcat("unix:", cwd, "/rg.sock", NULL);
	g_assert_cmpstr(str_at(cfg.listen_rtpproxy, 0), ==, want);
	g_free(want);
	g_assert_true(g_path_is_absolute(cfg.recording_dir));
	g_free(cwd);
	rg_config_clear(&cfg);
}

static const char full_conf[] =
	"# test config\n"
	"[other]\n"
	"port-min = 1\n"
	"[rtpgate]\n"
	"foreground = true\n"
	"log-stderr = false\n"
	"log-level = 5\n"
	"log-facility = local1\n"
	"interface = internal/10.1.1.1 ; external/10.1.1.2!203.0.113.7;v6/2001:db8::5!2001:db8::6\n"
	"listen-ng = 127.0.0.1:2300; [::1]:2301\n"
	"listen-rtpproxy = udp:127.0.0.1:7800\n"
	"port-min = 20000\n"
	"port-max = 20999\n"
	"timeout = 61\n"
	"silent-timeout = 601\n"
	"final-timeout = 10800\n"
	"offer-timeout = 300\n"
	"delete-delay = 0\n"
	"num-threads = 2\n"
	"max-sessions = 500\n"
	"pidfile = /run/rtpgate/rtpgate.pid\n"
	"recording-dir = /var/spool/rtpgate\n";

static void check_full_conf(const rg_config *cfg)
{
	g_assert_true(cfg->foreground);
	g_assert_false(cfg->log_stderr);
	g_assert_cmpint(cfg->log_level, ==, 5);
	g_assert_cmpstr(cfg->log_facility, ==, "local1");
	g_assert_cmpuint(cfg->interfaces->len, ==, 3);
	g_assert_cmpstr(iface(cfg, 0)->name, ==, "internal");
	g_assert_cmpstr(iface(cfg, 0)->addr, ==, "10.1.1.1");
	g_assert_cmpstr(iface(cfg, 0)->advertised, ==, "10.1.1.1");
	g_assert_cmpstr(iface(cfg, 1)->name, ==, "external");
	g_assert_cmpstr(iface(cfg, 1)->advertised, ==, "203.0.113.7");
	g_assert_cmpstr(iface(cfg, 2)->name, ==, "v6");
	g_assert_cmpstr(iface(cfg, 2)->addr, ==, "2001:db8::5");
	g_assert_cmpstr(iface(cfg, 2)->advertised, ==, "2001:db8::6");
	g_assert_cmpint(iface(cfg, 2)->family, ==, AF_INET6);
	g_assert_cmpuint(cfg->listen_ng->len, ==, 2);
	g_assert_cmpstr(str_at(cfg->listen_ng, 0), ==, "127.0.0.1:2300");
	g_assert_cmpstr(str_at(cfg->listen_ng, 1), ==, "[::1]:2301");
	g_assert_cmpuint(cfg->listen_rtpproxy->len, ==, 1);
	g_assert_cmpstr(str_at(cfg->listen_rtpproxy, 0), ==, "udp:127.0.0.1:7800");
	g_assert_cmpuint(cfg->port_min, ==, 20000);
	g_assert_cmpuint(cfg->port_max, ==, 20999);
	g_assert_cmpuint(cfg->timeout, ==, 61);
	g_assert_cmpuint(cfg->silent_timeout, ==, 601);
	g_assert_cmpuint(cfg->final_timeout, ==, 10800);
	g_assert_cmpuint(cfg->offer_timeout, ==, 300);
	g_assert_cmpuint(cfg->delete_delay, ==, 0);
	g_assert_cmpuint(cfg->num_threads, ==, 2);
	g_assert_cmpuint(cfg->max_sessions, ==, 500);
	g_assert_cmpstr(cfg->pidfile, ==, "/run/rtpgate/rtpgate.pid");
	g_assert_cmpstr(cfg->recording_dir, ==, "/var/spool/rtpgate");
}

static void test_file(void)
{
	char *path = write_conf("full.conf", full_conf);
	char *line = g_strdup_printf("rtpgate --config-file=%s", path);
	rg_config cfg;
	char *err;
	int r = load_line(&cfg, line, &err);
	if (r)
		g_error("%s", err);
	g_assert_cmpstr(cfg.config_file, ==, path);
	check_full_conf(&cfg);
	rg_config_clear(&cfg);
	g_free(line);
	g_free(path);
}

static void test_file_rtpengine_section(void)
{
	/* a migrated rtpengine.conf: [rtpengine] group, unknown rtpengine-only keys only warn */
	char *path = write_conf("rtpengine.conf",
				"[rtpengine]\n"
				"table = -1\n"
				"interface = 192.0.2.10\n"
				"listen-ng = 127.0.0.1:22222\n"
				"port-min = 35000\n"
				"port-max = 35999\n"
				"log-level = 6\n"
				"tos = 184\n");
	char *line = g_strdup_printf("rtpgate --config-file=%s", path);
	rg_config cfg;
	char *err;
	int r = load_line(&cfg, line, &err);
	if (r)
		g_error("%s", err);
	g_assert_cmpstr(iface(&cfg, 0)->addr, ==, "192.0.2.10");
	g_assert_cmpstr(str_at(cfg.listen_ng, 0), ==, "127.0.0.1:22222");
	g_assert_cmpuint(cfg.port_min, ==, 35000);
	rg_config_clear(&cfg);
	g_free(line);

	/* [rtpgate] wins over [rtpengine] when both exist */
	g_free(path);
	path = write_conf("both.conf", "[rtpengine]\nport-min = 35000\n[rtpgate]\nport-min = 36000\n");
	line = g_strdup_printf("rtpgate --config-file=%s", path);
	g_assert_cmpint(load_line(&cfg, line, &err), ==, 0);
	g_assert_cmpuint(cfg.port_min, ==, 36000);
	rg_config_clear(&cfg);
	g_free(line);

	/* --config-section picks another group */
	line = g_strdup_printf("rtpgate --config-file=%s --config-section=rtpengine", path);
	g_assert_cmpint(load_line(&cfg, line, &err), ==, 0);
	g_assert_cmpuint(cfg.port_min, ==, 35000);
	rg_config_clear(&cfg);
	g_free(line);

	line = g_strdup_printf("rtpgate --config-file=%s --config-section=nope", path);
	char *want = g_strdup_printf("config file '%s' has no [nope] section", path);
	expect_fail(line, want);
	g_free(want);
	g_free(line);
	g_free(path);

	path = write_conf("nosection.conf", "[foo]\nport-min = 35000\n");
	line = g_strdup_printf("rtpgate --config-file=%s", path);
	expect_fail(line, "has no [rtpgate] (or [rtpengine]) section");
	g_free(line);
	g_free(path);
}

#ifndef RG_TEST_SRCDIR
#define RG_TEST_SRCDIR "."
#endif

/* The config files shipped in conf/ load and mean what they say. */
static void test_shipped_files(void)
{
	rg_config cfg;
	char *err;
	g_assert_cmpint(load_line(&cfg, "rtpgate --config-file=" RG_TEST_SRCDIR "/conf/rtpgate.conf", &err), ==, 0);
	g_assert_cmpuint(cfg.interfaces->len, ==, 1);
	g_assert_cmpstr(iface(&cfg, 0)->addr, ==, "127.0.0.1");
	g_assert_cmpstr(str_at(cfg.listen_ng, 0), ==, "127.0.0.1:2223");
	g_assert_cmpstr(str_at(cfg.listen_rtpproxy, 0), ==, "udp:127.0.0.1:7722");
	g_assert_cmpuint(cfg.port_min, ==, 30000);
	g_assert_cmpuint(cfg.port_max, ==, 40000);
	g_assert_cmpuint(cfg.timeout, ==, 60);
	g_assert_cmpuint(cfg.silent_timeout, ==, 3600);
	g_assert_cmpuint(cfg.final_timeout, ==, 0);
	g_assert_cmpuint(cfg.offer_timeout, ==, 3600);
	g_assert_cmpuint(cfg.delete_delay, ==, 30);
	g_assert_false(cfg.foreground);
	g_assert_null(cfg.pidfile);
	rg_config_clear(&cfg);

	g_assert_cmpint(load_line(&cfg, "rtpgate --config-file=" RG_TEST_SRCDIR "/conf/rtpgate-example-nat.conf",
				  &err), ==, 0);
	g_assert_cmpuint(cfg.interfaces->len, ==, 2);
	g_assert_cmpstr(iface(&cfg, 0)->name, ==, "internal");
	g_assert_cmpstr(iface(&cfg, 1)->name, ==, "external");
	g_assert_cmpstr(iface(&cfg, 1)->addr, ==, "192.168.100.10");
	g_assert_cmpstr(iface(&cfg, 1)->advertised, ==, "203.0.113.10");
	g_assert_cmpstr(cfg.log_facility, ==, "local5");
	rg_config_clear(&cfg);
}

static void test_precedence(void)
{
	char *path = write_conf("prec.conf", full_conf);
	char *line = g_strdup_printf("rtpgate --config-file=%s --port-min=20500 --interface=192.0.2.5 "
				     "--interface=x/192.0.2.6 --log-stderr -L 3", path);
	rg_config cfg;
	char *err;
	int r = load_line(&cfg, line, &err);
	if (r)
		g_error("%s", err);
	/* command line wins */
	g_assert_cmpuint(cfg.port_min, ==, 20500);
	g_assert_true(cfg.log_stderr);
	g_assert_cmpint(cfg.log_level, ==, 3);
	/* a list on the command line replaces the file's list */
	g_assert_cmpuint(cfg.interfaces->len, ==, 2);
	g_assert_cmpstr(iface(&cfg, 0)->name, ==, "default");
	g_assert_cmpstr(iface(&cfg, 0)->addr, ==, "192.0.2.5");
	g_assert_cmpstr(iface(&cfg, 1)->name, ==, "x");
	/* the file beats the defaults */
	g_assert_cmpuint(cfg.port_max, ==, 20999);
	g_assert_cmpuint(cfg.timeout, ==, 61);
	g_assert_cmpuint(cfg.listen_ng->len, ==, 2);
	g_assert_cmpstr(str_at(cfg.listen_ng, 0), ==, "127.0.0.1:2300");
	g_assert_true(cfg.foreground);
	rg_config_clear(&cfg);
	g_free(line);

	/* the file's port-max 20999 with a command line port-min above it */
	line = g_strdup_printf("rtpgate --config-file=%s --port-min=25000", path);
	expect_fail(line, "--port-min (25000) must be lower than --port-max (20999)");
	g_free(line);
	g_free(path);
}

static void test_file_errors(void)
{
	struct { const char *text; const char *want; } cases[] = {
		{ "[rtpgate]\nport-min = abc\n", "port-min: 'abc' is not a number between 1024 and 65535" },
		{ "[rtpgate]\ninterface = 127.0.0.1;foo/1.2.3\n", "interface: 'foo/1.2.3' is not an IP address" },
		{ "[rtpgate]\nforeground = maybe\n", "foreground: 'maybe' is not a boolean" },
		{ "[rtpgate]\nlisten-ng = 127.0.0.1:99999\n", "listen-ng: '127.0.0.1:99999': port '99999'" },
		{ "[rtpgate]\ninterface = ;\n", "interface: empty list" },
		{ "[rtpgate]\nlog-level = loud\n", "log-level: 'loud' is not a log level" },
		{ "[rtpgate\nport-min = 1\n", "config file '" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *name = g_strdup_printf("bad%zu.conf", i);
		char *path = write_conf(name, cases[i].text);
		char *line = g_strdup_printf("rtpgate --config-file=%s", path);
		expect_fail(line, cases[i].want);
		if (i < 6) {
			char *want = g_strdup_printf("%s: ", path); /* the message names the file */
			expect_fail(line, want);
			g_free(want);
		}
		g_free(line);
		g_free(path);
		g_free(name);
	}
	char *line = g_strdup_printf("rtpgate --config-file=%s/does-not-exist.conf", tmpdir);
	expect_fail(line, "does-not-exist.conf");
	g_free(line);

	/* unknown keys and command-line-only keys only warn */
	char *path = write_conf("unknown.conf", "[rtpgate]\nno-such-key = 1\nconfig-file = /x\nport-min = 30002\n");
	line = g_strdup_printf("rtpgate --config-file=%s", path);
	rg_config cfg;
	char *err;
	g_assert_cmpint(load_line(&cfg, line, &err), ==, 0);
	g_assert_cmpuint(cfg.port_min, ==, 30002);
	rg_config_clear(&cfg);
	g_free(line);
	g_free(path);
}

static void test_bad_cmdline(void)
{
	expect_fail("rtpgate --config-file=none --port-min=31000 --port-max=30000",
		    "--port-min (31000) must be lower than --port-max (30000)");
	expect_fail("rtpgate --config-file=none --port-min=30000 --port-max=30000",
		    "--port-min (30000) must be lower than --port-max (30000)");
	expect_fail("rtpgate --config-file=none --port-min=30001 --port-max=30002", "is too small");
	expect_fail("rtpgate --config-file=none --port-min=80", "--port-min: '80' is not a number between 1024 and 65535");
	expect_fail("rtpgate --config-file=none --port-max=70000", "--port-max: '70000' is not a number");
	expect_fail("rtpgate --config-file=none --port-max=-5", "--port-max: '-5' is not a number");
	expect_fail("rtpgate --config-file=none --timeout=abc", "--timeout: 'abc' is not a number");
	expect_fail("rtpgate --config-file=none --timeout=", "--timeout: '' is not a number");
	expect_fail("rtpgate --config-file=none --num-threads=100000", "--num-threads: '100000'");
	expect_fail("rtpgate --config-file=none --max-sessions=-2", "--max-sessions: '-2'");
	expect_fail("rtpgate --config-file=none --log-level=loud", "--log-level: 'loud' is not a log level");
	expect_fail("rtpgate --config-file=none --log-level=8", "--log-level: '8'");
	expect_fail("rtpgate --config-file=none --log-facility=bar", "--log-facility: 'bar' is not a syslog facility");
	expect_fail("rtpgate --config-file=none --interface=foo/1.2.3", "--interface: 'foo/1.2.3' is not an IP address");
	expect_fail("rtpgate --config-file=none --interface=int/1.2.3.4!::1",
		    "--interface: 'int/1.2.3.4!::1': advertised address '::1' is IPv6 but '1.2.3.4' is IPv4");
	expect_fail("rtpgate --config-file=none -i a/1.2.3.4 -i a/1.2.3.4", "interface a/1.2.3.4 is given twice");
	expect_fail("rtpgate --config-file=none --listen-ng=::1:2223", "--listen-ng: '::1:2223': write IPv6 addresses in brackets");
	expect_fail("rtpgate --config-file=none --listen-rtpproxy=tcp:1.2.3.4:5",
		    "--listen-rtpproxy: 'tcp:1.2.3.4:5' is not udp:IP:PORT");
	expect_fail("rtpgate --config-file=none --pidfile=", "--pidfile: empty path");
	expect_fail("rtpgate --config-file=none --config-section=", "--config-section: empty");
	expect_fail("rtpgate --config-file= ", "--config-file: empty file name");
	expect_fail("rtpgate --config-file=none --bogus", "--bogus");
	expect_fail("rtpgate --config-file=none --port-min", "--port-min");
	expect_fail("rtpgate --config-file=none stray", "unexpected argument 'stray'");
}

static void test_iface_forms(void)
{
	struct { const char *spec, *name, *addr, *adv; int fam; } ok[] = {
		{ "127.0.0.1", "default", "127.0.0.1", "127.0.0.1", AF_INET },
		{ "1.2.3.4!5.6.7.8", "default", "1.2.3.4", "5.6.7.8", AF_INET },
		{ "ext/192.0.2.1", "ext", "192.0.2.1", "192.0.2.1", AF_INET },
		{ "ext/192.0.2.1!198.51.100.9", "ext", "192.0.2.1", "198.51.100.9", AF_INET },
		{ "external/::1", "external", "::1", "::1", AF_INET6 },
		{ "int/2001:db8::5!2001:db8::6", "int", "2001:db8::5", "2001:db8::6", AF_INET6 },
		{ "v6/[2001:db8::1]![2001:db8::2]", "v6", "2001:db8::1", "2001:db8::2", AF_INET6 },
		{ "2001:DB8:0:0::7", "default", "2001:db8::7", "2001:db8::7", AF_INET6 },
		{ "a.b-c_d:1/10.0.0.1", "a.b-c_d:1", "10.0.0.1", "10.0.0.1", AF_INET },
		{ "pub/0.0.0.0!203.0.113.1", "pub", "0.0.0.0", "203.0.113.1", AF_INET },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		rg_iface_cfg ifc;
		char *err = NULL;
		int r = rg_iface_parse(ok[i].spec, &ifc, &err);
		if (r)
			g_error("%s: %s", ok[i].spec, err);
		g_assert_null(err);
		g_assert_cmpstr(ifc.name, ==, ok[i].name);
		g_assert_cmpstr(ifc.addr, ==, ok[i].addr);
		g_assert_cmpstr(ifc.advertised, ==, ok[i].adv);
		g_assert_true(ifc.advertised != ifc.addr); /* a copy, not the same pointer */
		g_assert_cmpint(ifc.family, ==, ok[i].fam);
		rg_iface_clear(&ifc);
		g_assert_null(ifc.name);
	}

	struct { const char *spec, *want; } bad[] = {
		{ "foo/1.2.3", "'foo/1.2.3' is not an IP address" },
		{ "eth0", "'eth0' is not an IP address" },
		{ "1.2.3.4/24", "is not an IP address" },
		{ "", "empty interface" },
		{ "/1.2.3.4", "interface name '' is empty" },
		{ "bad name/1.2.3.4", "interface name 'bad name'" },
		{ "x/1.2.3.4!zz", "'x/1.2.3.4!zz': advertised address 'zz' is not an IP address" },
		{ "x/1.2.3.4!", "advertised address '' is not an IP address" },
		{ "int/1.2.3.4!::1", "advertised address '::1' is IPv6 but '1.2.3.4' is IPv4" },
		{ "int/2001:db8::5!192.0.2.1", "advertised address '192.0.2.1' is IPv4 but '2001:db8::5' is IPv6" },
		{ "0.0.0.0", "wildcard address '0.0.0.0' needs an advertised address" },
		{ "x/::", "wildcard address '::' needs" },
		{ "x/1.2.3.4!0.0.0.0", "is a wildcard address" },
		{ "x/1.2.3.4!5.6.7.8!9.9.9.9", "advertised address '5.6.7.8!9.9.9.9'" },
		{ "x/fe80::1%eth0", "is not an IP address" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		rg_iface_cfg ifc;
		char *err = NULL;
		int r = rg_iface_parse(bad[i].spec, &ifc, &err);
		if (r != -EINVAL || !err || !strstr(err, bad[i].want))
			g_error("'%s': expected \"%s\", got r=%d err=%s", bad[i].spec, bad[i].want, r,
				err ? err : "(null)");
		g_assert_null(ifc.name);
		g_assert_null(ifc.addr);
		g_free(err);
	}
	rg_iface_clear(NULL);
}

static void test_listen(void)
{
	struct { const char *spec, *addr; unsigned port; int fam; } ok[] = {
		{ "127.0.0.1:22222", "127.0.0.1", 22222, AF_INET },
		{ "2223", "0.0.0.0", 2223, AF_INET },
		{ "[::1]:2223", "::1", 2223, AF_INET6 },
		{ "[2001:db8::1]:65535", "2001:db8::1", 65535, AF_INET6 },
		{ "localhost:2223", "127.0.0.1", 2223, AF_INET },
		{ "0.0.0.0:1", "0.0.0.0", 1, AF_INET },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		char *err = NULL;
		int r = rg_parse_listen(ok[i].spec, &ss, &len, &err);
		if (r)
			g_error("%s: %s", ok[i].spec, err);
		char buf[INET6_ADDRSTRLEN];
		g_assert_cmpint(ss.ss_family, ==, ok[i].fam);
		if (ok[i].fam == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			g_assert_cmpuint(len, ==, sizeof(*sin));
			g_assert_cmpuint(ntohs(sin->sin_port), ==, ok[i].port);
			inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			g_assert_cmpuint(len, ==, sizeof(*sin6));
			g_assert_cmpuint(ntohs(sin6->sin6_port), ==, ok[i].port);
			inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		}
		g_assert_cmpstr(buf, ==, ok[i].addr);
	}
	struct { const char *spec, *want; } bad[] = {
		{ "", "empty address" },
		{ "::1:2223", "write IPv6 addresses in brackets" },
		{ "1.2.3.4:0", "port '0' is not a number between 1 and 65535" },
		{ "1.2.3.4:70000", "port '70000'" },
		{ "1.2.3.4:", "port ''" },
		{ "1.2.3.4", "'1.2.3.4' is not IP:PORT, [IPv6]:PORT or PORT" },
		{ "abc:1", "'abc' is not an IP address" },
		{ "[::1]2223", "is not IP:PORT" },
		{ "[1.2.3.4]:5", "'1.2.3.4' is not an IPv6 address" },
		{ "99999", "port '99999'" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char *err = NULL;
		int r = rg_parse_listen(bad[i].spec, &ss, &len, &err);
		if (r != -EINVAL || !err || !strstr(err, bad[i].want))
			g_error("'%s': expected \"%s\", got r=%d err=%s", bad[i].spec, bad[i].want, r,
				err ? err : "(null)");
		g_free(err);
	}
}

static void test_listen_rtpproxy(void)
{
	struct { const char *spec; int fam; unsigned port; const char *path; } ok[] = {
		{ "udp:127.0.0.1:7722", AF_INET, 7722, NULL },
		{ "udp:7722", AF_INET, 7722, NULL },
		{ "udp6:[::1]:7722", AF_INET6, 7722, NULL },
		{ "udp6:::1:7722", AF_INET6, 7722, NULL },
		{ "unix:/run/rtpgate.sock", 0, 0, "/run/rtpgate.sock" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char *path = NULL, *err = NULL;
		int r = rg_parse_listen_rtpproxy(ok[i].spec, &ss, &len, &path, &err);
		if (r)
			g_error("%s: %s", ok[i].spec, err);
		g_assert_cmpstr(path, ==, ok[i].path);
		if (!ok[i].path) {
			g_assert_cmpint(ss.ss_family, ==, ok[i].fam);
			g_assert_cmpuint(ntohs(((struct sockaddr_in *)&ss)->sin_port), ==, ok[i].port);
		} else {
			g_assert_cmpuint(len, ==, 0);
		}
		g_free(path);
	}
	const char *bad[] = { "tcp:1.2.3.4:5", "udp:[::1]:5", "udp6:1.2.3.4:5", "unix:", "udp:1.2.3.4",
			      "127.0.0.1:7722", "" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char *path = NULL, *err = NULL;
		int r = rg_parse_listen_rtpproxy(bad[i], &ss, &len, &path, &err);
		if (r != -EINVAL || !err || !strstr(err, bad[i]))
			g_error("'%s': expected an error naming it, got r=%d err=%s", bad[i], r, err ? err : "(null)");
		g_assert_null(path);
		g_free(err);
	}
}

static void test_facility(void)
{
	g_assert_cmpint(rg_log_parse_facility("daemon"), ==, LOG_DAEMON);
	g_assert_cmpint(rg_log_parse_facility("LOCAL7"), ==, LOG_LOCAL7);
	g_assert_cmpint(rg_log_parse_facility("nope"), ==, -1);
	g_assert_cmpint(rg_log_parse_facility(NULL), ==, -1);
}

static void test_pidfile(void)
{
	char *path = g_build_filename(tmpdir, "test.pid", NULL);
	g_assert_cmpint(rg_pidfile_write(path), ==, 0);
	char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	char *want = g_strdup_printf("%ld\n", (long)getpid());
	g_assert_cmpstr(text, ==, want);
	g_free(text);
	g_free(want);
	/* overwrite works */
	g_assert_cmpint(rg_pidfile_write(path), ==, 0);
	rg_pidfile_remove(path);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	rg_pidfile_remove(path); /* already gone: no-op */

	/* a pidfile of another process is left alone */
	g_assert_true(g_file_set_contents(path, "1\n", -1, NULL));
	rg_pidfile_remove(path);
	g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
	g_unlink(path);

	char *nodir = g_build_filename(tmpdir, "no/such/dir/x.pid", NULL);
	g_assert_cmpint(rg_pidfile_write(nodir), ==, -ENOENT);
	g_assert_cmpint(rg_pidfile_write(NULL), ==, -EINVAL);
	g_free(nodir);
	g_free(path);
}

static void subprocess_load(const char *line)
{
	rg_config cfg;
	char *err;
	load_line(&cfg, line, &err); /* exits for --help / --version */
	g_error("still running after '%s'", line);
}

static void sub_help(void)
{
	subprocess_load("rtpgate --help");
}

static void sub_version(void)
{
	subprocess_load("rtpgate --version");
}

static void test_help_version(void)
{
	g_test_trap_subprocess("/config/help-version/subprocess/help", 0, 0);
	g_test_trap_assert_passed();
	g_test_trap_assert_stdout("*--interface*[NAME/]IP[!ADVERTISED]*");
	g_test_trap_assert_stdout("*--listen-ng*");
	g_test_trap_assert_stdout("*-m, --port-min*");

	g_test_trap_subprocess("/config/help-version/subprocess/version", 0, 0);
	g_test_trap_assert_passed();
	g_test_trap_assert_stdout("rtpgate " RG_VERSION "\n");
}

static void rm_rf(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return;
	const char *n;
	while ((n = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, n, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			rm_rf(p);
		else
			g_unlink(p);
		g_free(p);
	}
	g_dir_close(d);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/config/cmdline-exact", test_cmdline_exact);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/short-options", test_short_options);
	g_test_add_func("/config/special-numbers", test_special_numbers);
	g_test_add_func("/config/relative-paths", test_relative_paths);
	g_test_add_func("/config/file", test_file);
	g_test_add_func("/config/file-rtpengine-section", test_file_rtpengine_section);
	g_test_add_func("/config/shipped-files", test_shipped_files);
	g_test_add_func("/config/precedence", test_precedence);
	g_test_add_func("/config/file-errors", test_file_errors);
	g_test_add_func("/config/bad-cmdline", test_bad_cmdline);
	g_test_add_func("/config/iface-forms", test_iface_forms);
	g_test_add_func("/config/listen", test_listen);
	g_test_add_func("/config/listen-rtpproxy", test_listen_rtpproxy);
	g_test_add_func("/config/facility", test_facility);
	g_test_add_func("/config/pidfile", test_pidfile);
	g_test_add_func("/config/help-version", test_help_version);
	g_test_add_func("/config/help-version/subprocess/help", sub_help);
	g_test_add_func("/config/help-version/subprocess/version", sub_version);

	int r = g_test_run();
	if (tmpdir_path) {
		rm_rf(tmpdir_path);
		g_free(tmpdir_path);
	}
	return r;
}
