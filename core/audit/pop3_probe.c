/* The probed POP3 listing: see pop3_probe.h. */
#include "audit/pop3_probe.h"

#include <stdlib.h>
#include <string.h>

#include "audit/uidl_probe.h"
#include "mail/pop3.h"
#include "store/history.h"

bool pop3_probe_possible(const struct ma_pop3 *s)
{
	return ma_pop3_has_capa(s, "PIPELINING") && ma_pop3_has_capa(s, "UIDL");
}

/* The UIDLs on record in the server's order (L of uidl_probe.h), their
 * text in one block. Indexes and offsets are 32-bit: L holds as many UIDLs
 * as a POP3 STAT counts, and a text past 4 GB is refused as out of
 * memory. */
struct old_list {
	struct ma_text_block *text;
	uint32_t *off;
	uint64_t total;           /* their sizes on record, added up */
	size_t n, capn;
	size_t count;             /* as many as L must hold */
	uint32_t *by_uidl;        /* indexes sorted by UIDL, for the answers */
	bool unordered, too_many, oom;
};

/* Room for more UIDLs: doubled, never past count. */
static bool grow_old(struct old_list *o)
{
	size_t capn = o->capn ? o->capn * 2 : 1024;
	if (capn > o->count)
		capn = o->count;
	uint32_t *off = realloc(o->off, capn * sizeof *off);
	if (!off)
		return false;
	o->off = off;
	o->capn = capn;
	return true;
}

static int take_old(const char *uidl, uint32_t size, int64_t ord, void *ctx)
{
	struct old_list *o = ctx;
	if (ord < 0) {
		o->unordered = true;
		return 1;
	}
	if (o->n == o->count) {
		o->too_many = true;
		return 1;
	}
	if (o->n == o->capn && !grow_old(o))
		goto oom;
	size_t len = strlen(uidl) + 1;
	size_t used = o->text ? o->text->used : 0, cap = o->text ? o->text->cap : 0;
	if (cap - used < len) {
		size_t ncap = cap ? cap * 2 : 1 << 16;
		while (ncap - used < len)
			ncap *= 2;
		if (ncap > UINT32_MAX)
			goto oom;
		struct ma_text_block *t = realloc(o->text, sizeof *t + ncap);
		if (!t)
			goto oom;
		t->next = NULL;
		t->used = used;
		t->cap = ncap;
		o->text = t;
	}
	memcpy(o->text->text + used, uidl, len);
	o->off[o->n] = (uint32_t)used;
	o->total += size;
	o->text->used += len;
	o->n++;
	return 0;
oom:
	o->oom = true;
	return 1;
}

static void old_clear(struct old_list *o)
{
	free(o->text);
	free(o->off);
	free(o->by_uidl);
	memset(o, 0, sizeof *o);
}

static const char *old_uidl(const struct old_list *o, size_t i)
{
	return o->text->text + o->off[i];
}

static void swap_index(uint32_t *x, uint32_t *y)
{
	uint32_t t = *x;
	*x = *y;
	*y = t;
}

static int cmp_index(const struct old_list *o, uint32_t x, uint32_t y)
{
	return strcmp(old_uidl(o, x), old_uidl(o, y));
}

/* The indexes a[0..n) by their UIDL, in place: a quicksort (median of
 * three, Hoare's partition, the smaller side first, insertion sort below
 * 16). C11's qsort passes no context and the indexes compare through o
 * (no global: two audits may run at once); a merge sort needed a second
 * array, 3 MB at a million messages at the busiest moment. */
static void sort_by_uidl(const struct old_list *o, uint32_t *a, size_t n)
{
	while (n > 16) {
		size_t mid = (n - 1) / 2;
		if (cmp_index(o, a[mid], a[0]) < 0)
			swap_index(&a[mid], &a[0]);
		if (cmp_index(o, a[n - 1], a[0]) < 0)
			swap_index(&a[n - 1], &a[0]);
		if (cmp_index(o, a[n - 1], a[mid]) < 0)
			swap_index(&a[n - 1], &a[mid]);
		const char *pivot = old_uidl(o, a[mid]);
		size_t i = 0, j = n - 1;
		for (;;) {
			while (strcmp(old_uidl(o, a[i]), pivot) < 0)
				i++;
			while (strcmp(old_uidl(o, a[j]), pivot) > 0)
				j--;
			if (i >= j)
				break;
			swap_index(&a[i++], &a[j--]);
		}
		/* a[0..j] <= pivot <= a[j+1..n) */
		size_t left = j + 1;
		if (left < n - left) {
			sort_by_uidl(o, a, left);
			a += left;
			n -= left;
		} else {
			sort_by_uidl(o, a + left, n - left);
			n = left;
		}
	}
	for (size_t i = 1; i < n; i++) {
		uint32_t x = a[i];
		size_t k = i;
		for (; k > 0 && cmp_index(o, a[k - 1], x) > 0; k--)
			a[k] = a[k - 1];
		a[k] = x;
	}
}

