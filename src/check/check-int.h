/*
 * check-int.h: internals shared by check.c (report, table, policy) and
 * rules.c (one function per rule).
 */
#ifndef VP_CHECK_INT_H
#define VP_CHECK_INT_H

#include "check/check.h"

#define CHECK_CANARY_PROJECT	"zzcanaryproj"
#define CHECK_CANARY_DOMAIN	"canary-domain.invalid"

int	check_images_pinned(const struct check_input *,
	    struct check_report *, char **);
int	check_network_matrix(const struct check_input *,
	    struct check_report *, char **);
int	check_published_ports(const struct check_input *,
	    struct check_report *, char **);
int	check_healthcheck(const struct check_input *, struct check_report *,
	    char **);
int	check_depends_on(const struct check_input *, struct check_report *,
	    char **);
int	check_ram_budget(const struct check_input *, struct check_report *,
	    char **);
int	check_secret_inline(const struct check_input *,
	    struct check_report *, char **);
int	check_container_hardening(const struct check_input *,
	    struct check_report *, char **);
int	check_docker_socket(const struct check_input *,
	    struct check_report *, char **);
int	check_ssh_lockout(const struct check_input *, struct check_report *,
	    char **);
int	check_portability(const struct check_input *, struct check_report *,
	    char **);
int	check_volume_owner(const struct check_input *, struct check_report *,
	    char **);

#endif
