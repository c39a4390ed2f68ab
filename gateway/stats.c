#include "stats.h"
#include "worker.h"

uint64_t rg_ctr_global[RG_CTR__MAX];

const char *const rg_ctr_desc[RG_CTR__MAX] = {
#define RG_CTR_DESC(id, name, desc) desc,
	RG_COUNTERS(RG_CTR_DESC)
#undef RG_CTR_DESC
};

const char *const rg_ctr_names[RG_CTR__MAX] = {
#define RG_CTR_NAME(id, name, desc) name,
	RG_COUNTERS(RG_CTR_NAME)
#undef RG_CTR_NAME
};

uint64_t rg_ctr_read(enum rg_ctr c)
{
	uint64_t v = __atomic_load_n(&rg_ctr_global[c], __ATOMIC_RELAXED);
	for (unsigned i = 0; i < rg_num_workers; i++)
		v += __atomic_load_n(&rg_workers[i].ctr[c], __ATOMIC_RELAXED);
	return v;
}
