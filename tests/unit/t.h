/*
 * t.h: the tiny unit-test harness.  Each u-*.c is one ctest executable:
 *
 *	T_TEST(buf_grows) { ... T_ASSERT(x == 1); T_STREQ(a, "b"); }
 *	int main(void) { T_RUN(buf_grows); ...; return T_DONE(); }
 *
 * A failed assertion prints file:line and the expression, and marks the
 * test failed; T_DONE prints "N passed, N failed" and returns non-zero
 * if anything failed.
 */
#ifndef VP_T_H
#define VP_T_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail, t_cur_failed;

#define T_TEST(name)	static void t_##name(void)
#define T_RUN(name) do {						\
	t_cur_failed = 0;						\
	t_##name();							\
	if (t_cur_failed) {						\
		t_fail++;						\
		printf("FAIL %s\n", #name);				\
	} else {							\
		t_pass++;						\
		printf("ok   %s\n", #name);				\
	}								\
} while (0)
#define T_ASSERT(e) do {						\
	if (!(e)) {							\
		printf("  %s:%d: assertion failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		t_cur_failed = 1;					\
		return;							\
	}								\
} while (0)
#define T_STREQ(a, b) do {						\
	const char *t_a = (a), *t_b = (b);				\
	if (t_a == NULL || t_b == NULL || strcmp(t_a, t_b) != 0) {	\
		printf("  %s:%d: expected \"%s\"\n      got      \"%s\"\n",\
		    __FILE__, __LINE__, t_b ? t_b : "(null)",		\
		    t_a ? t_a : "(null)");				\
		t_cur_failed = 1;					\
		return;							\
	}								\
} while (0)
#define T_INTEQ(a, b) do {						\
	long t_a = (long)(a), t_b = (long)(b);				\
	if (t_a != t_b) {						\
		printf("  %s:%d: %s == %ld, expected %ld\n", __FILE__,	\
		    __LINE__, #a, t_a, t_b);				\
		t_cur_failed = 1;					\
		return;							\
	}								\
} while (0)
#define T_DONE() (printf("%d passed, %d failed\n", t_pass, t_fail),	\
	t_fail != 0)

#endif
