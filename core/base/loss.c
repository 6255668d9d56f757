#include "base/loss.h"

#include <stdbool.h>

/* Whose losses are critical; Trash and Junk are the warning class, Drafts
 * neither. An unknown role counts as an ordinary folder: a bad value must
 * not hide a loss. */
static bool is_critical(enum ma_role r)
{
	return r != MA_ROLE_DRAFTS && r != MA_ROLE_TRASH && r != MA_ROLE_JUNK;
}

/* Departures that need explaining: everything but Drafts. */
static uint64_t departures(const struct ma_arrivals *a)
{
	if (a->role == MA_ROLE_DRAFTS)
		return 0;
	uint32_t present = a->present < a->allocated ? a->present : a->allocated;
	return a->allocated - present;
}

/* UIDs a move from elsewhere could have taken: new messages in Sent and
 * Drafts are the user's own, and a UID a known message was matched to
 * holds that message. */
static uint64_t room(const struct ma_arrivals *a)
{
	if (a->role == MA_ROLE_SENT || a->role == MA_ROLE_DRAFTS)
		return 0;
	uint32_t moved_in = a->moved_in < a->allocated ? a->moved_in : a->allocated;
	return a->allocated - moved_in;
}

/* The most departures of the chosen sources (critical ones only, or all)
 * that moves can explain. A flow on the complete bipartite graph minus the
 * diagonal (nothing moves to its own folder): its minimum cut leaves every
 * source uncut (all room), or none (all departures), or exactly one
 * source x, which then reaches every sink but x.
 *
 * On top of that, every message's path starts with a delivery: if no
 * departure from Sent (which no move enters) can start one, some UID that
 * counts as room was a delivery, not a move's destination. Without this,
 * one message delivered to INBOX, moved to Trash and deleted there would
 * be two moves in a circle and nothing deleted. */
static uint64_t explained(const struct ma_arrivals *a, size_t n, bool critical_only)
{
	uint64_t sum_w = 0, sum_c = 0, sent_w = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t w = critical_only && !is_critical(a[i].role) ? 0 : departures(&a[i]);
		sum_w += w;
		sum_c += room(&a[i]);
		if (a[i].role == MA_ROLE_SENT)
			sent_w += w;
	}
	uint64_t best = sum_w < sum_c ? sum_w : sum_c;
	for (size_t i = 0; i < n; i++) {
		uint64_t w = critical_only && !is_critical(a[i].role) ? 0 : departures(&a[i]);
		uint64_t cut = sum_w + sum_c - w - room(&a[i]);
		if (cut < best)
			best = cut;
	}
	if (sum_c > 0 && sent_w == 0 && best > sum_c - 1)
		best = sum_c - 1;
	return best;
}

/* Gives `total` losses to the folders of one class: first what each
 * folder's own departures exceed the room in all other folders (it cannot
 * be less), then the rest to the folder with the most departures, INBOX
 * first on a tie, spilling to the next only if that one has none left. */
static void attribute(struct ma_arrivals *a, size_t n, bool critical, uint64_t total)
{
	uint64_t sum_c = 0;
	for (size_t i = 0; i < n; i++)
		sum_c += room(&a[i]);
	for (size_t i = 0; i < n && total > 0; i++) {
		if (a[i].role == MA_ROLE_DRAFTS || is_critical(a[i].role) != critical)
			continue;
		uint64_t w = departures(&a[i]), elsewhere = sum_c - room(&a[i]);
		uint64_t own = w > elsewhere ? w - elsewhere : 0;
		if (own > total)
			own = total;
		a[i].deleted = (uint32_t)own;
		total -= own;
	}
	while (total > 0) {
		size_t best = n;
		uint64_t best_w = 0;
		for (size_t i = 0; i < n; i++) {
			if (a[i].role == MA_ROLE_DRAFTS || is_critical(a[i].role) != critical)
				continue;
			uint64_t w = departures(&a[i]);
			if (w <= a[i].deleted)
				continue;
			if (best == n || w > best_w ||
			    (w == best_w && a[i].role == MA_ROLE_INBOX && a[best].role != MA_ROLE_INBOX)) {
				best = i;
				best_w = w;
			}
		}
		if (best == n)
			break;   /* cannot happen: the class has that many departures */
		uint64_t left = best_w - a[best].deleted;
		uint64_t give = left < total ? left : total;
		a[best].deleted += (uint32_t)give;
		total -= give;
	}
}

void ma_loss_unseen(struct ma_arrivals *a, size_t n)
{
	uint64_t w_critical = 0, w_all = 0;
	for (size_t i = 0; i < n; i++) {
		a[i].deleted = 0;
		uint64_t w = departures(&a[i]);
		w_all += w;
		if (is_critical(a[i].role))
			w_critical += w;
	}
	if (w_all == 0)
		return;
	/* Critical departures take the room first, so that what could have
	 * gone to Trash is counted as Trash emptied. Room taken by them stays
	 * taken when the others are added (a flow can always be augmented to
	 * a maximum one without lowering what leaves a source), so the second
	 * flow minus the first is what Trash and Junk departures explain. */
	uint64_t f_critical = explained(a, n, true), f_all = explained(a, n, false);
	uint64_t lost_critical = w_critical - f_critical;
	uint64_t lost_all = w_all > f_all ? w_all - f_all : 0;
	uint64_t lost_other = lost_all > lost_critical ? lost_all - lost_critical : 0;
	if (lost_other > w_all - w_critical)
		lost_other = w_all - w_critical;
	attribute(a, n, true, lost_critical);
	attribute(a, n, false, lost_other);
}
