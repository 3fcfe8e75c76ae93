/*
 * disasm.c — print compiled threaded code: one line per instruction with its handler
 * name and decoded operands. Used by `lvm --dump-code` (and later by `lvm dis`).
 */
#include <inttypes.h>
#include <stdio.h>

#include "vm_internal.h"

/* Number of cells of the instruction at pc (its handler cell included). */
uint32_t vm_instr_cells(Handler h, const Cell *pc)
{
    switch (h) {
    case H_UNREACHABLE: case H_DONE: return 1;
    case H_BR_TABLE: return 2 + pc[1].si.imm + 1;
    case H_CALL: case H_CALL_INDIRECT: case H_CONST64:
    case H_MEMORY_INIT: case H_MEMORY_COPY: case H_MEMORY_FILL:
    case H_TABLE_GROW: case H_TABLE_FILL: case H_TABLE_COPY: case H_TABLE_INIT:
        return 3;
    default:
        break;
    }
#define HANDLER(name, cells) if (h == H_##name) return cells;
#include "handlers.def"
#undef HANDLER
    return 2;
}

void vm_disasm_function(FILE *out, const CompiledFunc *cf)
{
    fprintf(out, "func %u: %u params, %u locals, %u frame slots, %u cells\n", cf->funcidx,
            cf->nparams, cf->nlocals, cf->frame_slots, cf->ncells);
    for (uint32_t at = 0; at < cf->ncells;) {
        const Cell *pc = cf->code + at;
        Handler h = vm_cell_handler(pc[0]);
        uint32_t n = vm_instr_cells(h, pc);
        fprintf(out, "  %5u  %-22s", at, vm_handler_name(h));
        if (n > 1) {
            Cell o = pc[1];
            fprintf(out, " A=%u B=%u C=%u D=%u imm=%d", o.s.a, o.s.b, o.s.c, o.s.d, (int32_t)o.si.imm);
        }
        for (uint32_t k = 2; k < n; k++)
            fprintf(out, " [%" PRId64 "]", pc[k].i64);
        fputc('\n', out);
        at += n;
    }
}
