/* Reads the binary plan that src/plan/encode.ts writes. */
#include "init.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int read_plan(int fd, struct op **ops_out, uint32_t *nops_out, struct err *e)
{
	uint32_t head[2];
	if (read_full(fd, head, sizeof head) < 0 || head[0] != 0x31504b53)
		return fail(e, EINVAL, "read plan header");
	uint32_t nops = head[1];
	struct op *ops = calloc(nops ? nops : 1, sizeof *ops);
	if (!ops)
		return fail(e, ENOMEM, "allocate plan");
	for (uint32_t k = 0; k < nops; k++) {
		struct op *o = &ops[k];
		uint32_t code;
		uint16_t counts[2];
		if (read_full(fd, &code, 4) < 0 || read_full(fd, counts, 4) < 0)
			return fail(e, EINVAL, "read plan op %u", k);
		o->code = code;
		o->nints = counts[0];
		o->nstrs = counts[1];
		if (o->nints > PLAN_MAX_INTS || o->nstrs > PLAN_MAX_STRS)
			return fail(e, EINVAL, "plan op %u has too many fields", k);
		if (read_full(fd, o->i, 8u * o->nints) < 0)
			return fail(e, EINVAL, "read plan op %u", k);
		for (int s = 0; s < o->nstrs; s++) {
			uint32_t len;
			if (read_full(fd, &len, 4) < 0 || len > (64u << 20))
				return fail(e, EINVAL, "read plan op %u", k);
			o->s[s] = malloc(len + 1);
			if (!o->s[s] || read_full(fd, o->s[s], len) < 0)
				return fail(e, EINVAL, "read plan op %u", k);
			o->s[s][len] = 0;
			o->slen[s] = len;
		}
	}
	*ops_out = ops;
	*nops_out = nops;
	return 0;
}

/* Lists travel NUL-joined; "" is the empty list. */
char **split_list(const struct op *o, int idx)
{
	const char *s = o->s[idx];
	uint32_t len = o->slen[idx];
	size_t n = len ? 1 : 0;
	for (uint32_t k = 0; k < len; k++)
		n += s[k] == 0;
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return NULL;
	size_t at = 0;
	for (size_t k = 0; k < n; k++) {
		v[k] = (char *)s + at;
		at += strlen(s + at) + 1;
	}
	return v;
}
