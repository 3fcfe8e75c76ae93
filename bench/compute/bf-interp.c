/* bf-interp — a brainf*ck interpreter running a generated program. The source is
 * first compiled to dense opcodes (runs of + - < > folded, brackets resolved), then
 * run by a switch loop, which clang turns into a jump table (br_table in Wasm).
 *
 * The generated program is a chain of blocks, each setting two cells to pseudo-random
 * a and b, multiplying them with the classic nested loop, printing a*b mod 256,
 * and clearing its cells. The checksum hashes the output and the instruction count. */
#include <stdint.h>

#define BF_BLOCKS 700
#define BF_MAX_SRC (BF_BLOCKS * 600 + 16)
#define BF_TAPE 30000
#define BF_MAX_OUT (BF_BLOCKS + 16)

enum { OP_ADD, OP_MOVE, OP_JZ, OP_JNZ, OP_OUT, OP_IN, OP_END };

typedef struct Instr {
    int32_t op;
    int32_t arg; /* delta for ADD/MOVE, jump target for JZ/JNZ */
} Instr;

static char src[BF_MAX_SRC];
static Instr code[BF_MAX_SRC];
static uint8_t tape[BF_TAPE];
static uint8_t out[BF_MAX_OUT];

static int32_t emit_str(int32_t n, const char *s)
{
    while (*s != '\0')
        src[n++] = *s++;
    return n;
}

static int32_t emit_run(int32_t n, char c, int32_t count)
{
    for (int32_t i = 0; i < count; i++)
        src[n++] = c;
    return n;
}

/* Cells: c0 = a, c1 = b, c2 = product, c3 = scratch; the pointer starts and ends at c0. */
static int32_t generate(void)
{
    uint32_t s = 7;
    int32_t n = 0;
    for (int32_t block = 0; block < BF_BLOCKS; block++) {
        s = s * 1103515245u + 12345u;
        int32_t a = 120 + (int32_t)((s >> 16) % 136);
        s = s * 1103515245u + 12345u;
        int32_t b = 120 + (int32_t)((s >> 16) % 136);
        n = emit_run(n, '+', a);
        n = emit_str(n, ">");
        n = emit_run(n, '+', b);
        n = emit_str(n, "<[>[>+>+<<-]>>[<<+>>-]<<<-]>>.<[-]>[-]<<");
    }
    return n;
}

/* Compile to Instr; returns the instruction count, or -1 on unbalanced brackets. */
static int32_t compile(int32_t len)
{
    static int32_t stack[BF_MAX_SRC];
    int32_t depth = 0, n = 0;
    for (int32_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '+' || c == '-' || c == '<' || c == '>') {
            int32_t op = (c == '+' || c == '-') ? OP_ADD : OP_MOVE;
            int32_t d = (c == '+' || c == '>') ? 1 : -1;
            if (n > 0 && code[n - 1].op == op) { /* fold the run */
                code[n - 1].arg += d;
                continue;
            }
            code[n].op = op;
            code[n].arg = d;
            n++;
        } else if (c == '[') {
            stack[depth++] = n;
            code[n].op = OP_JZ;
            n++;
        } else if (c == ']') {
            if (depth == 0)
                return -1;
            int32_t open = stack[--depth];
            code[open].arg = n + 1;
            code[n].op = OP_JNZ;
            code[n].arg = open + 1;
            n++;
        } else if (c == '.') {
            code[n++].op = OP_OUT;
        } else if (c == ',') {
            code[n++].op = OP_IN;
        }
    }
    if (depth != 0)
        return -1;
    code[n++].op = OP_END;
    return n;
}

long long run(void)
{
    int32_t len = generate();
    if (compile(len) < 0)
        return -1;

    int32_t pc = 0, p = 0, nout = 0;
    uint64_t steps = 0;
    for (;;) {
        Instr in = code[pc++];
        steps++;
        switch (in.op) {
        case OP_ADD:
            tape[p] = (uint8_t)(tape[p] + in.arg);
            break;
        case OP_MOVE:
            p += in.arg;
            break;
        case OP_JZ:
            if (tape[p] == 0)
                pc = in.arg;
            break;
        case OP_JNZ:
            if (tape[p] != 0)
                pc = in.arg;
            break;
        case OP_OUT:
            out[nout++] = tape[p];
            break;
        case OP_IN:
            tape[p] = 0; /* no input: reads give 0 */
            break;
        case OP_END:
            goto done;
        }
    }
done:;
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (int32_t i = 0; i < nout; i++)
        hash = (hash ^ out[i]) * 0x100000001b3ULL;
    return (long long)(hash ^ steps);
}
