/*
 * bulk.h — the slow, out-of-line instructions of interp.c: bulk memory and table
 * operations (spec 4.4.6, 4.4.7). Each checks its whole range before touching anything
 * and returns false for a trap (the caller names which trap).
 */
#ifndef LVM_VM_BULK_H
#define LVM_VM_BULK_H

#include "vm_internal.h"

bool bulk_memory_fill(MemoryInst *m, uint32_t dst, uint8_t val, uint32_t n);
bool bulk_memory_copy(MemoryInst *m, uint32_t dst, uint32_t src, uint32_t n);
bool bulk_memory_init(Instance *inst, uint32_t dataidx, uint32_t dst, uint32_t src, uint32_t n);
bool bulk_table_fill(TableInst *t, uint32_t i, Value val, uint32_t n);
bool bulk_table_copy(TableInst *dst_t, TableInst *src_t, uint32_t dst, uint32_t src, uint32_t n);
bool bulk_table_init(Instance *inst, uint32_t elemidx, uint32_t tableidx, uint32_t dst,
                     uint32_t src, uint32_t n);

/* The value of element i of an element segment in an instance (a funcref or null). */
Value elem_value(Instance *inst, const ElemSegment *seg, uint32_t i);

#endif