/* Its 1-based index in L, 0: not in L. */
static size_t old_find(const struct old_list *o, const char *uidl)
{
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(old_uidl(o, o->by_uidl[mid]), uidl);
		if (c == 0)
			return (size_t)o->by_uidl[mid] + 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Reads L; false when it cannot serve (order not known, out of memory:
 * *oom) or does not hold exactly count UIDLs, each once. */
static bool old_load(struct ma_history *h, int64_t account, size_t count, struct old_list *o,
		     bool *oom)
{
	/* L must hold exactly count UIDLs: room for that many at once (no
	 * copies while it grows) unless count is beyond what a listing holds
	 * (a hostile STAT on record), and no more read once they do not fit. */
	o->count = count;
	if (count <= 1000000) {
		o->capn = count ? count : 1;
		o->off = malloc(o->capn * sizeof *o->off);
		if (!o->off) {
			*oom = true;
			return false;
		}
	}
	ma_status st = ma_history_pop3_ordered(h, account, take_old, o, NULL);
	*oom = o->oom || st == MA_ERR_NOMEM;
	if (st != MA_OK || o->oom || o->unordered || o->too_many || o->n != count)
		return false;
	o->by_uidl = malloc((o->n ? o->n : 1) * sizeof *o->by_uidl);
	if (!o->by_uidl) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < o->n; i++)
		o->by_uidl[i] = (uint32_t)i;
	sort_by_uidl(o, o->by_uidl, o->n);
	for (size_t i = 1; i < o->n; i++)
		if (strcmp(old_uidl(o, o->by_uidl[i - 1]), old_uidl(o, o->by_uidl[i])) == 0)
			return false;
	return true;
}

/* One round's answers, into the planner; the new ones' UIDLs kept. */
struct round {
	struct uidl_probe *p;
	const struct old_list *o;
	char (*fresh)[MA_UIDL_MAX + 1]; /* by number - head - 1 */
};

static void take_answer(uint32_t number, const char *uidl, void *ctx)
{
	struct round *r = ctx;
	if (number > r->p->head && number <= r->p->new_n)
		strcpy(r->fresh[number - r->p->head - 1], uidl);
	uidl_probe_answer(r->p, number, old_find(r->o, uidl));
}

/* A failure that left the session sound (the server refused a `UIDL n`
 * or `LIST n`, or answered for another number): the probe proves nothing,
 * and the listing is read as if it had never been tried (err cleared, so
 * that no report shows it). */
static ma_status recover(const struct ma_pop3 *s, ma_status st, struct ma_error *err)
{
	if (st == MA_OK || ma_pop3_broken(s) || st == MA_ERR_NOMEM || st == MA_ERR_CANCELLED ||
	    st == MA_ERR_DEADLINE)
		return st;
	memset(err, 0, sizeof *err);
	return MA_OK;
}

/* Asks until the planner is done (*done) or gives up. */
static ma_status run_probe(struct ma_pop3 *s, struct uidl_probe *p, struct round *r, bool *done,
			   struct ma_error *err)
{
	uint32_t *numbers = NULL;
	ma_status st = MA_OK;
	*done = false;
	for (;;) {
		const size_t *ask;
		size_t nask;
		enum uidl_probe_step step = uidl_probe_next(p, &ask, &nask);
		if (step != PROBE_ASK) {
			*done = step == PROBE_DONE;
			break;
		}
		uint32_t *nn = realloc(numbers, nask * sizeof *nn);
		if (!nn) {
			st = ma_fail(err, MA_ERR_NOMEM, NULL);
			break;
		}
		numbers = nn;
		for (size_t i = 0; i < nask; i++)
			numbers[i] = (uint32_t)ask[i];
		st = ma_pop3_uidl_each(s, numbers, nask, take_answer, r, err);
		if (st != MA_OK) {
			st = recover(s, st, err);
			break;
		}
	}
	free(numbers);
	return st;
}

