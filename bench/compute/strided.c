/* strided — column-wise walks over a 16 MB 2-D array of i32: every access is a
 * stride of a whole row, so the caches help little; memory bound natively, and a
 * bounds check on every access in an interpreter. */
#include <stdint.h>

#define ST_ROWS 2000
#define ST_COLS 2000
#define ST_PASSES 30

static int32_t grid[ST_ROWS][ST_COLS];

long long run(void)
{
    for (int32_t r = 0; r < ST_ROWS; r++)
        for (int32_t c = 0; c < ST_COLS; c++)
            grid[r][c] = r ^ c;

    uint64_t sum = 0;
    for (int32_t pass = 0; pass < ST_PASSES; pass++) {
        for (int32_t c = 0; c < ST_COLS; c++) {
            int32_t carry = pass + c;
            for (int32_t r = 0; r < ST_ROWS; r++) {
                int32_t v = grid[r][c];
                carry = (int32_t)((uint32_t)carry * 5u + (uint32_t)v);
                grid[r][c] = v + (carry & 7);
            }
            sum = sum * 31 + (uint32_t)carry;
        }
    }
    return (long long)sum;
}
