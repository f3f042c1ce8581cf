/* Reads the binary plan that src/plan/encode.ts writes. Only skiff writes
 * plans, but nothing here trusts one: every op must have the code of a
 * handler and exactly the integers and strings that handler reads (the
 * counts come from src/plan/ops.ts through the generated OP_SHAPES), and
 * the plan stays within PLAN_MAX_OPS ops and PLAN_MAX_BYTES of strings.
 * Anything else is refused before the first op runs. */
#include "init.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct op_shape {
	uint32_t code;
	uint16_t nints, nstrs;
	const char *name;
};

static const struct op_shape SHAPES[] = {
#define SHAPE(UP, name, ni, ns) {OP_##UP, ni, ns, #name},
	OP_SHAPES(SHAPE)
#undef SHAPE
};

static const struct op_shape *shape_of(uint32_t code)
{
	for (size_t k = 0; k < sizeof SHAPES / sizeof SHAPES[0]; k++)
		if (SHAPES[k].code == code)
			return &SHAPES[k];
	return NULL;
}

/* The plan arrives in a few large reads, not one read per field (hundreds
 * of system calls). skiff writes nothing after the plan until skiff-init
 * speaks first, so nothing past the plan can be read here; read_plan checks
 * that and refuses trailing bytes. */
static struct {
	char buf[16384];
	size_t at, len;
} in;

/* 0 when len bytes were read; -1 at end of input or on an error. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		if (in.at == in.len) {
			ssize_t n = read(fd, in.buf, sizeof in.buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				errno = 0; /* end of input: no errno to report */
			if (n <= 0)
				return -1;
			in.at = 0;
			in.len = (size_t)n;
		}
		size_t take = in.len - in.at < len - got ? in.len - in.at : len - got;
		memcpy((char *)buf + got, in.buf + in.at, take);
		in.at += take;
		got += take;
	}
	return 0;
}

/* The input ended (or failed) inside op k; name is NULL before its code. */
static int cut_short(struct err *e, uint32_t k, const char *name)
{
	if (!name)
		return fail(e, errno, "read plan: op %u is cut short", k);
	return fail(e, errno, "read plan: op %u (%s) is cut short", k, name);
}

/* One op: its head, then exactly the fields its handler reads. */
static int read_op(int fd, uint32_t k, struct op *o, uint64_t *bytes, struct err *e)
{
	uint32_t code;
	uint16_t counts[2];
	if (read_full(fd, &code, 4) < 0 || read_full(fd, counts, 4) < 0)
		return cut_short(e, k, NULL);
	const struct op_shape *shape = shape_of(code);
	if (!shape)
		return fail(e, 0, "read plan: op %u has unknown code %u", k, code);
	if (counts[0] != shape->nints || counts[1] != shape->nstrs)
		return fail(e, 0, "read plan: op %u (%s) has %u integers and %u strings, %s reads %u and %u", k,
			    shape->name, counts[0], counts[1], shape->name, shape->nints, shape->nstrs);
	o->code = code;
	o->nints = counts[0];
	o->nstrs = counts[1];
	if (read_full(fd, o->i, 8u * o->nints) < 0)
		return cut_short(e, k, shape->name);
	for (int s = 0; s < o->nstrs; s++) {
		uint32_t len;
		if (read_full(fd, &len, 4) < 0)
			return cut_short(e, k, shape->name);
		*bytes += len;
		if (*bytes > PLAN_MAX_BYTES)
			return fail(e, 0, "read plan: op %u (%s) takes the plan past %u bytes of strings", k, shape->name,
				    (unsigned)PLAN_MAX_BYTES);
		o->s[s] = malloc((size_t)len + 1);
		if (!o->s[s])
			return fail(e, ENOMEM, "read plan: op %u (%s)", k, shape->name);
		if (read_full(fd, o->s[s], len) < 0)
			return cut_short(e, k, shape->name);
		o->s[s][len] = 0;
		o->slen[s] = len;
	}
	return 0;
}

int read_plan(int fd, struct op **ops_out, uint32_t *nops_out, struct err *e)
{
	uint32_t head[2];
	if (read_full(fd, head, sizeof head) < 0)
		return fail(e, errno, "read plan: the header is cut short");
	if (head[0] != 0x31504b53)
		return fail(e, 0, "read plan: bad magic 0x%08x", head[0]);
	uint32_t nops = head[1];
	if (nops > PLAN_MAX_OPS)
		return fail(e, 0, "read plan: %u ops, more than the %u a plan may hold", nops, (unsigned)PLAN_MAX_OPS);
	struct op *ops = calloc(nops ? nops : 1, sizeof *ops);
	if (!ops)
		return fail(e, ENOMEM, "read plan: allocate %u ops", nops);
	uint64_t bytes = 0;
	for (uint32_t k = 0; k < nops; k++)
		if (read_op(fd, k, &ops[k], &bytes, e) < 0)
			return -1; /* skiff-init exits: nothing to free */
	if (in.at != in.len)
		return fail(e, 0, "read plan: %zu bytes after its last op", in.len - in.at);
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
