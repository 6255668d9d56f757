#include "model.h"

#include <stdlib.h>
#include <string.h>

void ma_message_clear(struct ma_message *m)
{
	free(m->message_id);
	free(m->date);
	free(m->from);
	free(m->subject);
	memset(m, 0, sizeof *m);
}

void ma_folder_clear(struct ma_folder *f)
{
	for (size_t i = 0; i < f->nmsgs; i++)
		ma_message_clear(&f->msgs[i]);
	free(f->msgs);
	free(f->name);
	free(f->raw_name);
	memset(f, 0, sizeof *f);
}

int ma_folder_add_message(struct ma_folder *f, struct ma_message *m)
{
	if (f->nmsgs == f->capmsgs) {
		size_t cap = f->capmsgs ? f->capmsgs * 2 : 64;
		struct ma_message *n = realloc(f->msgs, cap * sizeof *n);
		if (!n)
			return -1;
		f->msgs = n;
		f->capmsgs = cap;
	}
	f->msgs[f->nmsgs++] = *m;
	memset(m, 0, sizeof *m);
	return 0;
}

void ma_pop3_view_clear(struct ma_pop3_view *v)
{
	free(v->entries);
	for (size_t i = 0; i < v->ncapa; i++)
		free(v->capa[i]);
	free(v->capa);
	memset(v, 0, sizeof *v);
}
