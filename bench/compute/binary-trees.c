/* binary-trees — the Benchmarks Game program: build, walk and free many perfect
 * binary trees. malloc/free of small nodes (glibc natively, wasi-libc's dlmalloc in
 * Wasm, which grows memory with memory.grow and imports nothing) and recursion. */
#include <stdint.h>
#include <stdlib.h>

#define BT_MAX_DEPTH 17
#define BT_MIN_DEPTH 4

typedef struct Node {
    struct Node *left, *right;
} Node;

static Node *make_tree(int32_t depth)
{
    Node *n = malloc(sizeof *n);
    if (n == NULL)
        abort();
    if (depth > 0) {
        n->left = make_tree(depth - 1);
        n->right = make_tree(depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static int32_t check_tree(const Node *n)
{
    if (n->left == NULL)
        return 1;
    return 1 + check_tree(n->left) + check_tree(n->right);
}

static void free_tree(Node *n)
{
    if (n->left != NULL) {
        free_tree(n->left);
        free_tree(n->right);
    }
    free(n);
}

long long run(void)
{
    uint64_t sum = 0;

    Node *stretch = make_tree(BT_MAX_DEPTH + 1);
    sum += (uint64_t)check_tree(stretch);
    free_tree(stretch);

    Node *long_lived = make_tree(BT_MAX_DEPTH);
    for (int32_t depth = BT_MIN_DEPTH; depth <= BT_MAX_DEPTH; depth += 2) {
        int32_t iterations = 1 << (BT_MAX_DEPTH - depth + BT_MIN_DEPTH);
        uint64_t check = 0;
        for (int32_t i = 0; i < iterations; i++) {
            Node *t = make_tree(depth);
            check += (uint64_t)check_tree(t);
            free_tree(t);
        }
        sum = sum * 31 + check;
    }
    sum = sum * 31 + (uint64_t)check_tree(long_lived);
    free_tree(long_lived);
    return (long long)sum;
}