struct gone_marks {
	bool *gone;
};

static void mark_gone(size_t old_index, void *ctx)
{
	struct gone_marks *g = ctx;
	g->gone[old_index - 1] = true;
}

/* Frees the entries and their text, not STAT and CAPA. */
static void drop_entries(struct ma_pop3_view *v)
{
	free(v->entries);
	v->entries = NULL;
	v->nentries = 0;
	for (struct ma_text_block *b = v->uidl_text, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	v->uidl_text = NULL;
	free(v->probed.gone);
	memset(&v->probed, 0, sizeof v->probed);
}

/* L as the read-ahead leaves it (pop3_probe.h). */
struct pop3_probe_old {
	struct old_list o;
	struct ma_history *h;     /* the reader's, kept for the gone ones' sizes */
	int64_t account;
};

/* The listing the probe proved, as a repeat keeps it: only the new
 * messages are entries (numbered after the kept ones, sizes by `LIST n`);
 * v->probed says how many of L are kept and which of L went (their UIDLs
 * copied into v). The kept ones are not copied: the history has them, and
 * at a million messages their entries would be 13 MB more at the busiest
 * moment. The sizes (L's on record for the kept, LIST's for the new) must
 * add up to STAT's, one more check on the probe: else *ok false. */
static ma_status build_view(struct ma_pop3 *s, const struct uidl_probe *p,
			    struct pop3_probe_old *old, char (*fresh)[MA_UIDL_MAX + 1],
			    struct ma_pop3_view *v, bool *ok, struct ma_error *err)
{
	struct old_list *o = &old->o;
	*ok = false;
	/* Only the answers needed L by UIDL. */
	free(o->by_uidl);
	o->by_uidl = NULL;
	struct gone_marks g = { calloc(o->n ? o->n : 1, sizeof *g.gone) };
	struct ma_pop3_entry **tail = malloc((p->fresh ? p->fresh : 1) * sizeof *tail);
	ma_status st = MA_OK;
	if (!g.gone || !tail || !(v->entries = calloc(p->fresh ? p->fresh : 1, sizeof *v->entries))) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	uidl_probe_deleted(p, mark_gone, &g);
	size_t ngone = 0;
	for (size_t i = 0; i < o->n; i++)
		ngone += g.gone[i];
	/* L's own sizes are not kept (3 MB at a million): the kept ones' are
	 * all of L's less the gone ones', asked of the history. */
	if (!(v->probed.gone = malloc((ngone ? ngone : 1) * sizeof *v->probed.gone))) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	for (size_t i = 0; i < o->n; i++)
		if (g.gone[i])
			v->probed.gone[v->probed.ngone++] = old_uidl(o, i);
	uint64_t gone_size = 0;
	size_t found = 0;
	ma_status hs = ma_history_pop3_size_sum(old->h, old->account, v->probed.gone, ngone,
						 &gone_size, &found, NULL);
	if (hs == MA_ERR_NOMEM) {
		st = ma_fail(err, hs, NULL);
		goto cleanup;
	}
	if (hs != MA_OK || found != ngone || gone_size > o->total)
		goto cleanup;
	uint64_t total = o->total - gone_size;
	size_t kept = o->n - ngone;
	/* Two new ones alike, or a count that does not add up: no view. */
	for (size_t j = 0; j < p->fresh; j++)
		for (size_t k = j + 1; k < p->fresh; k++)
			if (strcmp(fresh[j], fresh[k]) == 0)
				goto cleanup;
	if (kept + p->fresh != v->stat_count)
		goto cleanup;
	for (size_t j = 0; j < p->fresh; j++) {
		struct ma_pop3_entry *e = &v->entries[j];
		e->number = (uint32_t)(kept + j + 1);
		e->uidl = fresh[j];
		tail[j] = e;
	}
	v->nentries = p->fresh;
	st = ma_pop3_list_each(s, tail, p->fresh, err);
	if (st != MA_OK)
		goto cleanup;
	for (size_t j = 0; j < p->fresh; j++)
		total += v->entries[j].size;
	if (total != v->stat_size)
		goto cleanup;
	/* The new ones' UIDLs and the gone ones' into the view's own blocks
	 * (fresh and L go). */
	for (size_t j = 0; j < p->fresh; j++) {
		const char *u = ma_pop3_view_add_uidl(v, tail[j]->uidl, strlen(tail[j]->uidl));
		if (!u) {
			st = ma_fail(err, MA_ERR_NOMEM, NULL);
			goto cleanup;
		}
		tail[j]->uidl = u;
	}
	for (size_t i = 0; i < ngone; i++) {
		const char *u = ma_pop3_view_add_uidl(v, v->probed.gone[i], strlen(v->probed.gone[i]));
		if (!u) {
			st = ma_fail(err, MA_ERR_NOMEM, NULL);
			goto cleanup;
		}
		v->probed.gone[i] = u;
	}
	v->probed.kept = kept;
	v->probed.valid = true;
	*ok = true;
cleanup:
	if (!*ok)
		drop_entries(v);
	free(g.gone);
	free(tail);
	return st;
}

struct pop3_probe_old *pop3_probe_load(struct ma_history *h, int64_t account, uint32_t old_n,
				       bool *oom)
{
	*oom = false;
	struct pop3_probe_old *old = calloc(1, sizeof *old);
	if (!old) {
		*oom = true;
		ma_history_close(h);
		return NULL;
	}
	old->h = h;
	old->account = account;
	if (!old_load(h, account, old_n, &old->o, oom)) {
		pop3_probe_old_free(old);
		return NULL;
	}
	/* The read filled the handle's cache; only a few lookups follow. */
	ma_history_shrink(h);
	return old;
}

void pop3_probe_old_free(struct pop3_probe_old *old)
{
	if (!old)
		return;
	old_clear(&old->o);
	ma_history_close(old->h);
	free(old);
}

ma_status pop3_probe_view(struct ma_pop3 *s, struct pop3_probe_old *old, pop3_counts_fn counts,
			  void *ctx, struct ma_pop3_view *v, bool *done, struct ma_error *err)
{
	*done = false;
	struct old_list *o = &old->o;
	struct uidl_probe p;
	memset(&p, 0, sizeof p);
	char (*tail)[MA_UIDL_MAX + 1] = NULL;
	ma_status st = MA_OK;
	uint32_t fresh, vanished;
	if (!pop3_probe_possible(s))
		return MA_OK;
	if (!counts(ctx, &fresh, &vanished) ||
	    !uidl_probe_init(&p, o->n, v->stat_count, fresh, vanished))
		goto cleanup;
	if (!(tail = calloc(fresh ? fresh : 1, sizeof *tail))) {
		st = ma_fail(err, MA_ERR_NOMEM, NULL);
		goto cleanup;
	}
	struct round r = { &p, o, tail };
	bool proved = false;
	st = run_probe(s, &p, &r, &proved, err);
	if (st == MA_OK && proved)
		st = recover(s, build_view(s, &p, old, tail, v, done, err), err);
cleanup:
	uidl_probe_clear(&p);
	free(tail);
	return st;
}

struct ends {
	const char *first, *last;
	uint32_t count;
	bool same;
	unsigned answered;
};

static void take_end(uint32_t number, const char *uidl, void *ctx)
{
	struct ends *e = ctx;
	const char *want = number == 1 ? e->first : e->last;
	/* With one message, 1 is also the last: both must match. */
	e->same &= strcmp(uidl, want) == 0 && (number != e->count || strcmp(uidl, e->last) == 0);
	e->answered++;
}

ma_status pop3_probe_ends(struct ma_pop3 *s, struct ma_history *h, int64_t account, uint32_t count,
			  bool *same, struct ma_error *err)
{
	*same = false;
	char first[MA_UIDL_MAX + 1], last[MA_UIDL_MAX + 1];
	bool known = false;
	if (count == 0) {
		*same = true; /* nothing to ask, nothing to differ */
		return MA_OK;
	}
	ma_status st = ma_history_pop3_ends(h, account, first, last, &known, NULL);
	if (st == MA_ERR_NOMEM)
		return ma_fail(err, st, NULL);
	if (st != MA_OK || !known)
		return MA_OK;
	uint32_t numbers[2] = { 1, count };
	struct ends e = { first, last, count, true, 0 };
	st = ma_pop3_uidl_each(s, numbers, count > 1 ? 2 : 1, take_end, &e, err);
	if (st != MA_OK)
		return recover(s, st, err);
	*same = e.same && e.answered == (count > 1 ? 2u : 1u);
	return MA_OK;
}
